"""Answering a question: the engine runs in worker threads, never on the event loop, and every question
is stored with its language, whether it was answered, and the score.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bot.metrics import ANSWER_SECONDS, QUESTIONS
from bot.storage.database import Database
from index.engine import Answer, Engine
from index.types import Lang

MAX_BATCH = 32


@dataclass(frozen=True)
class Reply:
    """An engine answer and the id it was stored under (feedback buttons refer to it)."""

    answer: Answer
    question_id: int


@dataclass
class _Pending:
    question: str
    fallback: Lang
    future: asyncio.Future[Answer]


class AnsweringService:
    """Answers questions on a thread pool and records them."""

    def __init__(self, engine: Engine, db: Database, *, workers: int = 1, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self._db = db
        self._workers = workers
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine")
        self._queue: list[_Pending] = []
        self._busy = 0
        self._engine_seconds = 0.0
        self._engine_questions = 0

    async def answer(self, user_id: int, chat_id: int, question: str, fallback: Lang) -> Reply:
        """Answer ``question`` (in its own language; ``fallback`` when the text doesn't tell) and store it."""
        started = time.perf_counter()
        answer = await self._ask(question, fallback)
        ANSWER_SECONDS.observe(time.perf_counter() - started)
        QUESTIONS.labels(answer.language, answer.outcome).inc()
        question_id = await self._db.record_question(
            user_id=user_id,
            chat_id=chat_id,
            text=question,
            language=answer.language,
            answered=answer.answered,
            score=answer.score,
            sources=answer.sources,
        )
        return Reply(answer, question_id)

    async def _ask(self, question: str, fallback: Lang) -> Answer:
        loop = asyncio.get_running_loop()
        pending = _Pending(question, fallback, loop.create_future())
        self._queue.append(pending)
        if self._busy < self._workers:
            self._dispatch(loop)
        return await pending.future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the queued questions (up to ``max_batch``) to a worker thread."""
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        self._busy += 1
        work = loop.run_in_executor(self._executor, self._run, [(p.question, p.fallback) for p in batch])
        work.add_done_callback(lambda done: self._finish(loop, batch, done))

    def engine_stats(self) -> tuple[float, int]:
        """Seconds spent in the engine (wall time of the batches) and questions it answered, so far."""
        return self._engine_seconds, self._engine_questions

    def _run(self, items: list[tuple[str, Lang]]) -> tuple[list[Answer], float]:
        """In a worker thread: one ``ask_many`` call per fallback language, answers in input order,
        and the seconds it took."""
        started = time.perf_counter()
        groups: dict[Lang, list[int]] = defaultdict(list)
        for i, (_, fallback) in enumerate(items):
            groups[fallback].append(i)
        answers: list[Answer | None] = [None] * len(items)
        for fallback, indexes in groups.items():
            found = self.engine.ask_many([items[i][0] for i in indexes], fallback)
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
