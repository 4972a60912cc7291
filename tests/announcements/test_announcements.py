"""Organisers' announcements: the text rules, then the whole bot against the Bot API fake.

The announcement service's clock is replaced by a controllable one, so scheduled sending is driven by
moving the clock (the bot's periodic tick, or a direct call to it, does the rest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bot_harness import BotDriver, buttons, driving
from botapi_fake import utf16_len

from bot import metrics
from bot.services.announcements import AnnouncementError, check_html, parse_local_time, split_versions
from bot.storage.announcements import Version
from bot.telegram.callbacks import AnnounceAction
from index.engine import Engine

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
ORGANISER = 900
ADMIN = 901
SHANGHAI = ZoneInfo("Asia/Shanghai")


# ------------------------------------------------------------------------------------------ text rules


def test_language_versions_are_split_on_marker_lines_and_formatting_is_balanced() -> None:
    text = "<b>Room change\n[th] ย้ายห้อง</b>\n[en] Room <i>B</i>\n[zh] 换到B厅"
    assert split_versions(text) == [
        Version(None, "<b>Room change</b>"),
        Version("th", "<b>ย้ายห้อง</b>"),
        Version("en", "Room <i>B</i>"),
        Version("zh", "换到B厅"),
    ]
    assert split_versions("[EN] <b>Hi</b>\nsecond line") == [Version("en", "<b>Hi</b>\nsecond line")]
    assert split_versions("no markers, [en] inside a line") == [
        Version(None, "no markers, [en] inside a line")
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "announce.error_empty"),
        ("  \n ", "announce.error_empty"),
        ("[en] hello\n[th]\n", "announce.error_empty_version"),
        ("[en] hello\n[en] again", "announce.error_twice"),
        ("x" * 4097, "announce.error_too_long"),
    ],
)
def test_unusable_announcements_are_explained(text: str, key: str) -> None:
    with pytest.raises(AnnouncementError) as caught:
        split_versions(text)
    assert caught.value.key == key


def test_hand_written_html_is_checked_before_it_reaches_telegram() -> None:
    assert check_html('<b>Bold</b> and <a href="https://wicwuzhen.cn">a link</a> &amp; more') is None
    assert check_html("1 < 2") is not None
    assert check_html("Q&A") is not None
    assert check_html("<b>open") is not None
    assert check_html("<script>x</script>") is not None


def test_times_are_read_in_the_event_time_zone() -> None:
    assert parse_local_time("2023-11-08 09:30", SHANGHAI) == datetime(2023, 11, 8, 1, 30, tzinfo=UTC)
    with pytest.raises(AnnouncementError):
        parse_local_time("tomorrow 9am", SHANGHAI)


# ------------------------------------------------------------------------------------------ the bot


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@dataclass
class Bot(BotDriver):
    clock: Clock = field(default_factory=lambda: Clock(datetime(2023, 11, 7, 12, 0, tzinfo=UTC)))

    async def finished(self, announcement_id: int, timeout: float = 15.0) -> str:
        repo = self.services.announcements.repo
        async with asyncio.timeout(timeout):
            while (row := await repo.get(announcement_id)).state not in ("done", "stopped", "cancelled"):
                await asyncio.sleep(0.1)
        return row.state


async def make_bot(engine: Engine, tmp_path: Path, **env: str) -> AsyncIterator[Bot]:
    staff = {"ORGANISER_IDS": str(ORGANISER), "ADMIN_IDS": str(ADMIN)}
    async with driving(engine, tmp_path, **staff, **env) as driver:
        bot = Bot(driver.fake, driver.app)
        bot.services.announcements.now = bot.clock
        yield bot


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[Bot]:
    async for made in make_bot(engine, tmp_path):
        yield made


@pytest.fixture
async def slow_bot(engine: Engine, tmp_path: Path) -> AsyncIterator[Bot]:
    """A bot allowed only 5 messages a second, so a broadcast lasts long enough to be stopped."""
    async for made in make_bot(engine, tmp_path, TELEGRAM_RATE_LIMIT="5"):
        yield made


async def start_users(bot: Bot, languages: dict[int, str]) -> None:
    for user_id, code in languages.items():
        welcome = await bot.say(user_id, "/start", language_code=code)
        assert "/unsubscribe" in welcome.params["text"]  # the one line on how to opt out


async def test_send_now_in_each_language_with_formatting_kept(bot: Bot) -> None:
    await start_users(bot, {1: "en", 2: "th", 3: "zh", ORGANISER: "en"})
    await bot.say(4, "/start", language_code="en")
    assert "no longer" in (await bot.say(4, "/unsubscribe")).params["text"]
    text = "/announce\n[th] ย้ายห้องไปที่ Hall B\n[en] Room change: Hall B, see the map"
    bold_at = text.index("Hall B", text.index("[en]"))
    link_at = text.index("the map")
    entities = [
        {"type": "bot_command", "offset": 0, "length": 9},
        {"type": "bold", "offset": utf16_len(text[:bold_at]), "length": 6},
        {
            "type": "text_link",
            "offset": utf16_len(text[:link_at]),
            "length": 7,
            "url": "https://wicwuzhen.cn/",
        },
    ]
    preview = await bot.say(ORGANISER, text, entities=entities)
    assert [label for label, _ in buttons(preview)] == ["Send now", "Schedule", "Cancel"]
    assert "recipients: 4" in preview.params["text"]
    assert "ไทย</b> · recipients: 2" in preview.params["text"]  # the Thai user and the Chinese one
    assert "English</b> · recipients: 2" in preview.params["text"]  # user 1 and the organiser
    send_now = buttons(preview)[0][1]

    answer = await bot.ack(
        ORGANISER, send_now, preview_id := bot.fake.bot_messages(ORGANISER)[-1]["message_id"]
    )
    assert "4 recipients" in answer.params["text"]
    english = await bot.message_to(1, "Room change")
    assert (
        english.params["text"]
        == 'Room change: <b>Hall B</b>, see <a href="https://wicwuzhen.cn/">the map</a>'
    )
    assert "ย้ายห้อง" in (await bot.message_to(2, "Hall B")).params["text"]
    assert "ย้ายห้อง" in (await bot.message_to(3, "Hall B")).params["text"]  # no Chinese version: the first
    summary = await bot.message_to(ORGANISER, "is delivered")
    assert "4 sent, 0 failed, 0 had blocked" in summary.params["text"]
    assert bot.messages_to(4, "Hall B") == []  # unsubscribed
    assert await bot.services.sender.counts("ann:1") == {
        "pending": 0,
        "sent": 4,
        "failed": 0,
        "blocked": 0,
        "cancelled": 0,
        "expired": 0,
    }
    progress = bot.fake.bot_messages(ORGANISER)
    assert any("remaining: 0" in m["text"] and "Sent: 4" in m["text"] for m in progress)  # edited at the end
    assert not any(m["message_id"] == preview_id and m.get("reply_markup") for m in progress)  # buttons gone
    # Pressing again does not send it twice.
    again = await bot.ack(ORGANISER, send_now, preview_id)
    assert "already been sent" in again.params["text"]
    await asyncio.sleep(0.3)
    assert len(bot.messages_to(1, "Room change")) == 1


async def test_scheduled_announcement_goes_out_when_its_time_comes(bot: Bot) -> None:
    await start_users(bot, {1: "en", 2: "zh", ORGANISER: "zh"})
    asked = await bot.say(ORGANISER, "/announce", language_code="zh")
    assert "下一条消息" in asked.params["text"]
    preview = await bot.say(
        ORGANISER, "Shuttle buses leave at 9:00 from Gate 2", language_code="zh"
    )  # the next message
    assert [label for label, _ in buttons(preview)] == ["立即发送", "定时发送", "取消"]
    assert bot.messages_to(1, "Shuttle") == []  # a question would have been answered; this was the text
    schedule = buttons(preview)[1][1]
    await bot.ack(ORGANISER, schedule)
    prompt = await bot.message_to(ORGANISER, "Asia/Shanghai")
    assert "2023-11-08 14:30" in prompt.params["text"]
    past = await bot.say(ORGANISER, "2023-11-01 09:00", language_code="zh")
    assert "已经过去" in past.params["text"]
    done = await bot.say(ORGANISER, "2023-11-08 09:00", language_code="zh")
    assert "2023-11-08 09:00" in done.params["text"]
    row = await bot.services.announcements.repo.get(1)
    assert (row.state, row.due_at) == ("scheduled", datetime(2023, 11, 8, 1, 0, tzinfo=UTC))

    await bot.services.announcements.tick()
    await asyncio.sleep(1.2)  # the periodic tick runs too
    assert bot.messages_to(1, "Shuttle") == []
    bot.clock.at = datetime(2023, 11, 8, 1, 0, 1, tzinfo=UTC)
    await bot.message_to(1, "Shuttle")  # picked up by the bot's own tick
    await bot.message_to(2, "Shuttle")
    assert await bot.finished(1) == "done"
    listing = await bot.say(ORGANISER, "/announcements", language_code="zh")
    assert "#1" in listing.params["text"] and "已于 2023-11-08 09:00 发送" in listing.params["text"]


async def test_everyone_else_is_refused_and_logged(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    await start_users(bot, {1: "en", 7: "th"})
    with caplog.at_level(logging.WARNING, logger="bot.telegram.announce"):
        refused = await bot.say(7, "/announce Free drinks for everyone!", language_code="th")
        assert "ผู้จัดงาน" in refused.params["text"]
        assert "only the organisers" in (await bot.say(1, "/announcements")).params["text"]
        forged = AnnounceAction("send", 1).encode()
        alert = await bot.ack(7, forged, 1)
        assert alert.params.get("show_alert") is True
    assert sum("without being" in r.getMessage() and "7" in r.getMessage() for r in caplog.records) == 2
    assert await bot.services.announcements.repo.get(1) is None
    assert bot.messages_to(1, "Free drinks") == []
    # Staff may: the admin too.
    preview = await bot.say(ADMIN, "/announce Hello")
    assert "Announcement #1</b> · recipients: 3" in preview.params["text"]  # 1, 7 and the admin


async def test_flood_control_and_blocked_users_are_counted(bot: Bot) -> None:
    await start_users(bot, {1: "en", 2: "en", 3: "en", 4: "en"})
    announcements = bot.services.announcements
    bot.fake.block_user(3)
    bot.fake.flood("sendMessage", 2, retry_after=1)
    first = await announcements.repo.create(
        [Version(None, "Lunch is served")], state="scheduled", due_at=bot.clock()
    )
    await announcements.tick()
    assert await bot.finished(first.id) == "done"
    counts = await bot.services.sender.counts(first.ref)
    assert (counts["sent"], counts["blocked"], counts["failed"]) == (3, 1, 0)
    for user_id in (1, 2, 4):
        assert len(bot.messages_to(user_id, "Lunch")) == 1  # flood-controlled ones were sent after the wait
    assert sum(c.status == 429 for c in bot.fake.calls) == 2
    assert (await bot.services.db.users.get_user(3)).blocked

    second = await announcements.repo.create(
        [Version(None, "Dinner at 7")], state="scheduled", due_at=bot.clock()
    )
    await announcements.tick()
    assert await bot.finished(second.id) == "done"
    assert (await bot.services.sender.counts(second.ref))["sent"] == 3
    assert not [c for c in bot.fake.calls if c.chat_id == 3 and "Dinner" in c.params.get("text", "")]

    bot.fake.unblock_user(3)
    await bot.say(3, "/start")  # writing again ends the block
    await announcements.repo.create([Version(None, "Closing party")], state="scheduled", due_at=bot.clock())
    await announcements.tick()
    await bot.message_to(3, "Closing party")


async def test_cancel_a_scheduled_one_and_stop_a_running_one(slow_bot: Bot) -> None:
    bot = slow_bot
    db = bot.services.db
    for user_id in range(100, 130):
        await db.users.touch_user(user_id, "en")
    await start_users(bot, {ORGANISER: "en"})
    announcements = bot.services.announcements
    later = await announcements.repo.create(
        [Version(None, "Gala dinner")], state="scheduled", due_at=bot.clock() + timedelta(hours=1)
    )
    listing = await bot.say(ORGANISER, "/announcements")
    assert "scheduled for 2023-11-07 21:00" in listing.params["text"]
    assert buttons(listing) == [("Cancel #1", "an:cancel:1")]
    await bot.ack(ORGANISER, "an:cancel:1")
    await bot.message_to(ORGANISER, "is cancelled")
    bot.clock.at += timedelta(hours=2)
    await announcements.tick()
    assert (await announcements.repo.get(later.id)).state == "cancelled"

    preview = await bot.say(ORGANISER, "/announce Hall A is closed")
    await bot.ack(ORGANISER, buttons(preview)[0][1])
    for user_id in (100, 101, 102):
        await bot.message_to(user_id, "Hall A")
    async with asyncio.timeout(5):
        while metrics.BROADCASTS_RUNNING._value.get() != 1:
            await asyncio.sleep(0.05)
    await bot.message_to(ORGANISER, "remaining: 31")  # the progress message
    running = await bot.say(ORGANISER, "/announcements")
    assert ("Stop #2", "an:stop:2") in buttons(running)
    await bot.ack(ORGANISER, "an:stop:2")
    summary = await bot.message_to(ORGANISER, "is stopped")
    assert await bot.finished(2) == "stopped"
    counts = await bot.services.sender.counts("ann:2")
    assert counts["cancelled"] > 10 and counts["pending"] == 0
    assert f"{counts['cancelled']} not sent" in summary.params["text"]
    await bot.services.announcements.tick()
    assert metrics.BROADCASTS_RUNNING._value.get() == 0
    progress = next(
        c for c in bot.fake.calls if c.chat_id == ORGANISER and "remaining: 31" in c.params.get("text", "")
    )
    assert buttons(progress) == [("Stop #2", "an:stop:2")]  # the progress message can stop it too
    final = [m for m in bot.fake.bot_messages(ORGANISER) if "Announcement #2\nSent" in m["text"]]
    assert len(final) == 1 and "remaining: 0" in final[0]["text"] and "reply_markup" not in final[0]
    await asyncio.sleep(0.5)
    delivered = [c for c in bot.fake.calls if c.ok and c.params.get("text") == "Hall A is closed"]
    assert len(delivered) == counts["sent"]  # nothing went out after the stop
