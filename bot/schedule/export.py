"""The served programme in the formats schedule apps and calendars read.

- :func:`to_json`: the c3voc ``schedule.json`` (valid against its JSON schema), which Pretalx and frab
  also write;
- :func:`to_xml`: the frab ``schedule.xml`` (valid against its XSD), which EventFahrplan, Giggity and
  ConfClerk load;
- :func:`to_ics`: an iCalendar file of every session (the personal calendar's format).

Each session keeps its guid across exports (:func:`bot.schedule.knowledge.session_guid`), so an app
updates a moved session instead of adding it twice; its slug is ``<acronym>-<session id>``, so importing
an export gives back the same sessions with the same ids. The schedule formats need a start time:
sessions without a published date or time are left out of ``json`` and ``xml``
(:attr:`Exported.left_out` counts them) and are all-day events in ``ics``. The formats hold one
language: ``lang`` chooses it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.schedule.knowledge import session_guid
from index.knowledge import KnowledgeBase
from index.schema import Session
from index.types import Lang

GENERATOR = {"name": "summit-bot", "version": "0.1.0"}
SCHEMA_URL = "https://c3voc.de/schedule/schema.json"
_ZONE_NAME = re.compile(r"^([A-Z][a-z]+/[A-Z][a-z]+)|UTC$")


@dataclass(frozen=True)
class Exported:
    content: bytes
    sessions: int
    left_out: int
    """Sessions without a published date or start time (not in ``json``/``xml``)."""


@dataclass(frozen=True)
class _Item:
    session: Session
    guid: str
    number: int
    start: dt.datetime
    duration: dt.timedelta
    room: str
    slug: str


def acronym(kb: KnowledgeBase) -> str:
    """The event id as a c3voc acronym (lowercase letters, digits and underscores, four or more)."""
    text = re.sub(r"[^a-z0-9_]", "_", kb.event.id.lower())
    return text if len(text) >= 4 else (text + "_conf")


def _ascii_words(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:40].strip("_")


def room_name(session: Session, kb: KnowledgeBase, lang: Lang) -> str:
    """The room as the formats name it: the venue, and the room inside it when given."""
    venue = kb.venue(session.venue)
    parts = [venue.name.get(lang)] if venue else []
    if session.room:
        parts.append(session.room.get(lang))
    return ", ".join(parts)


def _items(kb: KnowledgeBase, lang: Lang) -> tuple[list[_Item], int]:
    zone = ZoneInfo(kb.event.timezone)
    prefix = acronym(kb)
    items: list[_Item] = []
    left_out = 0
    for session in kb.sessions:
        if session.date is None or session.start is None:
            left_out += 1
            continue
        start = dt.datetime.combine(session.date, dt.time.fromisoformat(session.start), zone)
        end = (
            dt.datetime.combine(session.date, dt.time.fromisoformat(session.end), zone)
            if session.end
            else start
        )
        guid = session_guid(session.id, kb.event.id)
        number = uuid.UUID(guid).int % 2_000_000_000 + 1
        words = _ascii_words(session.title.en) or "session"
        readable = len(session.id) >= 4 and not session.id.endswith("-")
        items.append(
            _Item(
                session,
                guid,
                number,
                start,
                end - start,
                room_name(session, kb, lang),
                f"{prefix}-{session.id}" if readable else f"{prefix}-{number}-{words}",
            )
        )
    items.sort(key=lambda i: (i.start, i.room, i.session.id))
    return items, left_out


def _hhmm(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days(kb: KnowledgeBase, items: list[_Item]) -> list[dt.date]:
    dates = [i.start.date() for i in items]
    first = min([kb.event.start_date, *dates])
    last = max([kb.event.end_date, *dates])
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[str, str]:
    start = dt.datetime.combine(day, dt.time(0, 0), zone)
    end = dt.datetime.combine(day, dt.time(23, 59), zone)
    return start.isoformat(), end.isoformat()


def _zone_name(kb: KnowledgeBase) -> str | None:
    return kb.event.timezone if _ZONE_NAME.match(kb.event.timezone) else None


def _tracks(session: Session) -> str | None:
    return session.tags[0] if session.tags else None


def to_json(kb: KnowledgeBase, lang: Lang = "en", *, version: str | None = None) -> Exported:
    """The c3voc ``schedule.json`` of the served programme."""
    zone = ZoneInfo(kb.event.timezone)
    items, left_out = _items(kb, lang)
    days = _days(kb, items)
    rooms = list(dict.fromkeys(i.room for i in items))
    conference: dict[str, Any] = {
        "acronym": acronym(kb),
        "title": kb.event.name.get(lang),
        "start": kb.event.start_date.isoformat(),
        "end": kb.event.end_date.isoformat(),
        "daysCount": len(days),
        "timeslot_duration": "00:05",
        "rooms": [{"name": r, "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"room:{r}"))} for r in rooms],
        "days": [],
    }
    if _zone_name(kb):
        conference["time_zone_name"] = _zone_name(kb)
    for index, day in enumerate(days, start=1):
        start, end = _day_bounds(day, zone)
        by_room: dict[str, list[dict[str, Any]]] = {}
        for item in (i for i in items if i.start.date() == day):
            session = item.session
            by_room.setdefault(item.room, []).append(
                {
                    "guid": item.guid,
                    "id": item.number,
                    "date": item.start.isoformat(),
                    "start": session.start,
                    "duration": _hhmm(item.duration),
                    "room": item.room,
                    "slug": item.slug,
                    "url": f"urn:summit-bot:{kb.event.id}:{session.id}",
                    "title": session.title.get(lang),
                    "subtitle": "",
                    "track": _tracks(session),
                    "type": "session",
                    "language": lang,
                    "abstract": session.summary.get(lang),
                    "description": "",
                    "persons": [{"name": s.name.get(lang)} for s in session.speakers],
                    "links": [],
                    "attachments": [],
                }
            )
        conference["days"].append(
            {"index": index, "date": day.isoformat(), "day_start": start, "day_end": end, "rooms": by_room}
        )
    document = {
        "$schema": SCHEMA_URL,
        "generator": GENERATOR,
        "schedule": {"version": version or kb.content_hash[:12], "conference": conference},
    }
    content = json.dumps(document, ensure_ascii=False, indent=1).encode()
    return Exported(content, len(items), left_out)


def to_xml(kb: KnowledgeBase, lang: Lang = "en", *, version: str | None = None) -> Exported:
    """The frab ``schedule.xml`` of the served programme."""
    from lxml import etree

    zone = ZoneInfo(kb.event.timezone)
    items, left_out = _items(kb, lang)
    days = _days(kb, items)
    root = etree.Element("schedule")
    etree.SubElement(root, "generator", name=GENERATOR["name"], version=GENERATOR["version"])
    etree.SubElement(root, "version").text = version or kb.content_hash[:12]
    conference = etree.SubElement(root, "conference")
    for tag, value in (
        ("title", kb.event.name.get(lang)),
        ("acronym", acronym(kb)),
        ("start", kb.event.start_date.isoformat()),
        ("end", kb.event.end_date.isoformat()),
        ("days", str(len(days))),
        ("timeslot_duration", "00:05"),
        ("time_zone_name", kb.event.timezone),
    ):
        etree.SubElement(conference, tag).text = value
    for index, day in enumerate(days, start=1):
        start, end = _day_bounds(day, zone)
        day_element = etree.SubElement(
            root, "day", date=day.isoformat(), start=start, end=end, index=str(index)
        )
        todays = [i for i in items if i.start.date() == day]
        for room in dict.fromkeys(i.room for i in todays):
            room_element = etree.SubElement(
                day_element, "room", name=room, guid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"room:{room}"))
            )
            for item in (i for i in todays if i.room == room):
                session = item.session
                event = etree.SubElement(room_element, "event", guid=item.guid, id=str(item.number))
                for tag, value in (
                    ("date", item.start.isoformat()),
                    ("start", session.start or ""),
                    ("duration", _hhmm(item.duration)),
                    ("room", room),
                    ("slug", item.slug),
                    ("title", session.title.get(lang)),
                    ("subtitle", ""),
                    ("track", _tracks(session) or ""),
                    ("type", "session"),
                    ("language", lang),
                    ("abstract", session.summary.get(lang)),
                    ("description", ""),
                ):
                    etree.SubElement(event, tag).text = value
                persons = etree.SubElement(event, "persons")
                for speaker in session.speakers:
                    etree.SubElement(persons, "person").text = speaker.name.get(lang)
                etree.SubElement(event, "links")
    content = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Exported(content, len(items), left_out)


def to_ics(kb: KnowledgeBase, lang: Lang = "en", *, now: dt.datetime | None = None) -> Exported:
    """Every dated session as an iCalendar file (timed ones in the event's zone, the others all-day)."""
    from bot.services.agenda import calendar_file

    calendar = calendar_file(kb.sessions, kb, lang, now or dt.datetime.now(dt.UTC))
    return Exported(calendar.content, calendar.events, calendar.left_out)


FORMATS = {"json": to_json, "xml": to_xml, "ics": to_ics}
MEDIA_TYPES = {
    "json": "application/json",
    "xml": "application/xml",
    "ics": "text/calendar",
}
