"""An announcement queued from the command line, the bot process killed half way through it, restarted.

``summit-bot run`` runs as its own process against the Bot API fake (as an operator starts it); the
subscribers are written straight into its SQLite file and the announcement is queued with
``summit-bot announce`` from a second process. A low TELEGRAM_RATE_LIMIT keeps the broadcast going long
enough to kill the bot with SIGKILL in the middle of it.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from bot_harness import bot_command, bot_environment, settled, start_bot_process, until
from botapi_fake import FakeBotApi

from bot.storage.database import Database

SUBSCRIBERS = range(5000, 5030)
TEXT = "Shuttle buses now leave from <b>Gate 3</b>"
SLOW = {"TELEGRAM_RATE_LIMIT": "10"}


def announced(fake: FakeBotApi) -> Counter[int]:
    """How many times each chat received the announcement."""
    return Counter(
        c.chat_id  # type: ignore[misc]
        for c in fake.calls
        if c.ok and c.method == "sendMessage" and "Gate 3" in str(c.params.get("text"))
    )


async def test_a_broadcast_killed_half_way_resumes_without_skipping_or_repeating(
    tmp_path: Path, fixture_data: Path
) -> None:
    data = fixture_data  # the index built already: each start of the bot only loads it
    db = await Database.open(data / "bot.sqlite3")
    for user_id in SUBSCRIBERS:
        await db.users.touch_user(user_id, "en")
    await db.close()
    async with FakeBotApi() as fake:
        env = bot_environment(fake, data, **SLOW)
        queued = await bot_command(env, "announce", TEXT)
        assert "Announcement #1 queued to go out now" in queued and "30 people" in queued

        bot = await start_bot_process(fake, data, tmp_path / "killed.log", **SLOW)
        try:
            await fake.wait_for(lambda c: "Gate 3" in str(c.params.get("text")), timeout=120)
            while sum(announced(fake).values()) < 12:
                await asyncio.sleep(0.02)
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
        finally:
            if bot.returncode is None:
                bot.kill()
        before = announced(fake)
        assert 12 <= sum(before.values()) < len(SUBSCRIBERS)  # really half way

        bot = await start_bot_process(fake, data, tmp_path / "restarted.log", **SLOW)
        try:
            async with asyncio.timeout(120):
                while set(announced(fake)) != set(SUBSCRIBERS):
                    await asyncio.sleep(0.1)
            async with asyncio.timeout(10):
                while "#1 done" not in (listing := await bot_command(env, "announcements")):
                    await asyncio.sleep(0.3)
        finally:
            bot.send_signal(signal.SIGINT)
            await asyncio.wait_for(bot.wait(), timeout=60)
    after = announced(fake)
    assert set(after) == set(SUBSCRIBERS)  # nobody skipped
    repeated = {chat: n for chat, n in after.items() if n > 1}
    assert len(repeated) <= 1 and all(n == 2 for n in repeated.values())  # at most the one in flight
    assert "sent 30, failed 0, blocked 0, remaining 0" in listing
    log = (tmp_path / "restarted.log").read_text()
    assert bot.returncode == 0, log[-2000:]
    assert "resuming delivery of" in log


async def test_a_kill_with_slow_round_trips_repeats_at_most_one_message(
    tmp_path: Path, fixture_data: Path
) -> None:
    """Each request takes 0.2 s, and Telegram takes every message the killed process sent: all those under
    way at the kill arrive, unrecorded, and are sent again. Only one announcement message is ever under
    way, so one person at most gets it twice."""
    data = fixture_data
    subscribers = range(6000, 6024)
    fast = {"TELEGRAM_RATE_LIMIT": "100"}
    db = await Database.open(data / "bot.sqlite3")
    for user_id in subscribers:
        await db.users.touch_user(user_id, "en")
    await db.close()
    async with FakeBotApi() as fake:
        env = bot_environment(fake, data, **fast)
        await bot_command(env, "announce", TEXT)
        bot = await start_bot_process(fake, data, tmp_path / "killed.log", **fast)
        try:
            await fake.wait_for(lambda c: "Gate 3" in str(c.params.get("text")), timeout=120)
            fake.response_delay = 0.2
            while sum(announced(fake).values()) < 8:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # half way through a round trip
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
        finally:
            if bot.returncode is None:
                bot.kill()
        await asyncio.sleep(0.3)  # what was under way reaches Telegram
        before = announced(fake)
        assert 8 <= sum(before.values()) < len(subscribers)
        fake.response_delay = 0.0
        bot = await start_bot_process(fake, data, tmp_path / "restarted.log", **fast)
        try:
            async with asyncio.timeout(120):
                while set(announced(fake)) != set(subscribers):
                    await asyncio.sleep(0.1)
            # A message sent twice would be on its way until every message is settled.
            await until(lambda: settled(data), 30, "every message settled")
        finally:
            bot.send_signal(signal.SIGINT)
            await asyncio.wait_for(bot.wait(), timeout=60)
    after = announced(fake)
    assert set(after) == set(subscribers)
    repeated = {chat: n for chat, n in after.items() if n > 1}
    assert len(repeated) <= 1 and all(n == 2 for n in repeated.values()), repeated
