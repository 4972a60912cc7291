"""No question lost, no user starving the others: the real bot against the local Bot API fake.

The crash test kills ``summit-bot run`` (its own process) with SIGKILL in the middle of a burst and
starts it again on the same data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from bot_harness import running_bot, settings_for, settled, start_bot_process, until
from botapi_fake import Call, FakeBotApi
from telegram.ext import Application

from bot.telegram.common import services
from index.engine import Engine

QUESTIONS = [
    "When is the summit?",
    "Where is the summit held?",
    "How do I get to Wuzhen from Hangzhou?",
    "峰会什么时候举行？",
    "การประชุมจัดขึ้นเมื่อไร",
]


def is_answer(call: Call) -> bool:
    """A message the fake accepted that ends an answer: the one carrying the 👍/👎 buttons."""
    markup = call.params.get("reply_markup")
    if not (call.ok and call.method == "sendMessage" and isinstance(markup, dict)):
        return False
    rows = markup.get("inline_keyboard") or [[]]
    return any(str(button.get("callback_data", "")).startswith("fb:") for button in rows[-1])


def answers(fake: FakeBotApi) -> Counter[int]:
    return Counter(call.chat_id for call in fake.calls if is_answer(call))  # type: ignore[misc]


class HoldingFake(FakeBotApi):
    """The fake, able to hold messages unanswered; one whose sender is gone meanwhile never arrives."""

    held = False

    async def _handle(self, request: web.Request) -> web.Response:
        while self.held and request.match_info["method"] == "sendMessage":
            await asyncio.sleep(0.01)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)
        return await super()._handle(request)


async def test_a_crash_in_the_middle_of_a_burst_loses_no_question_and_repeats_none(
    tmp_path: Path, fixture_data: Path
) -> None:
    async with HoldingFake() as fake:
        await crash_and_restart(fake, tmp_path, fixture_data)


async def crash_and_restart(fake: HoldingFake, tmp_path: Path, data: Path) -> None:
    """``data``: the bot's data directory, with the fixture knowledge's index built already."""
    users, per_user = range(2001, 2031), len(QUESTIONS)
    log = tmp_path / "bot.log"
    fake.response_delay = 0.02
    env = {"TELEGRAM_RATE_LIMIT": "20"}  # 150 replies take 7.5 s at least: they queue up
    bot = await start_bot_process(fake, data, log, **env)
    try:
        await fake.wait_for(lambda c: c.method == "getUpdates", timeout=120)
        for n in range(per_user):
            for user in users:
                fake.user_message(user, QUESTIONS[(user + n) % per_user])
        await until(lambda: sum(answers(fake).values()) >= 30, 60, "30 answers before the crash")
        # The messages sent from now on stay unanswered, and those answered are recorded by the bot:
        # the kill then finds messages on their way but none delivered and not yet recorded (such a
        # message, one at most, would be sent again).
        fake.held = True
        await asyncio.sleep(0.5)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        fake.held = False
    sent_before = sum(answers(fake).values())

    with contextlib.closing(sqlite3.connect(data / "bot.sqlite3")) as db, db:
        queued = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        # Two updates stored by the killed process but not marked handled. The first one's handler had
        # not run yet (the crash came right after the commit): the next run must answer it although
        # Telegram will not deliver it again. The second one's handler had queued its reply already:
        # the next run sends that reply, and no second one.
        for update_id, chat_id in ((10**6, 2099), (10**6 + 1, 2098)):
            stored = {
                "update_id": update_id,
                "message": {
                    "message_id": update_id,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private", "first_name": "Late"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "Late", "language_code": "en"},
                    "text": "Where is the summit held?",
                },
            }
            db.execute(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)",
                (update_id, json.dumps(stored), "2026-01-01T00:00:00+00:00"),
            )
        buttons = {"inline_keyboard": [[{"text": "👍", "callback_data": "fb:999:1"}]]}
        db.execute(
            """INSERT INTO outbox (chat_id, user_id, kind, method, params, ref, created_at, origin)
               VALUES (2098, 2098, 'reply', 'sendMessage', ?, 'q:999', ?, ?)""",
            (
                json.dumps({"text": "queued before the crash", "reply_markup": buttons}),
                "2026-01-01T00:00:00+00:00",
                f"{10**6 + 1}:0",
            ),
        )
    assert sent_before < len(users) * per_user and queued > 0, "the crash came in the middle of the burst"

    bot = await start_bot_process(fake, data, log, **env)
    try:
        expected = {user: per_user for user in users} | {2099: 1, 2098: 1}
        await until(
            lambda: all(answers(fake)[chat] >= n for chat, n in expected.items()),
            90,
            f"every question answered after the restart; log: {log}",
        )
        # Anything sent twice would be on its way until every update is handled and every message settled.
        await until(lambda: settled(data), 30, f"every update handled and every message settled; log: {log}")
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.wait_for(bot.wait(), 60)
    got = answers(fake)
    extra = {chat: got[chat] - n for chat, n in expected.items() if got[chat] != n}
    assert sum(extra.values()) <= 1, f"answered more than once: {extra}\n{log.read_text()[-3000:]}"
    assert set(got) == set(expected)
    assert [c.params["text"] for c in fake.calls if is_answer(c) and c.chat_id == 2098] == [
        "queued before the crash"
    ]
    text = log.read_text()
    assert re.search(r"handling \d+ updates stored but not handled", text), text[-3000:]
    assert f"update {10**6 + 1} handled again: its send {10**6 + 1}:0 was queued before" in text
    assert "resuming delivery of" in text
    assert bot.returncode == 0, text[-3000:]


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def bot(fake: FakeBotApi, engine: Engine, tmp_path: Path) -> AsyncIterator[Application]:
    # Telegram's pace of one message a second per chat, so that the flooding user's replies queue up; the
    # flood's questions left waiting for the user's rate are not waited for when the bot stops.
    env = {"TELEGRAM_RATE_LIMIT": "10", "TELEGRAM_CHAT_RATE": "1", "SHUTDOWN_GRACE_SECONDS": "0.5"}
    settings = settings_for(fake, tmp_path, **env)
    async with running_bot(settings, engine) as application:
        yield application


async def ask(fake: FakeBotApi, user: int, text: str, timeout: float = 15.0) -> tuple[int, Call]:
    update_id = fake.user_message(user, text)
    at = fake.injected_at(update_id)
    call = await fake.wait_for(lambda c: is_answer(c) and c.chat_id == user and c.at >= at, timeout)
    return update_id, call


async def test_a_reply_the_api_refuses_once_is_delivered_later(fake: FakeBotApi, bot: Application) -> None:
    for status in (500, 400):
        fake.fail("sendMessage", status)
        user = 3000 + status
        _, answer = await ask(fake, user, "When is the summit?")
        tries = [c for c in fake.calls if c.method == "sendMessage" and c.chat_id == user]
        assert [c.status for c in tries] == [status, 200], f"{status}: refused once, then sent"
        assert tries[0].params["text"] == answer.params["text"]
        assert answer.at - tries[0].at >= 0.5, "sent again after a pause, not at once"
    sender = services(bot).sender
    assert sender is not None
    for question_id in (1, 2):  # each reply is stored with its question
        counts = await sender.counts(f"q:{question_id}")
        assert counts["sent"] == 1 and counts["failed"] == 0


async def test_a_flooding_user_does_not_delay_another_users_reply(fake: FakeBotApi, bot: Application) -> None:
    svc = services(bot)
    update_id, _ = await ask(fake, 4001, "When is the summit?")
    baseline = fake.reply_latency(update_id)
    flood = [fake.user_message(4000, f"{QUESTIONS[n % len(QUESTIONS)]} {n}") for n in range(100)]

    async def handled() -> int:
        return (await svc.db.rows("SELECT count(*) FROM inbox WHERE handled_at IS NOT NULL"))[0][0]

    async with asyncio.timeout(30):
        # Past the question rate, the flood's questions wait for the window (they stay unhandled).
        while await handled() < 1 + len(flood) - svc.question_queue.waiting(4000):
            await asyncio.sleep(0.05)
    assert svc.question_queue.waiting(4000) == svc.settings.question_backlog
    await fake.wait_for(lambda c: c.ok and c.chat_id == 4000, 10)
    waiting = svc.sender.queued  # type: ignore[union-attr]
    update_id, _ = await ask(fake, 4001, "Where is the summit held?")
    latency = fake.reply_latency(update_id)
    assert latency is not None and baseline is not None
    # At 10 messages a second, waiting behind the flood's queued replies would take waiting / 10 s;
    # allowed: one sending slot (0.1 s) beside the time an answer takes (generous on a busy machine).
    assert latency < 0.1 + max(0.6, 2 * baseline), (
        f"{latency:.2f} s (alone: {baseline:.2f} s) with {waiting} of the flood's messages queued"
    )
    assert len(flood) == 100 and waiting >= 3


async def test_a_webhook_update_is_stored_before_telegram_gets_its_200(
    fake: FakeBotApi, engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(fake, tmp_path)
    async with running_bot(settings, engine, "webhook") as application:
        update_id, _ = await ask(fake, 5001, "When is the summit?")
        [delivery] = await fake.wait_delivered(1)
        async with asyncio.timeout(5):
            while True:
                rows = await services(application).db.rows(
                    "SELECT payload, handled_at FROM inbox WHERE update_id = ?", (update_id,)
                )
                if rows and rows[0][1] is not None:
                    break
                await asyncio.sleep(0.02)
    assert delivery.update_id == update_id and delivery.status == 200
    assert json.loads(rows[0][0])["message"]["text"] == "When is the summit?"
