"""A programme written as knowledge: one generated file beside the hand-written ones.

The import owns one file of the knowledge set, ``schedule.yaml`` (:data:`SCHEDULE_FILE`): each import
writes it anew from the source and leaves every other file as it is. So the whole set goes through the
same validation, diff, Apply, versions and rollback as an admin's YAML upload, and the file stays in the
format admins read.

- **Ids** come from the source's guid, so a session keeps its id (and its bookmarks, reminders and
  change alerts) across imports, whatever else changes. A guid that the export gave to a hand-written
  session (see :func:`session_guid`) maps back to that session's id.
- **Rooms** become venues: a room with the name (or an alias) of a venue in another file is that venue;
  any other room becomes a venue of this file, with an id made from its name.
- **People** become speakers, **tracks** tags (topics).
- **Times** are converted to the event's time zone (``event.timezone``). When no file has an ``event``
  section yet, one is written here from the programme (its title, dates and zone).
- Texts given in one language only are used for all three, since a programme names a talk once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.schedule.model import ImportedSession, Programme
from index.knowledge import parse_file
from index.schema import ID_PATTERN, Session, Venue
from index.types import LANGS, Lang
from index.wording import format_date_range, phrase

SCHEDULE_FILE = "schedule.yaml"
_ID = re.compile(ID_PATTERN)


def session_guid(session_id: str, event_id: str) -> str:
    """The guid a session is exported with: its id when that is already a UUID (an imported session),
    else a UUID derived from the event and session ids (stable across exports)."""
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"summit-bot:{event_id}:{session_id}"))


def slug(text: str, prefix: str) -> str:
    """An entry id from a name: ASCII words joined by hyphens, else a short hash of the name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) < 3:
        words = hashlib.sha1(text.encode()).hexdigest()[:10]
    return f"{prefix}-{words}"[:64].rstrip("-")


def session_id_for(guid: str, known: Mapping[str, str]) -> str:
    """The knowledge id of a session with ``guid``: the one it had (``known``: guid to id), else the
    guid itself when it is a valid id (a UUID is), else an id derived from it."""
    if guid in known:
        return known[guid]
    lowered = guid.strip().lower()
    if _ID.match(lowered):
        return lowered
    return slug(lowered, "s")


def _i18n(values: Mapping[Lang, str], fallback: str) -> dict[str, str]:
    first = next((values[lang] for lang in ("en", *LANGS) if values.get(lang)), fallback)
    return {lang: (values.get(lang) or first).strip() for lang in LANGS}


def _same(value: str) -> dict[str, str]:
    return {lang: value for lang in LANGS}


@dataclass
class ImportSummary:
    """What an import wrote, for the admin's preview and the command line."""

    sessions: int = 0
    new_rooms: list[str] = field(default_factory=list)
    known_rooms: list[str] = field(default_factory=list)
    event_created: bool = False
    timezone: str = ""
    notes: list[str] = field(default_factory=list)


def _fixed_zone(programme: Programme) -> str:
    """An IANA zone for the programme: the one it names, else the whole-hour offset its times carry."""
    if programme.timezone:
        return programme.timezone
    offsets = {s.start.utcoffset() for s in programme.sessions}
    if len(offsets) == 1:
        offset = next(iter(offsets)) or dt.timedelta(0)
        hours, rest = divmod(int(offset.total_seconds()), 3600)
        if not rest and -12 <= hours <= 14:
            # The IANA Etc zones count the other way: Etc/GMT-1 is UTC+1.
            return "UTC" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    return "UTC"


def _venue_names(venue: Venue) -> set[str]:
    names = {venue.name.get(lang).casefold() for lang in LANGS}
    names |= {alias.casefold() for lang in LANGS for alias in venue.aliases.get(lang)}
    return names


