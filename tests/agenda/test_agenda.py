"""Personal agenda on a controllable clock: bookmarks, /myagenda, the calendar file, reminders across
restarts, the reminder setting and change alerts, against a knowledge base with full session times."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import yaml

from bot import metrics
from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.services.agenda import AgendaService, calendar_file, session_start
from bot.storage.database import Database
from bot.storage.delivery import Outbox
from index.knowledge import KnowledgeBase, load_knowledge, validate_documents

FIXTURE = Path(__file__).parents[1] / "fixtures" / "agenda"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEXTS = Translator.load()


def local(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A moment around the summit (November 2023), Wuzhen time."""
    return datetime(2023, 11, day, hh, mm, ss, tzinfo=SHANGHAI)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Transport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        self.calls.append((method, params))
        return len(self.calls)


class Knowledge:
    """The knowledge being served, replaceable like the engine holder's."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def __call__(self) -> KnowledgeBase:
        return self.kb


def edited(change: dict[str, dict[str, Any] | None]) -> KnowledgeBase:
    """The fixture knowledge with some sessions changed (a dict of fields) or removed (None)."""
    raw = yaml.safe_load((FIXTURE / "summit.yaml").read_text(encoding="utf-8"))
    sessions = []
    for session in raw["sessions"]:
        if session["id"] in change:
            if change[session["id"]] is None:
                continue
            session = {**session, **change[session["id"]]}
            session = {k: v for k, v in session.items() if v is not None}
        sessions.append(session)
    raw["sessions"] = sessions
    return validate_documents({"summit.yaml": yaml.safe_dump(raw, allow_unicode=True)})


@pytest.fixture
def kb() -> KnowledgeBase:
    return load_knowledge(FIXTURE)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


def service(db: Database, knowledge: Knowledge, clock: Clock) -> AgendaService:
    sender = Sender(Outbox(db), Transport(), rate=0, wall=clock)
    return AgendaService(db, knowledge, TEXTS, sender=sender, now=clock)


async def outbox(db: Database, kind: str) -> list[tuple[int, str, str, str]]:
    """``(chat_id, ref, text, state)`` of the outbox rows of a kind, in order."""
    rows = await db.rows("SELECT chat_id, ref, params, state FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(chat, ref, json.loads(params).get("text", ""), state) for chat, ref, params, state in rows]


# ----------------------------------------------------------------- times


def test_times_are_aware_in_the_event_zone_and_never_made_up(kb: KnowledgeBase) -> None:
    opening = kb.by_id["opening-ceremony"]
    start = session_start(opening, SHANGHAI)  # type: ignore[arg-type]
    assert start == datetime(2023, 11, 8, 1, 30, tzinfo=UTC)
    assert start.utcoffset() == timedelta(hours=8)
    assert session_start(kb.by_id["light-of-internet-expo"], SHANGHAI) is None  # type: ignore[arg-type]
    assert session_start(kb.by_id["night-tour"], SHANGHAI) is None  # type: ignore[arg-type]


# ----------------------------------------------------------------- bookmarks and /myagenda


async def test_bookmark_and_unbookmark(db: Database, kb: KnowledgeBase) -> None:
    agenda = service(db, Knowledge(kb), Clock(local(1, 12)))
    assert await agenda.bookmark(1, "ai-forum") is True
    assert await agenda.bookmark(1, "ai-forum") is False, "a second tap changes nothing"
    assert await agenda.bookmark(1, "no-such-session") is None
    assert await agenda.bookmark(1, "opening-ceremony") is True
    assert await agenda.bookmarked(1, ["ai-forum", "opening-ceremony", "youth-forum"]) == {
        "ai-forum",
        "opening-ceremony",
    }
    assert await agenda.bookmarked(2, ["ai-forum"]) == set(), "bookmarks are per user"
    assert len(await agenda.store.reminder_states(1)) == 2
    assert await agenda.unbookmark(1, "ai-forum") is True
    assert await agenda.unbookmark(1, "ai-forum") is False
    assert [s.id for s in await agenda.sessions_of(1)] == ["opening-ceremony"]
    assert [s for s, *_ in await agenda.store.reminder_states(1)] == ["opening-ceremony"], (
        "the removed bookmark's reminder is gone"
    )


async def test_my_agenda_is_ordered_by_day_and_time_in_the_users_language(
    db: Database, kb: KnowledgeBase
) -> None:
    agenda = service(db, Knowledge(kb), Clock(local(1, 12)))
    for sid in (
        "night-tour",
        "closing-ceremony",
        "ai-forum",
        "youth-forum",
        "opening-ceremony",
        "data-forum",
    ):
        await agenda.bookmark(7, sid)
    await agenda.bookmark(7, "light-of-internet-expo")
    view = await agenda.my_agenda(7, "en")
    assert [line.session_id for line in view.sessions] == [
        "opening-ceremony",
        "data-forum",
        "ai-forum",
        "youth-forum",
        "light-of-internet-expo",
        "closing-ceremony",
        "night-tour",
    ]
    text = view.text
    order = [
        text.index(x)
        for x in (
            "Wednesday 8 November",
            "Opening",
            "Data",
            "Artificial",
            "Thursday 9 November",
            "Youth",
            "Light",
            "Friday 10 November",
            "Closing",
            "Date not published",
            "Night Tour",
        )
    ]
    assert order == sorted(order)
    assert "09:30–11:00" in text and "Xizha Scenic Area, Hall 2" in text
    assert "time not published" in text and "from 16:00" in text and "UTC+8" in text
    zh = (await agenda.my_agenda(7, "zh")).text
    assert "我的日程" in zh and "开幕式" in zh and "第二会议厅" in zh and "具体时间未公布" in zh
    th = (await agenda.my_agenda(7, "th")).text
    assert "กำหนดการของฉัน" in th and "พิธีเปิด" in th
    assert "⭐" in (await agenda.my_agenda(8, "en")).text, "an empty agenda explains how to fill it"


# ----------------------------------------------------------------- calendar file

_LINE = re.compile(rb"^[A-Z][A-Z0-9-]*(;[^:]*)?:", re.MULTILINE)


def check_rfc5545(content: bytes) -> icalendar.Calendar:
    """The basics of RFC 5545 a calendar app relies on, beyond icalendar accepting the file."""
    assert content.startswith(b"BEGIN:VCALENDAR\r\n") and content.endswith(b"END:VCALENDAR\r\n")
    for raw in content.split(b"\r\n")[:-1]:
        assert b"\n" not in raw and len(raw) <= 75, f"line not folded at 75 octets: {raw!r}"
        assert raw.startswith(b" ") or _LINE.match(raw), f"not a content line: {raw!r}"
    cal = icalendar.Calendar.from_ical(content)
    assert cal["VERSION"] == "2.0" and cal.get("PRODID")
    zones = {str(z["TZID"]) for z in cal.walk("VTIMEZONE")}
    uids = []
    for event in cal.walk("VEVENT"):
        assert event.get("UID") and event.get("DTSTAMP") and event.get("DTSTART")
        uids.append(str(event["UID"]))
        start = event["DTSTART"]
        tzid = start.params.get("TZID")
        if tzid:
            assert tzid in zones, "every TZID used has its VTIMEZONE"
        if "DTEND" in event:
            assert event["DTEND"].dt > start.dt
            assert type(event["DTEND"].dt) is type(start.dt), "start and end of the same value type"
    assert len(uids) == len(set(uids))
    return cal


async def test_calendar_file_has_zone_stable_uids_places_and_all_day_events(
    db: Database, kb: KnowledgeBase
) -> None:
    clock = Clock(local(1, 12))
    agenda = service(db, Knowledge(kb), clock)
    for sid in ("opening-ceremony", "ai-forum", "light-of-internet-expo", "closing-ceremony", "night-tour"):
        await agenda.bookmark(3, sid)
    made = await agenda.calendar(3, "en")
    assert (made.events, made.left_out) == (4, 1), "the session without a date cannot be placed"
    cal = check_rfc5545(made.content)
    [zone] = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Shanghai"
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    opening = events["opening-ceremony@wic-2023.summit-bot"]
    assert opening["DTSTART"].dt == local(8, 9, 30) and opening["DTEND"].dt == local(8, 11)
    assert opening["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert str(opening["SUMMARY"]) == "Opening Ceremony"
    assert str(opening["LOCATION"]) == "Wuzhen Internet International Convention and Exhibition Center"
    assert str(events["ai-forum@wic-2023.summit-bot"]["LOCATION"]) == "Xizha Scenic Area, Hall 2"
    expo = events["light-of-internet-expo@wic-2023.summit-bot"]
    assert expo["DTSTART"].dt == date(2023, 11, 9) and expo["DTEND"].dt == date(2023, 11, 10)
    assert b"DTSTART;VALUE=DATE:20231109" in made.content
    closing = events["closing-ceremony@wic-2023.summit-bot"]
    assert closing["DTSTART"].dt == local(10, 16) and "DTEND" not in closing, "no end is made up"
    clock.now += timedelta(hours=5)
    again = icalendar.Calendar.from_ical((await agenda.calendar(3, "zh")).content)
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == set(events), "UIDs are stable"
    assert "开幕式" in {str(e["SUMMARY"]) for e in again.walk("VEVENT")}


def test_calendar_file_without_times_needs_no_time_zone(kb: KnowledgeBase) -> None:
    made = calendar_file([kb.by_id["light-of-internet-expo"]], kb, "th", local(1, 12))  # type: ignore[list-item]
    cal = check_rfc5545(made.content)
    assert not cal.walk("VTIMEZONE") and made.events == 1


# ----------------------------------------------------------------- reminders


async def test_reminder_is_sent_once_at_its_time(db: Database, kb: KnowledgeBase) -> None:
    clock = Clock(local(8, 8))
    agenda = service(db, Knowledge(kb), clock)
    await db.users.touch_user(5, "zh")
    await agenda.bookmark(5, "opening-ceremony")  # 09:30: reminder due at 09:15 by default
    clock.now = local(8, 9, 14, 59)
    assert await agenda.tick() == 0 and await outbox(db, "reminder") == []
    clock.now = local(8, 9, 15)
    assert await agenda.tick() == 1
    clock.now = local(8, 9, 16)
    assert await agenda.tick() == 0, "a reminder is queued once"
    [(chat, ref, text, state)] = await outbox(db, "reminder")
    assert chat == 5 and ref.startswith("rem:") and state == "pending"
    assert "开幕式" in text and "15" in text and "UTC+8" in text, "in the user's language, with the time zone"
    assert [s for *_, s in await agenda.store.reminder_states(5)] == ["queued"]
    [(expires,)] = await db.rows("SELECT expires_at FROM outbox WHERE kind = 'reminder'")
    assert datetime.fromisoformat(expires) == local(8, 9, 30), "not delivered once the session has begun"


async def test_reminders_survive_a_restart_without_repeating(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "bot.sqlite3"
    clock = Clock(local(8, 8))
    db = await Database.open(path)
    agenda = service(db, Knowledge(kb), clock)
    for user in (1, 2):
        await agenda.bookmark(user, "opening-ceremony")
    await agenda.set_reminder_minutes(2, 30)  # due 09:00; user 1 at 09:15
    clock.now = local(8, 9, 5)
    assert await agenda.tick() == 1  # user 2's reminder queued, then the bot stops before sending it
    await db.close()

    db = await Database.open(path)  # the bot comes back at 09:20, after user 1's reminder was due
    clock.now = local(8, 9, 20)
    transport = Transport()
    sender = Sender(Outbox(db), transport, rate=0, wall=clock)
    agenda = AgendaService(db, Knowledge(kb), TEXTS, sender=sender, now=clock)
    await sender.start()
    assert await agenda.tick() == 1, (
        "the reminder missed while down is sent late: the session has not started"
    )
    assert await agenda.tick() == 0
    for _ in range(200):
        if len(transport.calls) >= 2:
            break
        await asyncio.sleep(0.01)
    await sender.stop()
    chats = sorted(params["chat_id"] for _, params in transport.calls)
    assert chats == [1, 2], "each reminder delivered exactly once across the restart"
    late = next(p["text"] for _, p in transport.calls if p["chat_id"] == 1)
    assert "10 min" in late, "a late reminder says how long is really left"
    await db.close()


async def test_reminder_missed_until_the_session_started_is_not_sent(db: Database, kb: KnowledgeBase) -> None:
    clock = Clock(local(8, 8))
    agenda = service(db, Knowledge(kb), clock)
    await agenda.bookmark(1, "opening-ceremony")
    await agenda.bookmark(1, "data-forum")  # 11:30, due 11:15
    clock.now = local(8, 11, 20)  # down from 08:00 to 11:20: the opening (09:30) is over
    assert await agenda.tick() == 1
    [(_, _, text, _)] = await outbox(db, "reminder")
    assert "Data Governance Forum" in text
    states = {s: st for s, _, _, st in await agenda.store.reminder_states(1)}
    assert states == {"opening-ceremony": "skipped", "data-forum": "queued"}


async def test_no_reminder_for_sessions_without_a_time_or_already_started(
    db: Database, kb: KnowledgeBase
) -> None:
    clock = Clock(local(8, 10))
    agenda = service(db, Knowledge(kb), clock)
    for sid in ("light-of-internet-expo", "night-tour", "opening-ceremony"):
        await agenda.bookmark(1, sid)
    assert await agenda.store.reminder_states(1) == []


async def test_reminder_setting_and_off(db: Database, kb: KnowledgeBase) -> None:
    clock = Clock(local(8, 8))
    agenda = service(db, Knowledge(kb), clock)
    assert await agenda.reminder_minutes(1) == 15
    await agenda.bookmark(1, "opening-ceremony")
    await agenda.bookmark(1, "ai-forum")
    await agenda.set_reminder_minutes(1, 60)
    assert await agenda.reminder_minutes(1) == 60
    dues = {s: d for s, _, d, _ in await agenda.store.reminder_states(1)}
    assert dues == {"opening-ceremony": local(8, 8, 30), "ai-forum": local(8, 13)}
    await agenda.set_reminder_minutes(1, 0)
    assert await agenda.reminder_minutes(1) == 0 and await agenda.store.reminder_states(1) == []
    await agenda.bookmark(1, "youth-forum")
    clock.now = local(9, 8, 59)
    assert await agenda.tick() == 0 and await outbox(db, "reminder") == [], "off means no reminder at all"
    with pytest.raises(ValueError):
        await agenda.set_reminder_minutes(1, 7)
    await agenda.set_reminder_minutes(1, 5)
    assert [(s, d) for s, _, d, _ in await agenda.store.reminder_states(1)] == [
        ("youth-forum", local(9, 8, 55))
    ]


async def test_reminders_due_metric(db: Database, kb: KnowledgeBase) -> None:
    clock = Clock(local(8, 8))
    agenda = service(db, Knowledge(kb), clock)
    await agenda.bookmark(1, "opening-ceremony")
    await agenda.bookmark(2, "opening-ceremony")
    clock.now = local(8, 9, 20)
    await agenda.update_metric()
    assert due_gauge() == 2
    await agenda.tick()
    assert due_gauge() == 2, "queued, not yet sent"
    await db.rows("UPDATE outbox SET state = 'sent'")
    await agenda.update_metric()
    assert due_gauge() == 0


def due_gauge() -> float | None:
    return metrics.REGISTRY.get_sample_value("summit_bot_reminders_due")


# ----------------------------------------------------------------- change alerts


async def test_change_alerts_go_once_to_everyone_who_bookmarked(db: Database, kb: KnowledgeBase) -> None:
    clock = Clock(local(7, 12))
    knowledge = Knowledge(kb)
    agenda = service(db, knowledge, clock)
    await db.users.touch_user(1, "en")
    await db.users.touch_user(2, "th")
    await db.users.touch_user(3, "zh")
    for user in (1, 2):
        await agenda.bookmark(user, "opening-ceremony")
    await agenda.bookmark(3, "ai-forum")
    await agenda.bookmark(3, "youth-forum")
    assert await agenda.knowledge_loaded(kb) == 0, "nothing changed: no alert at start-up"

    moved = edited(
        {
            "opening-ceremony": {"start": "10:00", "end": "11:30"},
            "ai-forum": {"venue": "expo-center", "room": None},
            "youth-forum": None,
        }
    )
    knowledge.kb = moved
    assert await agenda.knowledge_loaded(moved) == 4
    assert await agenda.knowledge_loaded(moved) == 0, "each change is told once"
    alerts = await outbox(db, "alert")
    by_user: dict[int, list[str]] = {}
    for chat, _, text, _ in alerts:
        by_user.setdefault(chat, []).append(text)
    assert (
        "Opening Ceremony" in by_user[1][0]
        and "8 November 2023, 09:30–11:00 (UTC+8) → <b>8 November 2023, 10:00–11:30 (UTC+8)</b>"
        in by_user[1][0]
    )
    assert "พิธีเปิด" in by_user[2][0] and "10:00–11:30 น." in by_user[2][0]
    zh = "\n".join(by_user[3])
    assert "西栅景区, 第二会议厅 → <b>乌镇互联网国际会展中心</b>" in zh
    assert "青年论坛" in zh and "取消" in zh
    assert await agenda.bookmarked(3, ["youth-forum"]) == set(), "a removed session leaves the agenda"
    dues = {(s, d) for s, _, d, st in await agenda.store.reminder_states(1) if st == "waiting"}
    assert dues == {("opening-ceremony", local(8, 9, 45))}, "the reminder follows the new time"

    restarted = service(db, knowledge, clock)  # a restart with the same knowledge tells nobody again
    assert await restarted.knowledge_loaded(moved) == 0


async def test_a_time_published_later_is_a_change(db: Database, kb: KnowledgeBase) -> None:
    clock = Clock(local(7, 12))
    knowledge = Knowledge(kb)
    agenda = service(db, knowledge, clock)
    await agenda.bookmark(4, "light-of-internet-expo")
    knowledge.kb = edited({"light-of-internet-expo": {"start": "10:00"}})
    assert await agenda.knowledge_loaded(knowledge.kb) == 1
    [(_, _, text, _)] = await outbox(db, "alert")
    assert "time not published → <b>9 November 2023, from 10:00 (UTC+8)</b>" in text
    assert [(s, d) for s, _, d, _ in await agenda.store.reminder_states(4)] == [
        ("light-of-internet-expo", local(9, 9, 45))
    ]


async def test_renames_are_not_alerts_and_a_new_follower_starts_from_the_current_state(
    db: Database, kb: KnowledgeBase
) -> None:
    clock = Clock(local(7, 12))
    knowledge = Knowledge(kb)
    agenda = service(db, knowledge, clock)
    await agenda.bookmark(1, "data-forum")
    renamed = edited({"data-forum": {"title": {"en": "Data Forum", "zh": "数据论坛", "th": "ฟอรัมข้อมูล"}}})
    knowledge.kb = renamed
    assert await agenda.knowledge_loaded(renamed) == 0, "a new title is not a change of date, time or place"
    knowledge.kb = edited({"data-forum": None})
    assert await agenda.knowledge_loaded(knowledge.kb) == 1
    [(_, _, text, _)] = await outbox(db, "alert")
    assert "Data Forum" in text, "a removed session is named as it was last seen"

    knowledge.kb = kb  # back, and followed anew: the earlier state must not cause an alert
    await agenda.bookmark(2, "ai-forum")
    await agenda.unbookmark(2, "ai-forum")
    knowledge.kb = edited({"ai-forum": {"start": "15:00"}})
    await agenda.bookmark(2, "ai-forum")
    assert await agenda.knowledge_loaded(knowledge.kb) == 0


async def test_one_tick_queues_every_due_reminder_and_ticks_never_overlap(
    db: Database, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import agenda as agenda_module

    monkeypatch.setattr(agenda_module, "TICK_BATCH", 2)
    clock = Clock(local(8, 8))
    agenda = service(db, Knowledge(kb), clock)
    for user in range(1, 6):
        await agenda.bookmark(user, "opening-ceremony")
    clock.now = local(8, 9, 15)
    assert sum(await asyncio.gather(agenda.tick(), agenda.tick())) == 5
    assert sorted(chat for chat, *_ in await outbox(db, "reminder")) == [1, 2, 3, 4, 5]


async def test_a_queued_reminder_is_not_delivered_after_the_session_began(
    db: Database, kb: KnowledgeBase
) -> None:
    clock = Clock(local(8, 9, 15))
    agenda = service(db, Knowledge(kb), clock)
    await agenda.bookmark(1, "opening-ceremony")
    await agenda.set_reminder_minutes(1, 15)
    assert await agenda.tick() == 1  # queued at 09:15; the bot stops before it is sent
    [(_, ref, _, _)] = await outbox(db, "reminder")
    clock.now = local(8, 9, 31)  # back after the opening began
    transport = Transport()
    sender = Sender(Outbox(db), transport, rate=0, wall=clock)
    await sender.start()
    for _ in range(100):
        if (await sender.counts(ref))["expired"]:
            break
        await asyncio.sleep(0.01)
    await sender.stop()
    assert transport.calls == [] and (await sender.counts(ref))["expired"] == 1
