"""Attendees' personal agenda: bookmarks, the list and calendar file of them, reminders, change alerts.

Session times are read as time-zone-aware datetimes in the event's zone (``event.timezone``); a
session without a published time never gets one (it is an all-day entry in the calendar file, has no
reminder and is listed as "time not published").

- **Reminders** are rows in SQLite (:mod:`bot.storage.agenda`), made when a session with a start
  time is bookmarked, re-made when the user changes their reminder setting or the session moves.
  :meth:`AgendaService.tick` (run every few seconds) queues the due ones on the one sender and marks them
  queued in the same transaction, so a restart neither loses nor repeats one. A reminder whose time
  passed while the bot was down is still sent, late, if the session has not started yet; otherwise it is
  skipped.
- **Change alerts**: :meth:`AgendaService.knowledge_loaded` (an engine-holder listener, called at
  start-up and after each reload) compares every bookmarked session's date, times and place with the
  snapshot taken when it was last seen, and tells everyone who bookmarked a changed or removed session
  what changed, in their language. Alerts and the new snapshot are committed together: each change is
  told once.

Nothing here imports Telegram; the clock is a parameter so tests control time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import icalendar

from bot import metrics
from bot.delivery.sender import Outgoing, html_message
from bot.i18n import Translator
from bot.storage.agenda import (
    DueReminder,
    NewReminder,
    bookmarkers_with_minutes,
    mark_reminders,
    session_changed,
)
from bot.storage.database import Database
from bot.storage.sql import Transaction
from index.knowledge import KnowledgeBase
from index.schema import Session
from index.types import LANGS, Lang
from index.wording import clock_text, format_date, format_day_label, phrase, utc_offset, when_text

log = logging.getLogger(__name__)

REMINDER_CHOICES = (5, 15, 30, 60)
"""Minutes before a session a user may choose to be reminded (0 turns reminders off)."""
TICK_BATCH = 500
"""Reminders queued per tick at most (the rest follow on the next tick)."""
_COMPARED = ("date", "start", "end", "venue", "room")
"""What a change alert is about: a session's date, times and place."""


class Submitter(Protocol):
    """What the service needs of the one sender."""

    async def submit(
        self, messages: Sequence[Outgoing], also: Callable[[Transaction], Awaitable[None]] | None = None
    ) -> list[int]: ...


def _lang(code: str | None) -> Lang:
    return code if code in LANGS else "en"  # type: ignore[return-value]


def event_zone(kb: KnowledgeBase) -> ZoneInfo:
    return ZoneInfo(kb.event.timezone)


def session_start(session: Session, zone: ZoneInfo) -> datetime | None:
    """When the session starts, in the event's zone; None when its date or start time is not published."""
    if session.date is None or session.start is None:
        return None
    return datetime.combine(session.date, time.fromisoformat(session.start), zone)


def session_end(session: Session, zone: ZoneInfo) -> datetime | None:
    if session.date is None or session.end is None:
        return None
    return datetime.combine(session.date, time.fromisoformat(session.end), zone)


def _time_text(start: str | None, end: str | None, lang: Lang) -> str:
    return clock_text(start, end, lang)


def _place(session: Session, kb: KnowledgeBase, lang: Lang) -> str | None:
    venue = kb.venue(session.venue)
    parts = [venue.name.get(lang)] if venue else []
    if session.room:
        parts.append(session.room.get(lang))
    return ", ".join(parts) or None


def details(session: Session, kb: KnowledgeBase) -> dict[str, Any]:
    """What the snapshot keeps of a session: the compared fields, and its title and place in every language
    (to describe it once it has changed or is gone)."""
    return {
        "date": session.date.isoformat() if session.date else None,
        "start": session.start,
        "end": session.end,
        "venue": session.venue,
        "room": session.room.en if session.room else None,
        "title": {lang: session.title.get(lang) for lang in LANGS},
        "place": {lang: _place(session, kb, lang) for lang in LANGS},
    }


def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before.get(key) != after.get(key) for key in _COMPARED)


def _sort_key(session: Session) -> tuple[Any, ...]:
    return (
        session.date is None,
        session.date or date.min,
        session.start is None,
        session.start or "",
        session.title.en,
    )


@dataclass(frozen=True)
class AgendaLine:
    """A bookmarked session as /myagenda shows it, for its remove button."""

    session_id: str
    title: str