def programme_documents(
    programme: Programme,
    documents: Mapping[str, str],
    *,
    file_name: str = SCHEDULE_FILE,
    source: str = "",
) -> tuple[dict[str, str], ImportSummary]:
    """The knowledge set ``documents`` with ``file_name`` written from ``programme``."""
    summary = ImportSummary(notes=list(programme.notes))
    event: Any = None
    venues: list[Venue] = []
    sessions: list[Session] = []
    for name, text in documents.items():
        if name == file_name:
            continue
        model, _ = parse_file(name, text)  # problems are reported by the validation that follows
        if model is None:
            continue
        event = event or model.event
        venues += model.venues
        sessions += model.sessions
    zone_name = event.timezone if event is not None else _fixed_zone(programme)
    zone = ZoneInfo(zone_name)
    summary.timezone = zone_name
    event_id = event.id if event is not None else slug(programme.acronym or programme.title, "event")
    known_ids = {session_guid(s.id, event_id): s.id for s in sessions}
    # This bot's exports name each session "<acronym>-<session id>" in its slug, with the guid derived
    # from the event and session ids: such a session gets its id back.
    prefix = f"{programme.acronym}-" if programme.acronym else None
    event_ids = {event_id, (programme.acronym or "").replace("_", "-")}
    for imported in programme.sessions:
        if imported.guid in known_ids or not prefix or not (imported.slug or "").startswith(prefix):
            continue
        rest = (imported.slug or "")[len(prefix) :]
        if _ID.match(rest) and any(session_guid(rest, e) == imported.guid for e in event_ids):
            known_ids[imported.guid] = rest
    by_name = {name: venue.id for venue in venues for name in _venue_names(venue)}
    room_ids: dict[str, str] = {}
    new_venues: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for session in programme.sessions:
        if session.room:
            counts[session.room] = counts.get(session.room, 0) + 1
    taken = {v.id for v in venues}
    for room in programme.room_names():
        if room.casefold() in by_name:
            room_ids[room] = by_name[room.casefold()]
            summary.known_rooms.append(room)
            continue
        base = slug(room, "room")[:58]
        venue_id, number = base, 1
        while venue_id in taken:  # two names with the same letters ("Room A", "room-a")
            number += 1
            venue_id = f"{base}-{number}"
        taken.add(venue_id)
        room_ids[room] = venue_id
        summary.new_rooms.append(room)
        new_venues.append(
            {
                "id": venue_id,
                **({"source": source} if source else {}),
                "name": _same(room),
                "description": {
                    lang: phrase("imported_room", lang, title=programme.title, n=counts.get(room, 0))
                    for lang in LANGS
                },
            }
        )
    written: list[dict[str, Any]] = []
    for imported in sorted(programme.sessions, key=lambda s: (s.start, s.room or "", s.guid)):
        written.append(_session(imported, zone, room_ids, known_ids, source, summary))
    document: dict[str, Any] = {}
    if event is None:
        summary.event_created = True
        document["event"] = _event(programme, event_id, zone_name, zone, source)
    document["venues"] = new_venues
    document["sessions"] = written
    summary.sessions = len(written)
    header = (
        f"# Written by `summit-bot schedule import` from {source or 'a programme file'}.\n"
        "# Change the programme in the organisers' tool and import it again: this file is replaced.\n"
    )
    text = header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=110)
    result = dict(documents)
    result[file_name] = text
    return result, summary


def _session(
    imported: ImportedSession,
    zone: ZoneInfo,
    room_ids: Mapping[str, str],
    known_ids: Mapping[str, str],
    source: str,
    summary: ImportSummary,
) -> dict[str, Any]:
    local = imported.start.astimezone(zone)
    entry: dict[str, Any] = {"id": session_id_for(imported.guid, known_ids)}
    if source:
        entry["source"] = source
    title = _i18n(imported.title, imported.guid)
    entry["title"] = title
    entry["date"] = local.date().isoformat()
    entry["start"] = local.strftime("%H:%M")
    if imported.duration:
        end = local + imported.duration
        if end.date() == local.date() and end.strftime("%H:%M") > entry["start"]:
            entry["end"] = end.strftime("%H:%M")
        else:
            summary.notes.append(
                f"{imported.where}: {title['en']!r} ends after midnight; its end time is left out"
            )
    if imported.room:
        entry["venue"] = room_ids[imported.room]
    entry["summary"] = _i18n(imported.description, title["en"]) if imported.description else title
    if imported.speakers:
        entry["speakers"] = [{"name": _same(name)} for name in imported.speakers]
    if imported.track:
        entry["tags"] = [imported.track]
    return entry


def _event(
    programme: Programme, event_id: str, zone_name: str, zone: ZoneInfo, source: str
) -> dict[str, Any]:
    days = [s.start.astimezone(zone).date() for s in programme.sessions]
    start = programme.start or (min(days) if days else dt.date.today())
    end = programme.end or (max(days) if days else start)
    end = max(end, start)
    rooms = len(programme.room_names())
    title = programme.title or "Programme"
    return {
        "id": event_id,
        **({"source": source} if source else {}),
        "name": _same(title),
        "short_name": _same(programme.acronym or title),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "timezone": zone_name,
        "location": {lang: phrase("imported_not_published", lang) for lang in LANGS},
        "theme": _same(title),
        "organisers": {lang: phrase("imported_not_published", lang) for lang in LANGS},
        "summary": {
            lang: phrase(
                "imported_event_summary",
                lang,
                title=title,
                dates=format_date_range(start, end, lang),
                n=len(programme.sessions),
                rooms=rooms,
            )
            for lang in LANGS
        },
    }
