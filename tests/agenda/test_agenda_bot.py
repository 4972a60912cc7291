"""The personal agenda through the real bot and the local Bot API fake: ⭐ on cards and answers,
/myagenda, the calendar file, /reminders, a reminder from the periodic job and a change alert after
a knowledge swap."""

from __future__ import annotations

import asyncio
import base64
import copy
from collections.abc import AsyncIterator
from pathlib import Path

import icalendar
import pytest
from bot_harness import BotDriver, buttons, driving
from test_agenda import FIXTURE, check_rfc5545, edited, local

from bot.telegram import agenda as agenda_handlers
from index.embedders import Embedder
from index.engine import Engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    return Engine.load(FIXTURE, tmp_path_factory.mktemp("index"), embedder=embedder)


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotDriver]:
    monkeypatch.setattr(agenda_handlers, "TICK_SECONDS", 0.1)
    async with driving(engine, tmp_path) as driver:
        yield driver


async def test_star_my_agenda_calendar_and_reminders(bot: BotDriver) -> None:
    bot.services.agenda._now = lambda: local(7, 12)  # the day before the summit
    await bot.say(1, "/agenda")
    await bot.ack_and_reply(1, "ag:2023-11-08", "editMessageText")
    _, card = await bot.ack_and_reply(1, "s:opening-ceremony", "editMessageText")
    assert buttons(card)[0] == ("⭐ Add to my agenda", "st:opening-ceremony:1")
    answer, edit = await bot.ack_and_reply(1, "st:opening-ceremony:1", "editMessageReplyMarkup")
    assert answer.params["text"] == "Added to your agenda."
    assert buttons(edit)[0] == ("✅ In my agenda · remove", "st:opening-ceremony:0")
    assert buttons(edit)[-1][1] == "ag:2023-11-08", "the card keeps its back button"

    reply = await bot.say(1, "When is the youth forum?")
    assert ("⭐ Add to my agenda", "st:youth-forum:1") in buttons(reply), "an answer about a session has ⭐"
    await bot.ack_and_reply(1, "st:youth-forum:1", "editMessageReplyMarkup")

    _, topic = await bot.ack_and_reply(1, "e:en:data-forum", "sendMessage")
    assert buttons(topic) == [("⭐ Add to my agenda", "st:data-forum:1")], "a topic button's card has ⭐"

    mine = await bot.say(1, "/myagenda")
    text = mine.params["text"]
    assert text.index("Opening Ceremony") < text.index("Youth Forum")
    assert [d for _, d in buttons(mine)] == ["myx:opening-ceremony", "myx:youth-forum", "ics", "remm"]
    assert ("⏰ Reminders: 15 min before", "remm") in buttons(mine)

    _, document = await bot.ack_and_reply(1, "ics", "sendDocument")
    sent = bot.fake.bot_messages(1)[-1]["document"]
    assert sent["file_name"] == "wic-2023-agenda.ics"
    cal = check_rfc5545(base64.b64decode(sent["content_base64"]))
    assert {str(e["UID"]) for e in cal.walk("VEVENT")} == {
        "opening-ceremony@wic-2023.summit-bot",
        "youth-forum@wic-2023.summit-bot",
    }
    assert isinstance(cal, icalendar.Calendar) and "calendar file" in document.params["caption"]

    _, listed = await bot.ack_and_reply(1, "myx:youth-forum", "editMessageText")
    assert "Youth Forum" not in listed.params["text"] and "Opening Ceremony" in listed.params["text"]

    off = await bot.say(1, "/reminders off")
    assert "reminders are off" in off.params["text"] and ("✓ Off", "rem:0") in buttons(off)
    assert await bot.services.agenda.reminder_minutes(1) == 0
    _, chosen = await bot.ack_and_reply(1, "rem:30", "editMessageText")
    assert "30 minutes" in chosen.params["text"] and ("✓ 30 min before", "rem:30") in buttons(chosen)

    # The reminder job: at 09:00 on the day, the 30-minute reminder for the 09:30 opening goes out once.
    bot.services.agenda._now = lambda: local(8, 9)
    reminder = await bot.fake.wait_for(
        lambda c: c.ok and c.chat_id == 1 and c.method == "sendMessage" and "⏰" in c.params["text"]
    )
    assert "Opening Ceremony" in reminder.params["text"] and "30 min" in reminder.params["text"]

    # Knowledge reloaded with the opening moved: one alert to the one who bookmarked it.
    moved = copy.copy(bot.services.holder.current)
    moved.kb = edited({"opening-ceremony": {"start": "10:00", "end": "11:30"}})
    await bot.services.holder.swap(moved)
    alert = await bot.fake.wait_for(
        lambda c: c.ok and c.chat_id == 1 and c.method == "sendMessage" and "⚠️" in c.params["text"]
    )
    assert (
        "8 November 2023, 09:30–11:00 (UTC+8) → <b>8 November 2023, 10:00–11:30 (UTC+8)</b>"
        in alert.params["text"]
    )
    for _ in range(100):  # the sender records the delivery just after Telegram accepts it
        counts = await bot.services.sender.counts("alert:opening-ceremony")
        if counts["pending"] == 0:
            break
        await asyncio.sleep(0.02)
    assert counts["sent"] == 1
