"""End to end: a question handled again after a crash is answered but counted once, in the stored usage
figures (/stats) and in the metrics. The real application against the Bot API fake, started twice on
the same data directory; between the runs the update is made to look cut short by a crash."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from bot_harness import driving
from botapi_fake import FakeBotApi

from bot.metrics import QUESTIONS
from index.engine import Engine

USER, ADMIN = 81, 82


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


def answered_count() -> float:
    return QUESTIONS.labels(language="en", outcome="answer")._value.get()


async def test_a_question_handled_again_is_counted_once(engine: Engine, tmp_path: Path) -> None:
    async with FakeBotApi() as fake:
        await run_twice(engine, tmp_path, fake)


async def run_twice(engine: Engine, tmp_path: Path, fake: FakeBotApi) -> None:
    async with driving(engine, tmp_path, fake=fake, ADMIN_IDS=str(ADMIN)) as bot:
        update_id = bot.fake.user_message(USER, "When is the summit?")
        first = await bot.after(update_id, USER)
        assert "2023" in first.params["text"]
        await bot.say(USER, "Is there wifi at the venue?")
        before = answered_count()
        stats = await bot.say(ADMIN, "/stats")
        assert "Questions: 2," in stats.params["text"]
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        # As if the bot had been killed after answering but before recording the update as handled,
        # with its reply lost too (so the reply is queued again).
        assert (
            db.execute("UPDATE inbox SET handled_at = NULL WHERE update_id = ?", (update_id,)).rowcount == 1
        )
        db.execute("DELETE FROM outbox WHERE origin LIKE ?", (f"{update_id}:%",))
        (count,) = db.execute("SELECT count(*) FROM questions").fetchone()
        assert count == 2

    started = time.monotonic()
    async with driving(engine, tmp_path, fake=fake, ADMIN_IDS=str(ADMIN)) as bot:
        again = await bot.fake.wait_for(
            lambda c: c.method == "sendMessage" and c.chat_id == USER and c.at >= started
        )
        assert again.params["text"] == first.params["text"]  # answered again, with the same buttons
        assert again.params["reply_markup"] == first.params["reply_markup"]
        stats = await bot.say(ADMIN, "/stats")
        assert "Questions: 2," in stats.params["text"]
        with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
            rows = db.execute("SELECT origin FROM questions ORDER BY id").fetchall()
        assert len(rows) == 2 and rows[0] == (f"update:{update_id}",)
        assert answered_count() == before  # not counted in the metrics either
        # A new question still counts.
        await bot.say(USER, "Is there wifi at the venue?")
        assert answered_count() == before + 1