@dataclass(frozen=True)
class AgendaView:
    text: str
    """HTML."""
    sessions: list[AgendaLine]


@dataclass(frozen=True)
class CalendarFile:
    content: bytes
    events: int
    left_out: int
    """Bookmarked sessions without a date (a calendar cannot place them)."""


class AgendaService:
    """See the module docstring. ``knowledge`` returns the knowledge base being served now."""

    def __init__(
        self,
        db: Database,
        knowledge: Callable[[], KnowledgeBase],
        texts: Translator,
        *,
        sender: Submitter | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = db.agenda
        self._knowledge = knowledge
        self._texts = texts
        self.sender = sender
        self._now = now
        self._ticking = asyncio.Lock()

    # ----------------------------------------------------------------- knowledge helpers

    @property
    def kb(self) -> KnowledgeBase:
        return self._knowledge()

    def session(self, session_id: str) -> Session | None:
        entry = self.kb.by_id.get(session_id)
        return entry if isinstance(entry, Session) else None

    def start_of(self, session: Session) -> datetime | None:
        return session_start(session, event_zone(self.kb))

    def _reminder(self, user_id: int, session: Session, minutes: int) -> NewReminder | None:
        """The reminder for a bookmark, if the session has a start time still ahead and reminders are on."""
        start = self.start_of(session)
        if start is None or minutes <= 0 or start <= self._now():
            return None
        return NewReminder(user_id, session.id, start, start - timedelta(minutes=minutes))

    # ----------------------------------------------------------------- bookmarks

    async def bookmark(self, user_id: int, session_id: str) -> bool | None:
        """Add a session to the user's agenda: True if added, False if it was there, None if unknown."""
        session = self.session(session_id)
        if session is None:
            return None
        minutes = await self.store.reminder_minutes(user_id)
        snapshot = json.dumps(details(session, self.kb), ensure_ascii=False, sort_keys=True)
        return await self.store.add_bookmark(
            user_id, session_id, snapshot, self._reminder(user_id, session, minutes)
        )

    async def unbookmark(self, user_id: int, session_id: str) -> bool:
        """Remove a session from the user's agenda (with its reminder); False if it was not there."""
        return await self.store.remove_bookmark(user_id, session_id)

    async def set_bookmark(self, user_id: int, session_id: str, on: bool) -> bool | None:
        """Bookmark (``on``) or unbookmark; the new state, or None for an unknown session."""
        if on:
            return None if await self.bookmark(user_id, session_id) is None else True
        await self.unbookmark(user_id, session_id)
        return False

    async def bookmarked(self, user_id: int, session_ids: Sequence[str]) -> set[str]:
        return await self.store.is_bookmarked(user_id, session_ids)

    async def sessions_of(self, user_id: int) -> list[Session]:
        """The user's bookmarked sessions that still exist, by day and start time (undated last)."""
        found = [s for sid in await self.store.bookmarks(user_id) if (s := self.session(sid)) is not None]
        return sorted(found, key=_sort_key)

    # ----------------------------------------------------------------- /myagenda

    async def my_agenda(self, user_id: int, lang: Lang) -> AgendaView:
        """The user's bookmarks by day and time, each with its time and place, in ``lang``."""
        sessions = await self.sessions_of(user_id)
        t = self._texts
        if not sessions:
            return AgendaView(t(lang, "myagenda.empty"), [])
        kb = self.kb
        lines = [t(lang, "myagenda.title")]
        day: date | bool | None = False  # False: no heading written yet
        for session in sessions:
            if session.date != day:
                day = session.date
                heading = format_day_label(day, lang) if day else t(lang, "myagenda.undated")
                lines.append("\n" + t(lang, "myagenda.day", day=heading))
            lines.append(
                t(
                    lang,
                    "myagenda.item",
                    time=_time_text(session.start, session.end, lang),
                    title=session.title.get(lang),
                    place=_place(session, kb, lang) or phrase("venue_not_published", lang),
                )
            )
        zone = event_zone(kb)
        if any(s.start for s in sessions):
            first = next(x for s in sessions if (x := session_start(s, zone)) is not None)
            lines.append("\n" + t(lang, "myagenda.zone", zone=utc_offset(first)))
        return AgendaView("\n".join(lines), [AgendaLine(s.id, s.title.get(lang)) for s in sessions])

    # ----------------------------------------------------------------- calendar file

    async def calendar(self, user_id: int, lang: Lang) -> CalendarFile:
        """An iCalendar file of the user's bookmarks (see :func:`calendar_file`)."""
        sessions = await self.sessions_of(user_id)
        return calendar_file(sessions, self.kb, lang, self._now())

    # ----------------------------------------------------------------- reminders

    async def reminder_minutes(self, user_id: int) -> int:
        return await self.store.reminder_minutes(user_id)

    async def set_reminder_minutes(self, user_id: int, minutes: int) -> None:
        """Remind the user ``minutes`` before each bookmarked session (0: no reminders)."""
        if minutes != 0 and minutes not in REMINDER_CHOICES:
            raise ValueError(f"reminders can be {REMINDER_CHOICES} minutes before, or off")
        reminders = [
            r
            for s in await self.sessions_of(user_id)
            if (r := self._reminder(user_id, s, minutes)) is not None
        ]
        await self.store.set_reminder_minutes(user_id, minutes, reminders)

    async def tick(self) -> int:
        """Queue every reminder that is due now on the sender; how many were queued.

        Ticks never overlap (a slow one makes the next wait), so a reminder cannot be queued twice.
        """
        if self.sender is None:
            return 0
        async with self._ticking:
            queued = 0
            while True:
                sent, seen = await self._queue_due(self.sender)
                queued += sent
                if seen < TICK_BATCH:
                    break
            await self.update_metric()
        return queued

    async def _queue_due(self, sender: Submitter) -> tuple[int, int]:
        """One batch of due reminders: (queued, looked at)."""
        now = self._now()
        due = await self.store.due(now, TICK_BATCH)
        zone = event_zone(self.kb)
        send: list[tuple[DueReminder, Session, datetime]] = []
        skipped: list[int] = []
        for reminder in due:
            session = self.session(reminder.session_id)
            start = session_start(session, zone) if session else None
            if (
                session is None
                or start is None
                or reminder.blocked
                or start != reminder.starts_at
                or start <= now
            ):
                skipped.append(reminder.id)
            else:
                send.append((reminder, session, start))
        messages = [
            replace(
                html_message(
                    r.user_id,
                    self._reminder_text(session, start, now, _lang(r.language)),
                    kind="reminder",
                    ref=f"rem:{r.id}",
                    user_id=r.user_id,
                ),
                ttl=(start - now).total_seconds(),  # not delivered once the session has begun
            )
            for r, session, start in send
        ]

        async def mark(tx: Transaction) -> None:
            await mark_reminders(tx, [r.id for r, _, _ in send], "queued")
            await mark_reminders(tx, skipped, "skipped")

        if due:
            await sender.submit(messages, also=mark)
        if skipped:
            log.info(
                "skipped %d reminders: session started, moved or gone, or user blocked the bot", len(skipped)
            )
        return len(messages), len(due)

    async def update_metric(self) -> None:
        metrics.REMINDERS_DUE.set(await self.store.count_unsent(self._now()))

    def _reminder_text(self, session: Session, start: datetime, now: datetime, lang: Lang) -> str:
        minutes = max(1, math.ceil((start - now).total_seconds() / 60))
        return self._texts(
            lang,
            "myagenda.reminder",
            title=session.title.get(lang),
            minutes=minutes,
            time=phrase(
                "day_and_time",
                lang,
                day=format_date(start.date(), lang),
                time=clock_text(session.start, session.end, lang),
            ),
            zone=utc_offset(start),
            place=_place(session, self.kb, lang) or phrase("venue_not_published", lang),
        )

    # ----------------------------------------------------------------- change alerts

    async def on_engine(self, old: object, new: Any) -> None:
        """Engine-holder listener: compare bookmarked sessions with the knowledge just loaded."""
        await self.knowledge_loaded(new.kb)

    async def knowledge_loaded(self, kb: KnowledgeBase) -> int:
        """Alert everyone whose bookmarked sessions changed or disappeared in ``kb``; alerts queued."""
        if self.sender is None:
            log.warning("agenda changes not checked: the sender is not running")
            return 0
        queued = 0
        zone = event_zone(kb)
        now = self._now()
        for session_id, raw in (await self.store.snapshots()).items():
            before = json.loads(raw)
            entry = kb.by_id.get(session_id)
            session = entry if isinstance(entry, Session) else None
            after = details(session, kb) if session is not None else None
            if after is not None and not _changed(before, after):
                if after != before:
                    await self.store.update_snapshot(
                        session_id, json.dumps(after, ensure_ascii=False, sort_keys=True)
                    )
                continue
            followers = await self.store.followers(session_id)
            messages = [
                html_message(
                    user_id,
                    self._alert_text(before, after, _lang(lang), kb.event.timezone),
                    kind="alert",
                    ref=f"alert:{session_id}",
                    user_id=user_id,
                )
                for user_id, lang, blocked in followers
                if not blocked
            ]
            start = session_start(session, zone) if session is not None else None
            snapshot = json.dumps(after, ensure_ascii=False, sort_keys=True) if after is not None else None

            async def record(
                tx: Transaction,
                sid: str = session_id,
                snap: str | None = snapshot,
                begins: datetime | None = start,
            ) -> None:
                reminders = []
                if begins is not None and begins > now:
                    reminders = [
                        NewReminder(user_id, sid, begins, begins - timedelta(minutes=minutes))
                        for user_id, minutes in await bookmarkers_with_minutes(tx, sid)
                        if minutes > 0
                    ]
                await session_changed(tx, sid, snap, reminders)

            await self.sender.submit(messages, also=record)
            queued += len(messages)
            log.info(
                "session %s %s: %d attendees alerted",
                session_id,
                "removed" if after is None else "changed",
                len(messages),
            )
        await self.store.forget_unbookmarked()
        return queued

    def _alert_text(
        self, before: dict[str, Any], after: dict[str, Any] | None, lang: Lang, timezone: str
    ) -> str:
        t = self._texts
        title = (before.get("title") or {}).get(lang) or ""
        if after is None:
            return t(lang, "myagenda.removed", title=title)
        lines = [t(lang, "myagenda.changed", title=after["title"][lang])]

        def when(snapshot: dict[str, Any]) -> str:
            value = snapshot.get("date")
            return when_text(
                date.fromisoformat(value) if value else None,
                snapshot.get("start"),
                snapshot.get("end"),
                timezone,
                lang,
            )

        if (before.get("date"), before.get("start"), before.get("end")) != (
            after["date"],
            after["start"],
            after["end"],
        ):
            lines.append(t(lang, "myagenda.changed_time", old=when(before), new=when(after)))
        if (before.get("venue"), before.get("room")) != (after["venue"], after["room"]):
            unknown = phrase("venue_not_published", lang)
            lines.append(
                t(
                    lang,
                    "myagenda.changed_place",
                    old=(before.get("place") or {}).get(lang) or unknown,
                    new=after["place"][lang] or unknown,
                )
            )
        return "\n".join(lines)


# --------------------------------------------------------------------- calendar file


def calendar_file(sessions: Sequence[Session], kb: KnowledgeBase, lang: Lang, now: datetime) -> CalendarFile:
    """An RFC 5545 calendar of ``sessions``: timed events in the event's zone (with its ``VTIMEZONE``),
    all-day events for sessions whose time is not published, the place as ``LOCATION``, and UIDs made of
    the session and event ids, so importing a newer file updates the events instead of duplicating them.
    Sessions without a date are left out (a calendar cannot place them)."""
    zone = event_zone(kb)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//summit-bot//personal agenda//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", kb.event.short_name.get(lang))
    cal.add("x-wr-timezone", kb.event.timezone)
    stamp = now.astimezone(UTC)
    events = 0
    left_out = 0
    timed = False
    for session in sessions:
        if session.date is None:
            left_out += 1
            continue
        event = icalendar.Event()
        event.add("uid", f"{session.id}@{kb.event.id}.summit-bot")
        event.add("dtstamp", stamp)
        event.add("summary", session.title.get(lang))
        start = session_start(session, zone)
        if start is None:
            event.add("dtstart", session.date)
            event.add("dtend", session.date + timedelta(days=1))
            event.add("transp", "TRANSPARENT")
        else:
            timed = True
            event.add("dtstart", start)
            end = session_end(session, zone)
            if end is not None:
                event.add("dtend", end)
        place = _place(session, kb, lang)
        if place:
            event.add("location", place)
        venue = kb.venue(session.venue)
        if venue is not None and venue.coordinates is not None:
            event.add("geo", (venue.coordinates.lat, venue.coordinates.lon))
        event.add("description", session.summary.get(lang))
        cal.add_component(event)
        events += 1
    if timed:
        cal.add_missing_timezones()
    return CalendarFile(cal.to_ical(), events, left_out)
