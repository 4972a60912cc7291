"""Answering a question: the engine runs in worker threads, never on the event loop, and every question
is stored with its language, its outcome (answer, clarify, decline, gap, small talk) and the score.

Each chat's last topic (the entry its last answer came from) is kept in the database; a question asked
within a few minutes of it goes to the engine with that topic, so a follow-up ("and from Shanghai?",
"那几点开始？") is read as one, also after a restart.

Questions that arrive while the workers are busy wait in a queue and go to the engine together in one
:meth:`Engine.ask_many` call (their embeddings are computed in one batch). A question never waits for a
timer: an idle worker takes it at once, so batching only happens under load, when it saves time.

One worker is the default: the engine holds the GIL for most of its work, so a second worker thread
adds no parallelism, only contention (its matrix products also start their own BLAS threads), and
makes batches smaller. Measured with ``bench/bot_load.py`` on two cores and the default embedder, one
worker answered about three times as many questions per second as two.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.metrics import ANSWER_SECONDS, QUESTIONS
from bot.services.engine_holder import EngineHolder
from bot.storage.database import Database
from index.composer import entry_title
from index.engine import Answer, Engine
from index.followup import Topic, topic_after
from index.types import Lang

MAX_BATCH = 32
TOPIC_CACHE = 10_000
"""Chats whose topic is kept in memory; beyond this, topics too old to matter are dropped."""


@dataclass(frozen=True)
class Reply:
    """An engine answer and the id it was stored under (feedback buttons refer to it)."""

    answer: Answer
    question_id: int


@dataclass
class _Pending:
    question: str
    fallback: Lang
    topic: Topic | None
    future: asyncio.Future[Answer]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AnsweringService:
    """Answers questions on a thread pool and records them.

    Each batch asks the engine the holder serves when the batch starts, so after a knowledge swap the
    next batch uses the new engine and the batch in flight finishes on the old one.
    """

    def __init__(
        self,
        engine: Engine | EngineHolder,
        db: Database,
        *,
        workers: int = 1,
        max_batch: int = MAX_BATCH,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.holder = engine if isinstance(engine, EngineHolder) else EngineHolder(engine)
        self._questions = db.questions
        self.conversation = db.conversation
        self._now = now
        self._topics: dict[int, Topic | None] = {}
        """Chats' topics as stored (None: none stored), so a question costs no read of the database."""
        self._workers = workers
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine")
        self._queue: list[_Pending] = []
        self._busy = 0
        self._engine_seconds = 0.0
        self._engine_questions = 0

    async def answer(
        self, user_id: int, chat_id: int, question: str, fallback: Lang, *, origin: str | None = None
    ) -> Reply:
        """Answer ``question`` (in its own language; ``fallback`` when the text doesn't tell) and store it
        with its outcome; a follow-up is read with the chat's recent topic, and an answer becomes it.

        ``origin`` names where the question came from (its update): a question from an origin stored
        before (the update handled again after a crash) is answered again but counted once, in the
        stored figures and in the metrics.
        """
        started = time.perf_counter()
        known = await self._questions.question_from(origin) if origin is not None else None
        topic = await self._recent_topic(chat_id)
        answer = await self._ask(question, fallback, topic)
        if known is not None:
            return Reply(answer, known)
        ANSWER_SECONDS.observe(time.perf_counter() - started)
        QUESTIONS.labels(language=answer.language, outcome=answer.outcome).inc()
        question_id = await self._questions.record_question(
            user_id=user_id,
            chat_id=chat_id,
            text=question,
            language=answer.language,
            outcome=answer.outcome,
            score=answer.score,
            sources=answer.sources,
            origin=origin,
        )
        following = topic_after(answer, self._now(), topic, self.engine.kb)
        if following is not None:
            await self._set_topic(chat_id, following)
        return Reply(answer, question_id)

    async def choose(self, chat_id: int, entry_id: str, lang: Lang) -> None:
        """The user picked a topic (a "Did you mean …?" button): it becomes the chat's topic."""
        entry = self.engine.kb.by_id.get(entry_id)
        if entry is not None:
            title = entry_title(entry, lang)
            await self._set_topic(chat_id, Topic(entry_id, lang, title, self._now()))

    async def forget_topic(self, chat_id: int) -> None:
        """Forget what the chat was about (in memory and in the database)."""
        self._remember(chat_id, None)
        await self.conversation.forget_topic(chat_id)

    async def _set_topic(self, chat_id: int, topic: Topic) -> None:
        self._remember(chat_id, topic)
        await self.conversation.set_topic(chat_id, topic)

    def _remember(self, chat_id: int, topic: Topic | None) -> None:
        self._topics[chat_id] = topic
        if len(self._topics) > TOPIC_CACHE:
            now = self._now()
            self._topics = {c: t for c, t in self._topics.items() if t is not None and t.fresh(now)}

    async def _recent_topic(self, chat_id: int) -> Topic | None:
        """The chat's topic if it is still fresh: from memory, or from the database after a restart."""
        if chat_id in self._topics:
            topic = self._topics[chat_id]
        else:
            topic = await self.conversation.topic(chat_id)
            self._remember(chat_id, topic)
        return topic if topic is not None and topic.fresh(self._now()) else None

    async def _ask(self, question: str, fallback: Lang, topic: Topic | None = None) -> Answer:
        loop = asyncio.get_running_loop()
        pending = _Pending(question, fallback, topic, loop.create_future())
        self._queue.append(pending)
        if self._busy < self._workers:
            self._dispatch(loop)
        return await pending.future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the queued questions (up to ``max_batch``) to a worker thread."""
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        self._busy += 1
        engine = self.holder.current
        items = [(p.question, p.fallback, p.topic) for p in batch]
        work = loop.run_in_executor(self._executor, self._run, engine, items)
        work.add_done_callback(lambda done: self._finish(loop, batch, done))

    @property
    def engine(self) -> Engine:
        """The engine new questions go to."""
        return self.holder.current

    def engine_stats(self) -> tuple[float, int]:
        """Seconds spent in the engine (wall time of the batches) and questions it answered, so far."""
        return self._engine_seconds, self._engine_questions

    @staticmethod
    def _run(engine: Engine, items: list[tuple[str, Lang, Topic | None]]) -> tuple[list[Answer], float]:
        """In a worker thread: one ``ask_many`` call per fallback language, answers in input order,
        and the seconds it took."""
        started = time.perf_counter()
        groups: dict[Lang, list[int]] = defaultdict(list)
        for i, (_, fallback, _) in enumerate(items):
            groups[fallback].append(i)
        answers: list[Answer | None] = [None] * len(items)
        for fallback, indexes in groups.items():
            questions = [items[i][0] for i in indexes]
            found = engine.ask_many(questions, fallback, topics=[items[i][2] for i in indexes])
            for i, answer in zip(indexes, found, strict=True):
                answers[i] = answer
        return [a for a in answers if a is not None], time.perf_counter() - started

    def _finish(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending], done: asyncio.Future) -> None:
        self._busy -= 1
        error = asyncio.CancelledError() if done.cancelled() else done.exception()
        answers: list[Answer] = []
        if error is None:
            answers, seconds = done.result()
            self._engine_seconds += seconds
            self._engine_questions += len(batch)
        for i, pending in enumerate(batch):
            if pending.future.done():
                continue
            if error is not None:
                pending.future.set_exception(error)
            else:
                pending.future.set_result(answers[i])
        if self._queue:  # after this batch is settled, so a failing dispatch cannot strand it
            self._dispatch(loop)

    async def close(self) -> None:
        """Let the batch being answered finish, then stop the worker; queued questions fail."""
        queued, self._queue = self._queue, []
        for pending in queued:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the bot is shutting down"))
        await asyncio.to_thread(self._executor.shutdown, wait=True)
