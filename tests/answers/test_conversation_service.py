"""Question outcomes and chat topics in storage, the answering service's follow-ups across a restart,
its metrics, and how clarifications and small talk are rendered."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.i18n import Translator
from bot.metrics import REGISTRY
from bot.services.answering import AnsweringService, Reply
from bot.storage.database import MIGRATIONS, Database
from bot.telegram.ask import render
from bot.telegram.callbacks import Entry
from index.composer import clarify_text
from index.engine import Answer, Engine, Suggestion
from index.followup import Topic

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
CONVERSATION_STEP = 7


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2023, 11, 8, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


# -- storage --------------------------------------------------------------------------------------


async def test_older_database_gets_outcomes_derived_from_answered(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for statement in (s for step in MIGRATIONS[: CONVERSATION_STEP - 1] for s in step):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {CONVERSATION_STEP - 1}")
    for answered in (1, 0):
        conn.execute(
            "INSERT INTO questions (user_id, chat_id, text, language, answered, score, asked_at) "
            "VALUES (1, 1, 'q', 'en', ?, 0.5, '2023-11-08T09:00:00+00:00')",
            (answered,),
        )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        assert [await db.questions.outcome(1), await db.questions.outcome(2)] == ["answer", "decline"]
        stored = [await db.questions.get_question(1), await db.questions.get_question(2)]
        assert [q.answered for q in stored if q is not None] == [True, False]
        # One column says how a question went: ``answered`` and the trigger that filled it are gone.
        columns = {row[1] for row in await db.rows("PRAGMA table_info(questions)")}
        assert "answered" not in columns and "outcome" in columns
        triggers = await db.rows("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert ("questions_default_outcome",) not in [tuple(t) for t in triggers]
    finally:
        await db.close()


async def test_outcomes_are_stored_and_selectable(db: Database) -> None:
    ids = {}
    for outcome in ("answer", "clarify", "decline", "gap", "smalltalk"):
        ids[outcome] = await db.questions.record_question(
            user_id=1,
            chat_id=1,
            text=f"q {outcome}",
            language="th",
            outcome=outcome,
            score=0.3,
            sources=["e"],
        )
    stored = {o: await db.questions.get_question(i) for o, i in ids.items()}
    assert [o for o, q in stored.items() if q.answered] == ["answer"]
    missed = await db.questions.questions_with_outcome()
    assert [(r.text, r.outcome) for r in missed] == [("q decline", "decline"), ("q clarify", "clarify")]
    assert [r.outcome for r in await db.questions.questions_with_outcome(("gap",))] == ["gap"]
    assert await db.questions.outcome_counts() == dict.fromkeys(ids, 1)
    with pytest.raises(ValueError, match="unknown outcome"):
        await db.questions.record_question(
            user_id=1, chat_id=1, text="x", language="en", outcome="maybe", score=0, sources=[]
        )
    with pytest.raises(ValueError, match="unknown outcomes"):
        await db.questions.questions_with_outcome(("nope",))


async def test_chat_topic_is_replaced_and_forgotten(db: Database) -> None:
    at = datetime(2023, 11, 8, 9, 0, tzinfo=UTC)
    assert await db.conversation.topic(5) is None
    await db.conversation.set_topic(5, Topic("opening-ceremony", "en", "Where is the opening?", at))
    await db.conversation.set_topic(5, Topic("faq-dates", "zh", "峰会" * 400, at + timedelta(minutes=1)))
    topic = await db.conversation.topic(5)
    assert topic is not None and (topic.entry_id, topic.language) == ("faq-dates", "zh")
    assert topic.at == at + timedelta(minutes=1) and len(topic.question) == 500
    assert topic.fresh(at + timedelta(minutes=3)) and not topic.fresh(at + timedelta(minutes=7))
    await db.conversation.forget_topic(5)
    assert await db.conversation.topic(5) is None


# -- the answering service ------------------------------------------------------------------------


async def test_follow_up_uses_the_chat_topic_after_a_restart(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    clock = Clock()
    db = await Database.open(path)
    service = AnsweringService(engine, db, now=clock)
    try:
        first = await service.answer(1, 100, "Where is the opening ceremony held?", "en")
        assert first.answer.sources == ["opening-ceremony"]
        alone = await service.answer(2, 200, "and when does it start?", "en")  # another chat: no topic
        assert alone.answer.sources != ["opening-ceremony"]
    finally:
        await service.close()
        await db.close()

    clock.now += timedelta(minutes=2)
    db = await Database.open(path)
    service = AnsweringService(engine, db, now=clock)
    try:
        follow = await service.answer(1, 100, "and when does it start?", "en")
        assert follow.answer.outcome == "answer" and follow.answer.sources == ["opening-ceremony"]
        assert "09:30" in follow.answer.text
        clock.now += timedelta(minutes=10)
        late = await service.answer(1, 100, "and when does it start?", "en")
        assert late.answer.sources != ["opening-ceremony"]
        assert await db.questions.outcome(follow.question_id) == "answer"
        await service.answer(1, 100, "Where is the opening ceremony held?", "en")
        await service.forget_topic(100)
        assert await db.conversation.topic(100) is None
        forgotten = await service.answer(1, 100, "and when does it start?", "en")
        assert forgotten.answer.sources != ["opening-ceremony"]
    finally:
        await service.close()
        await db.close()


async def test_small_talk_is_stored_as_small_talk_and_counted(engine: Engine, db: Database) -> None:
    def count(lang: str, outcome: str) -> float:
        labels = {"language": lang, "outcome": outcome}
        return REGISTRY.get_sample_value("summit_bot_questions_total", labels) or 0.0

    latency_before = REGISTRY.get_sample_value("summit_bot_answer_seconds_count") or 0.0
    before = count("th", "smalltalk"), count("en", "answer")
    service = AnsweringService(engine, db)
    try:
        hello = await service.answer(3, 3, "สวัสดีครับ", "en")
        answered = await service.answer(3, 3, "When is the summit?", "en")
    finally:
        await service.close()
    assert hello.answer.outcome == "smalltalk" and hello.answer.language == "th"
    assert not hello.answer.answered and hello.answer.sources == []
    assert await db.questions.outcome(hello.question_id) == "smalltalk"
    assert await db.questions.questions_with_outcome() == []  # not among what attendees could not find
    assert (count("th", "smalltalk"), count("en", "answer")) == (before[0] + 1, before[1] + 1)
    assert REGISTRY.get_sample_value("summit_bot_answer_seconds_count") == latency_before + 2
    assert answered.answer.sources == ["faq-dates"]
    topic = await db.conversation.topic(3)
    assert topic is not None and topic.entry_id == "faq-dates"  # small talk did not set a topic


async def test_choosing_a_topic_makes_it_the_chat_topic(engine: Engine, db: Database) -> None:
    clock = Clock()
    service = AnsweringService(engine, db, now=clock)
    try:
        await service.choose(9, "hangzhou-train", "zh")
        await service.choose(9, "no-such-entry", "zh")  # ignored
        topic = await service.conversation.topic(9)
        assert topic is not None and (topic.entry_id, topic.language, topic.at) == (
            "hangzhou-train",
            "zh",
            clock.now,
        )
    finally:
        await service.close()


# -- rendering ------------------------------------------------------------------------------------


def _reply(answer: Answer) -> Reply:
    return Reply(answer, question_id=42)


def _buttons(markup) -> list[tuple[str, str]]:
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row] if markup else []


def test_clarification_offers_topics_without_feedback() -> None:
    svc = SimpleNamespace(texts=Translator.load())
    suggestions = [Suggestion("opening-ceremony", "开幕式"), Suggestion("faq-dates", "峰会是哪几天？")]
    wording = clarify_text([s.title for s in suggestions], "zh")
    answer = Answer("典礼", "zh", False, wording, [], 0.4, suggestions, outcome="clarify")
    text, markup = render(_reply(answer), svc)  # type: ignore[arg-type]
    assert text == "您想问的是下面哪一个？\n• 开幕式\n• 峰会是哪几天？"
    assert _buttons(markup) == [
        ("开幕式", Entry("zh", "opening-ceremony").encode()),
        ("峰会是哪几天？", "e:zh:faq-dates"),
    ]
    one = Answer(
        "opening?",
        "en",
        False,
        clarify_text(["<开幕式>"], "en"),
        [],
        0.4,
        [Suggestion("opening-ceremony", "<开幕式>")],
        outcome="clarify",
    )
    text, markup = render(_reply(one), svc)  # type: ignore[arg-type]
    assert text == "Did you mean “&lt;开幕式&gt;”?"  # the engine's words, escaped for HTML
    assert _buttons(markup) == [("<开幕式>", "e:en:opening-ceremony")]
    topics = [Suggestion(f"e{i}", f"T{i}") for i in range(5)]
    many = Answer(
        "x", "en", False, clarify_text([t.title for t in topics], "en"), [], 0.4, topics, outcome="clarify"
    )
    assert [t for t, _ in _buttons(render(_reply(many), svc)[1])] == ["T0", "T1", "T2"]  # type: ignore[arg-type]
    too_long = Answer(
        "x",
        "th",
        False,
        clarify_text(["ยาว"], "th"),
        [],
        0.4,
        [Suggestion("x" * 80, "ยาว")],
        outcome="clarify",
    )
    assert render(_reply(too_long), svc) == ("หมายถึง “ยาว” ใช่ไหมคะ?", None)  # type: ignore[arg-type]


def test_small_talk_has_no_buttons_and_answers_keep_feedback() -> None:
    svc = SimpleNamespace(texts=Translator.load())
    hello = Answer("hi", "en", False, "Hello <there>!", [], 0.0, outcome="smalltalk")
    assert render(_reply(hello), svc) == ("Hello &lt;there&gt;!", None)  # type: ignore[arg-type]
    answer = Answer("When?", "en", True, "8 November", ["faq-dates"], 0.9)
    text, markup = render(_reply(answer), svc)  # type: ignore[arg-type]
    assert text == "8 November" and _buttons(markup) == [("👍", "fb:42:1"), ("👎", "fb:42:0")]


async def test_topics_in_memory_stay_bounded(engine: Engine, db: Database, monkeypatch) -> None:
    monkeypatch.setattr("bot.services.answering.TOPIC_CACHE", 5)
    clock = Clock()
    service = AnsweringService(engine, db, now=clock)
    try:
        await service.answer(1, 1, "Where is the opening ceremony held?", "en")
        clock.now += timedelta(minutes=10)
        for chat in range(2, 9):
            await service.answer(chat, chat, "hi", "en")  # small talk: no topic to keep
        assert len(service._topics) <= 5
        await service.answer(1, 50, "Where is the opening ceremony held?", "en")
        follow = await service.answer(1, 50, "and when does it start?", "en")
        assert follow.answer.sources == ["opening-ceremony"]
    finally:
        await service.close()
