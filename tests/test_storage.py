"""The SQLite storage: migrations, users, questions and feedback."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.storage.database import CURRENT_VERSION, MIGRATIONS, Database, SchemaVersionError
from bot.storage.questions import MAX_QUESTION_CHARS


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "data" / "bot.sqlite3")
    yield database
    await database.close()


async def ask(db: Database, user_id: int = 1, text: str = "When is the summit?", **fields: object) -> int:
    values: dict[str, object] = {
        "chat_id": user_id,
        "language": "en",
        "outcome": "answer",
        "score": 0.8,
        "sources": ["faq-dates"],
    }
    values.update(fields)
    return await db.questions.record_question(user_id=user_id, text=text, **values)  # type: ignore[arg-type]


def tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


async def test_new_database_gets_the_whole_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    db = await Database.open(path)
    try:
        assert await db.schema_version() == CURRENT_VERSION == len(MIGRATIONS)
        assert {"users", "questions", "feedback"} <= tables(path)
        assert pragma(path, "journal_mode") == "wal"
        assert (await db.rows("PRAGMA foreign_keys"))[0][0] == 1
        assert (await db.rows("PRAGMA busy_timeout"))[0][0] >= 1000
    finally:
        await db.close()


async def test_version_1_database_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO users (user_id, language, first_seen, last_seen) VALUES (7, 'th', ?, ?)",
        ("2023-11-08T01:00:00.000000+00:00", "2023-11-08T02:00:00.000000+00:00"),
    )
    conn.commit()
    conn.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == CURRENT_VERSION > 1
        user = await db.users.get_user(7)
        assert user is not None and user.language == "th" and user.language_chosen and user.subscribed
        assert user.first_seen.isoformat() == "2023-11-08T01:00:00+00:00"
        touched = await db.users.touch_user(7, "zh")  # needs the column added by step 2
        assert touched.language == "th" and touched.first_seen == user.first_seen
    finally:
        await db.close()
    db = await Database.open(path)  # reopening a current database changes nothing
    try:
        assert await db.schema_version() == CURRENT_VERSION
        assert (await db.users.get_user(7)) == touched
    finally:
        await db.close()


async def test_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await Database.open(path)).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaVersionError, match=rf"schema version {CURRENT_VERSION + 1}.*newer release"):
        await Database.open(path)


async def test_failed_migration_step_leaves_the_database_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.sqlite3"
    broken = (MIGRATIONS[0], ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr("bot.storage.database.MIGRATIONS", broken)
    monkeypatch.setattr("bot.storage.database.CURRENT_VERSION", 2)
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(path)
    assert pragma(path, "user_version") == 1
    assert "extra" not in tables(path) and "users" in tables(path)


async def test_touch_user_keeps_first_seen_and_moves_last_seen(db: Database) -> None:
    first = await db.users.touch_user(42, "zh")
    assert first.first_seen == first.last_seen and first.first_seen.tzinfo is not None
    assert first.language == "zh" and not first.language_chosen
    assert first.subscribed and not first.blocked
    await asyncio.sleep(0.002)
    second = await db.users.touch_user(42, None)
    assert second.first_seen == first.first_seen
    assert second.last_seen > first.last_seen
    assert second.language == "zh"  # unknown Telegram language keeps the previous one
    assert await db.users.get_user(42) == second
    assert await db.users.get_user(43) is None


async def test_chosen_language_wins_over_telegram_and_touch_unblocks(db: Database) -> None:
    await db.users.touch_user(5, "en")
    await db.users.set_language(5, "th")
    user = await db.users.touch_user(5, "zh")
    assert user.language == "th" and user.language_chosen

    await db.users.set_blocked(5, True)
    await db.users.set_subscribed(5, False)
    stored = await db.users.get_user(5)
    assert stored is not None and stored.blocked and not stored.subscribed
    again = await db.users.touch_user(5, "zh")
    assert not again.blocked and not again.subscribed


async def test_settings_for_an_unknown_user_create_them(db: Database) -> None:
    await db.users.set_blocked(9, True)
    user = await db.users.get_user(9)
    assert user is not None and user.blocked and user.language is None


async def test_subscribers_exclude_unsubscribed_and_blocked(db: Database) -> None:
    for user_id in (1, 2, 3):
        await db.users.touch_user(user_id, "en")
    await db.users.set_subscribed(2, False)
    await db.users.set_blocked(3, True)
    assert await db.users.subscribers() == [1]


async def test_question_is_stored_with_sources_and_long_text_is_cut(db: Database) -> None:
    short = await ask(
        db, text="峰会什么时候举行？", language="zh", sources=["faq-dates", "event"], score=0.61
    )
    long = await ask(db, text="x" * (MAX_QUESTION_CHARS + 500), outcome="decline", sources=[])
    stored = await db.questions.get_question(short)
    assert stored is not None
    assert (stored.text, stored.language, stored.answered, stored.sources) == (
        "峰会什么时候举行？",
        "zh",
        True,
        ("faq-dates", "event"),
    )
    assert stored.score == pytest.approx(0.61) and stored.asked_at.tzinfo is not None
    cut = await db.questions.get_question(long)
    assert cut is not None and len(cut.text) == MAX_QUESTION_CHARS and not cut.answered
    assert [q.id for q in await db.questions.recent_questions()] == [long, short]
    assert [q.id for q in await db.questions.recent_questions(limit=1)] == [long]
    assert await db.questions.get_question(long + 1) is None


async def test_second_vote_replaces_the_first(db: Database) -> None:
    question = await ask(db)
    assert await db.feedback.record_feedback(question_id=question, user_id=1, helpful=True)
    assert await db.feedback.record_feedback(question_id=question, user_id=1, helpful=False)
    assert await db.feedback.record_feedback(question_id=question, user_id=2, helpful=True)
    assert await db.feedback.feedback_for(question) == [(1, False), (2, True)]


async def test_feedback_on_an_unknown_question_is_rejected(db: Database) -> None:
    assert not await db.feedback.record_feedback(question_id=999, user_id=1, helpful=True)
    assert await db.feedback.feedback_for(999) == []


async def test_two_hundred_concurrent_writes_all_land(db: Database) -> None:
    async def one(user_id: int) -> int:
        await db.users.touch_user(user_id, "en")
        question = await ask(db, user_id, text=f"question {user_id}")
        await db.feedback.record_feedback(question_id=question, user_id=user_id, helpful=user_id % 2 == 0)
        return question

    ids = await asyncio.gather(*(one(user_id) for user_id in range(200)))
    assert len(set(ids)) == 200
    stored = await db.questions.recent_questions(limit=500)
    assert len(stored) == 200
    assert {q.id: q.text for q in stored} == {qid: f"question {uid}" for uid, qid in enumerate(ids)}
    usage = await db.questions.usage()
    assert (usage.users, usage.questions, usage.answered, usage.helpful, usage.unhelpful) == (
        200,
        200,
        200,
        100,
        100,
    )


async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    question = await ask(db, 3)
    await db.feedback.record_feedback(question_id=question, user_id=3, helpful=True)
    await db.close()
    db = await Database.open(path)
    try:
        assert await db.feedback.feedback_for(question) == [(3, True)]
    finally:
        await db.close()


async def test_the_health_probe_writes_nothing_and_fails_when_writes_would(db: Database) -> None:
    await ask(db)
    before = db.path.read_bytes(), (db.path.with_name(db.path.name + "-wal")).read_bytes()
    version = await db.schema_version()
    await db.probe()
    await db.probe()
    after = db.path.read_bytes(), (db.path.with_name(db.path.name + "-wal")).read_bytes()
    assert after == before and await db.schema_version() == version
    await db.rows("PRAGMA query_only = ON")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await db.probe()
    await db.rows("PRAGMA query_only = OFF")
    await db.probe()
    assert (await db.rows("SELECT count(*) FROM questions"))[0][0] == 1


async def test_every_stored_time_is_rewritten_in_one_form_in_utc(tmp_path: Path) -> None:
    from bot.storage.sql import TIME_COLUMNS, time_text

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for statement in (s for step in MIGRATIONS[: CURRENT_VERSION - 1] for s in step):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {CURRENT_VERSION - 1}")
    written = [
        "2023-11-08T09:30:05+08:00",  # another zone, to the second
        "2023-11-08 01:30:06",  # no zone
        "2023-11-08T01:30:07.250Z",
        "2023-11-08T01:30:08.123456+00:00",  # already in the stored form
    ]
    for i, at in enumerate(written, start=1):
        conn.execute("INSERT INTO users (user_id, first_seen, last_seen) VALUES (?, ?, ?)", (i, at, at))
    conn.execute(
        "INSERT INTO reminders (user_id, session_id, starts_at, due_at, state) "
        "VALUES (1, 's', '2023-11-08T10:00:00+08:00', '2023-11-08T01:45:00+00:00', 'waiting')"
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        seen = [row[0] for row in await db.rows("SELECT first_seen FROM users ORDER BY user_id")]
        assert seen == [
            "2023-11-08T01:30:05.000000+00:00",
            "2023-11-08T01:30:06.000000+00:00",
            "2023-11-08T01:30:07.250000+00:00",
            "2023-11-08T01:30:08.123456+00:00",
        ]
        assert await db.rows("SELECT starts_at, due_at FROM reminders") == [
            ("2023-11-08T02:00:00.000000+00:00", "2023-11-08T01:45:00.000000+00:00")
        ]
        for table, columns in TIME_COLUMNS.items():  # the list names real columns
            names = {row[1] for row in await db.rows(f"PRAGMA table_info({table})")}
            assert set(columns) <= names, table
    finally:
        await db.close()
    assert time_text(datetime(2023, 11, 8, 9, 30, tzinfo=timezone(timedelta(hours=8)))) == (
        "2023-11-08T01:30:00.000000+00:00"
    )
