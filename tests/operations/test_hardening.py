"""Unit tests: callback data codec, question rate, content-free messages, retention, start-up checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram.error import InvalidToken

from bot.config import ConfigError, settings_from
from bot.services.feedback import FeedbackService
from bot.services.privacy import PrivacyService, has_content
from bot.services.ratelimit import QuestionRateLimiter, Verdict
from bot.startup import StartupError, check_data_files, check_database, prepare_data_dir, wait_for_api
from bot.storage.database import CURRENT_VERSION, Database
from bot.storage.delivery import NewMessage, Outbox
from bot.telegram import callbacks
from bot.telegram.callbacks import MAX_ID, AgendaDay, Entry, Feedback, Language, Session, Venue


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2023, 11, 8, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- Callback data ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        Feedback(0, True),
        Feedback(MAX_ID, False),
        Entry("zh", "faq-dates"),
        Language("th"),
        AgendaDay(""),
        AgendaDay("2023-11-08"),
        Session("ai-forum"),
        Venue("expo-center"),
    ],
)
def test_callback_data_round_trips(item: callbacks.CallbackData) -> None:
    data = item.encode()
    assert len(data.encode()) <= callbacks.MAX_BYTES
    assert callbacks.parse(data) == item
    assert type(item).parse(data) == item
    assert type(item).parse(data) is not None
    assert __import__("re").match(type(item).pattern(), data)


def test_feedback_data_is_exactly_prefix_id_flag() -> None:
    assert Feedback(42, True).encode() == "fb:42:1"
    assert Feedback(42, False).encode() == "fb:42:0"
    assert AgendaDay("").encode() == "ag:"


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "fb",
        "fb:",
        "fb:1",
        "fb:1:2",
        "fb:1:1:1",
        "fb:x:1",
        "fb:-1:1",
        "fb:+1:1",
        "fb: 1:1",
        "fb:١٢:1",  # Arabic-Indic digits are digits to str.isdigit, not ids
        "fb:9223372036854775808:1",  # 2**63: one past SQLite's largest integer
        f"fb:{2**64}:1",
        "fb:" + "9" * 40 + ":1",
        "zz:1",
        "FB:1:1",
        "lang",
        "e:en",
    ],
)
def test_malformed_callback_data_parses_to_none(data: str | None) -> None:
    assert callbacks.parse(data) is None
    assert Feedback.parse(data) is None


def test_data_longer_than_telegram_allows_is_refused_both_ways() -> None:
    long_key = "x" * 63  # 65 bytes with the prefix
    with pytest.raises(ValueError, match="longer than 64 bytes"):
        Session(long_key).encode()
    assert not callbacks.fits(Session(long_key))
    assert callbacks.parse("s:" + long_key) is None
    assert callbacks.parse("s:" + "x" * 62) == Session("x" * 62)  # exactly 64 bytes
    assert callbacks.parse("s:" + "é" * 32) is None  # 34 characters, 66 bytes
    assert callbacks.parse("s:" + "é" * 31) == Session("é" * 31)
    assert callbacks.parse("fb:1:1" + "0" * 100) is None


def test_ids_out_of_range_and_separators_cannot_be_encoded() -> None:
    for question_id in (-1, MAX_ID + 1, 2**64):
        with pytest.raises(ValueError, match="out of range"):
            Feedback(question_id, True).encode()
    with pytest.raises(ValueError, match="contains ':'"):
        Entry("en", "a:b").encode()
    assert not callbacks.fits(Entry("en", "a:b"))


def test_a_kind_is_only_parsed_as_itself() -> None:
    assert Venue.parse("s:ai-forum") is None
    assert Session.parse("s:ai-forum") == Session("ai-forum")


# --- Question rate ---------------------------------------------------------------------------------


def test_rate_allows_the_limit_then_warns_once_then_drops() -> None:
    clock = Clock()
    limiter = QuestionRateLimiter(3, timedelta(seconds=30), now=clock)
    verdicts = [limiter.check(1, (1, n)) for n in range(6)]
    assert verdicts == [Verdict.ANSWER] * 3 + [Verdict.SLOW_DOWN] + [Verdict.DROP] * 2
    assert limiter.check(2, (2, 1)) is Verdict.ANSWER  # another user is not affected
    clock.advance(seconds=29)
    assert limiter.check(1, (1, 10)) is Verdict.DROP
    clock.advance(seconds=1)  # the first three leave the window: dropped ones never counted
    assert [limiter.check(1, (1, n)) for n in range(11, 15)] == [Verdict.ANSWER] * 3 + [Verdict.SLOW_DOWN]


def test_rate_window_slides() -> None:
    clock = Clock()
    limiter = QuestionRateLimiter(2, timedelta(seconds=10), now=clock)
    assert limiter.check(1, "a") is Verdict.ANSWER
    clock.advance(seconds=6)
    assert limiter.check(1, "b") is Verdict.ANSWER
    clock.advance(seconds=4)  # "a" is 10 s old: room for one
    assert limiter.check(1, "c") is Verdict.ANSWER
    assert limiter.check(1, "d") is Verdict.SLOW_DOWN


def test_edits_of_one_message_count_once_and_are_answered_a_few_times() -> None:
    clock = Clock()
    limiter = QuestionRateLimiter(3, timedelta(seconds=30), answers_per_message=3, now=clock)
    edits = [limiter.check(1, "m1") for _ in range(20)]
    assert edits == [Verdict.ANSWER] * 3 + [Verdict.DROP] * 17
    assert limiter.check(1, "m2") is Verdict.ANSWER  # twenty edits used one question of three
    assert limiter.check(1, "m3") is Verdict.ANSWER
    assert limiter.check(1, "m4") is Verdict.SLOW_DOWN
    clock.advance(seconds=30)
    assert limiter.check(1, "m1") is Verdict.ANSWER  # a new window: an edit is a question again


def test_idle_users_are_forgotten() -> None:
    clock = Clock()
    limiter = QuestionRateLimiter(3, timedelta(seconds=30), now=clock)
    for user in range(5):
        limiter.check(user, "m")
    clock.advance(seconds=10)
    limiter.check(99, "m")
    clock.advance(seconds=25)
    assert limiter.forget_idle() == 5
    assert limiter.forget_idle() == 0


def test_rate_settings_are_validated() -> None:
    settings = settings_from({"QUESTION_RATE_LIMIT": "5", "QUESTION_RATE_WINDOW": "12.5"})
    assert (settings.question_rate_limit, settings.question_rate_window) == (5, 12.5)
    defaults = settings_from({})
    assert (defaults.question_rate_limit, defaults.question_rate_window) == (10, 30.0)
    with pytest.raises(ConfigError, match="QUESTION_RATE_LIMIT"):
        settings_from({"QUESTION_RATE_LIMIT": "0"})
    with pytest.raises(ValueError):
        QuestionRateLimiter(0)


# --- Content-free messages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "👍", "👍🏽🎉❤️", "???", "…!!", "\u200b", "\u200b\u2066\u2069", "@someone", " @a_b @c "],
)
def test_messages_without_content(text: str) -> None:
    assert not has_content(text)


@pytest.mark.parametrize("text", ["wifi?", "2023", "乌镇", "ที่ไหน", "@someone where?", "email@example.org 👍"])
def test_messages_with_content(text: str) -> None:
    assert has_content(text)


# --- Retention and feedback ------------------------------------------------------------------------


async def _question(db: Database, user_id: int, asked_at: datetime) -> int:
    question_id = await db.questions.record_question(
        user_id=user_id, chat_id=user_id, text="When?", language="en", outcome="answer", score=1.0, sources=[]
    )
    await db.rows("UPDATE questions SET asked_at = ? WHERE id = ?", (asked_at.isoformat(), question_id))
    return question_id


async def test_purge_deletes_old_questions_with_their_feedback_once_a_day(tmp_path: Path) -> None:
    clock = Clock()
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        old = await _question(db, 1, clock.now - timedelta(days=91))
        recent = await _question(db, 1, clock.now - timedelta(days=89))
        assert await db.feedback.record_feedback(old, 1, True)
        outbox = Outbox(db)
        sent_old, sent_recent, waiting = await outbox.add(
            [NewMessage(1, "reply", "sendMessage", {"text": t}) for t in ("old", "recent", "waiting")]
        )
        await outbox.settle([sent_old, sent_recent], "sent")
        for oid, age in ((sent_old, 91), (sent_recent, 89), (waiting, 91)):
            when = (clock.now - timedelta(days=age)).isoformat()
            await db.rows("UPDATE outbox SET created_at = ? WHERE id = ?", (when, oid))
        privacy = PrivacyService(db, timedelta(days=90), now=clock)
        done = await privacy.purge_if_due()
        assert done is not None and done.questions == 1
        assert (
            await db.questions.get_question(old) is None
            and await db.questions.get_question(recent) is not None
        )
        assert await db.feedback.feedback_for(old) == []
        kept = await db.rows("SELECT id FROM outbox ORDER BY id")
        assert kept == [(sent_recent,), (waiting,)], "sent answers go with their questions; unsent ones stay"
        clock.advance(hours=23)
        assert await privacy.purge_if_due() is None  # purged less than a day ago
        clock.advance(hours=1, days=1)
        done = await privacy.purge_if_due()
        assert done is not None and done.questions == 1  # "recent" is now 91 days old
        assert (await privacy.last_purge()) == done
    finally:
        await db.close()


async def test_feedback_only_from_the_person_who_asked(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        question_id = await _question(db, 7, datetime.now(UTC))
        feedback = FeedbackService(db)
        assert not await feedback.rate(question_id, 8, True)
        assert not await feedback.rate(question_id + 1, 7, True)
        assert await db.feedback.feedback_for(question_id) == []
        assert await feedback.rate(question_id, 7, False)
        assert await db.feedback.feedback_for(question_id) == [(7, False)]
    finally:
        await db.close()


def test_retention_setting() -> None:
    assert settings_from({}).question_retention_days == 90
    assert settings_from({"QUESTION_RETENTION_DAYS": "30"}).question_retention_days == 30
    with pytest.raises(ConfigError, match="QUESTION_RETENTION_DAYS"):
        settings_from({"QUESTION_RETENTION_DAYS": "forever"})


# --- Files are private -----------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_and_its_directory_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "bot.sqlite3"
    db = await Database.open(path)
    try:
        await _question(db, 1, datetime.now(UTC))
        assert _mode(path) == 0o600
        assert _mode(path.parent) == 0o700
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and _mode(wal) == 0o600
    finally:
        await db.close()


def test_existing_data_directory_and_files_are_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "cache").mkdir(parents=True)
    data.chmod(0o755)
    (data / "cache").chmod(0o775)
    (data / "index.faiss").write_bytes(b"x")
    (data / "index.faiss").chmod(0o644)
    prepare_data_dir(data)
    check_data_files(data)
    assert _mode(data) == 0o700 and _mode(data / "cache") == 0o700
    assert _mode(data / "index.faiss") == 0o600


# --- Start-up checks -------------------------------------------------------------------------------


def test_data_directory_under_a_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(StartupError) as info:
        prepare_data_dir(tmp_path / "plain" / "data")
    message = str(info.value)
    assert "SUMMIT_BOT_DATA_DIR" in message and str(tmp_path / "plain") in message
    assert "\n" not in message


def test_data_directory_that_is_a_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    with pytest.raises(StartupError, match="is a file, not a directory"):
        prepare_data_dir(tmp_path / "data")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_database_is_explained(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "bot.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    conn.close()
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    else:
        path.write_bytes(path.read_bytes()[: 4096 * 3 + 100])
    with pytest.raises(StartupError) as info:
        check_database(path)
    message = str(info.value)
    assert str(path) in message and "backup" in message and "\n" not in message


def test_database_from_a_newer_bot_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    conn.close()
    with pytest.raises(StartupError, match="newer than this bot knows"):
        check_database(path)


def test_log_level_is_validated_in_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from({"LOG_LEVEL": "LOUD"})
    message = str(info.value)
    assert "LOG_LEVEL" in message and "'LOUD'" in message and "WARNING" in message
    assert "\n" not in message
    assert settings_from({"LOG_LEVEL": "debug"}).log_level == "DEBUG"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_api_is_retried_with_backoff_then_explained() -> None:
    elapsed = 0.0
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        nonlocal elapsed
        waits.append(seconds)
        elapsed += seconds

    settings = settings_from(
        {
            "TELEGRAM_BOT_TOKEN": "1:secret-token",
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
            "STARTUP_RETRY_SECONDS": "20",
        }
    )
    with pytest.raises(StartupError) as info:
        await wait_for_api(settings, sleep=sleep, clock=lambda: elapsed)
    assert waits == [1, 2, 4, 8, 5]
    message = str(info.value)
    assert "STARTUP_RETRY_SECONDS" in message and "TELEGRAM_API_BASE_URL" in message
    assert "secret-token" not in message and "\n" not in message


async def test_reachable_api_passes_and_a_rejected_token_is_not_retried() -> None:
    from botapi_fake import FakeBotApi

    async with FakeBotApi(token="4242:right") as fake:
        env = {"TELEGRAM_API_BASE_URL": fake.base_url, "STARTUP_RETRY_SECONDS": "30"}
        await wait_for_api(settings_from({**env, "TELEGRAM_BOT_TOKEN": fake.token}))
        with pytest.raises(InvalidToken):
            await wait_for_api(settings_from({**env, "TELEGRAM_BOT_TOKEN": "4242:wrong"}))
    assert [c.method for c in fake.calls].count("getMe") == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write read-only files")
def test_read_only_files_are_explained(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bot.sqlite3").write_bytes(b"")
    (data / "bot.sqlite3").chmod(0o400)
    with pytest.raises(StartupError, match="read-only"):
        check_data_files(data)


def test_purge_command_deletes_old_questions(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    async def fill() -> list[int]:
        db = await Database.open(tmp_path / "bot.sqlite3")
        try:
            now = datetime.now(UTC)
            return [await _question(db, 1, now - timedelta(days=age)) for age in (200, 40, 1)]
        finally:
            await db.close()

    *_, recent = asyncio.run(fill())
    runner = CliRunner()
    first = runner.invoke(app, ["purge", "--data-dir", str(tmp_path)], env={"QUESTION_RETENTION_DAYS": "90"})
    assert first.exit_code == 0 and "Deleted 1 question(s) older than 90 day(s)" in first.output
    second = runner.invoke(app, ["purge", "--data-dir", str(tmp_path), "--days", "30"])
    assert second.exit_code == 0 and "Deleted 1 question(s)" in second.output

    async def left() -> list[int]:
        db = await Database.open(tmp_path / "bot.sqlite3")
        try:
            return [q.id for q in await db.questions.recent_questions(10)]
        finally:
            await db.close()

    assert asyncio.run(left()) == [recent]
