"""Session facts by reference: one source of truth for a session's day, time and place.

Any text of the knowledge (a FAQ answer, a fact, a summary) may take a session's facts from the session
instead of writing them out, so that moving the session changes every answer that states them::

    answer:
      en: "The plenary session starts at {{plenary-session.start}} on {{plenary-session.date}}."
      zh: "全体会议于{{plenary-session.date}}{{plenary-session.start}}开始。"

Fields (rendered in the text's language; what the session does not give is said to be unpublished):

======== ===================================================================
date     the date with its year: ``8 November 2023``, ``2023年11月8日``
day      the date without the year: ``8 November``, ``11月8日``
start    the start time, ``14:00``
end      the end time, ``15:30``
time     the time with its zone: ``14:00–15:30 (UTC+8)``
when     day, time and zone: ``8 November 2023, 14:00 (UTC+8)``
hour12   the start as people say it: ``2 pm``, ``下午2点``, ``บ่ายสองโมง``
venue    the venue's name
room     the room
place    venue and room
======== ===================================================================

References are checked with the rest of the knowledge (an unknown session or field is a problem with
its file, entry and field) and rendered when the knowledge is loaded, so the index, the answers and the
diff of an upload all see the rendered text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from index.schema import I18n, Session, Venue
from index.types import LANGS, Lang
from index.wording import clock_text, format_date, phrase, when_text

REFERENCE = re.compile(r"\{\{\s*([a-z0-9][a-z0-9-]{1,63})\.([a-z0-9_]+)\s*\}\}")
FIELDS = ("date", "day", "start", "end", "time", "when", "hour12", "venue", "room", "place")

_THAI_HOURS = {
    6: "หกโมงเช้า",
    7: "เจ็ดโมงเช้า",
    8: "แปดโมงเช้า",
    9: "เก้าโมงเช้า",
    10: "สิบโมง",
    11: "สิบเอ็ดโมง",
    12: "เที่ยง",
    13: "บ่ายโมง",
    14: "บ่ายสองโมง",
    15: "บ่ายสามโมง",
    16: "สี่โมงเย็น",
    17: "ห้าโมงเย็น",
    18: "หกโมงเย็น",
}


def hour12(start: str, lang: Lang) -> str:
    """A clock time as people say it: ``2 pm``, ``9:30 am``; ``下午2点``; ``บ่ายสองโมงครึ่ง``."""
    hours, minutes = (int(part) for part in start.split(":"))
    if lang == "en":
        shown = hours % 12 or 12
        suffix = "am" if hours < 12 else "pm"
        return f"{shown} {suffix}" if minutes == 0 else f"{shown}:{minutes:02d} {suffix}"
    if lang == "zh":
        part = "上午" if hours < 12 else "中午" if hours == 12 else "下午" if hours < 18 else "晚上"
        shown = hours if hours <= 12 else hours - 12
        rest = "" if minutes == 0 else "半" if minutes == 30 else f"{minutes}分"
        return f"{part}{shown}点{rest}"
    base = _THAI_HOURS.get(hours)
    if base is None:
        return f"{start} น."
    return base if minutes == 0 else f"{base}ครึ่ง" if minutes == 30 else f"{base} {minutes} นาที"


def _day(session: Session, lang: Lang) -> str:
    if session.date is None:
        return phrase("date_not_published", lang)
    full = format_date(session.date, lang)
    year = str(session.date.year)
    if lang == "zh":
        return full.removeprefix(f"{year}年")
    return full.removesuffix(f" {year}")


def render_field(session: Session, name: str, venues: Mapping[str, Venue], timezone: str, lang: Lang) -> str:
    """One field of a session as text in ``lang`` (see the module docstring)."""
    venue = venues.get(session.venue or "")
    unpublished_time = phrase("time_not_published", lang)
    match name:
        case "date":
            return format_date(session.date, lang) if session.date else phrase("date_not_published", lang)
        case "day":
            return _day(session, lang)
        case "start":
            return session.start or unpublished_time
        case "end":
            return session.end or unpublished_time
        case "time":
            if session.date is None:
                return clock_text(session.start, session.end, lang)
            return when_text(session.date, session.start, session.end, timezone, lang, with_day=False)
        case "when":
            return when_text(session.date, session.start, session.end, timezone, lang)
        case "hour12":
            return hour12(session.start, lang) if session.start else unpublished_time
        case "venue":
            return venue.name.get(lang) if venue else phrase("venue_not_published", lang)
        case "room":
            return session.room.get(lang) if session.room else phrase("venue_not_published", lang)
        case "place":
            parts = [venue.name.get(lang)] if venue else []
            if session.room:
                parts.append(session.room.get(lang))
            return ", ".join(parts) or phrase("venue_not_published", lang)
    raise KeyError(name)


def references(text: str) -> list[tuple[str, str]]:
    """The ``(session id, field)`` references in a text."""
    return [(m.group(1), m.group(2)) for m in REFERENCE.finditer(text)]


def check(entry: Any, sessions: Mapping[str, Session]) -> list[tuple[str, str]]:
    """``(field path, message)`` for every bad reference in an entry's texts."""
    problems = []
    for field_name, value in entry:
        if not isinstance(value, I18n):
            continue
        for lang in LANGS:
            for session_id, name in references(value.get(lang)):
                if session_id not in sessions:
                    problems.append(
                        (f"{field_name}.{lang}", f"unknown session '{session_id}' in a reference")
                    )
                elif name not in FIELDS:
                    problems.append(
                        (f"{field_name}.{lang}", f"unknown field '{name}' (one of {', '.join(FIELDS)})")
                    )
    return problems


def render(entry: Any, sessions: Mapping[str, Session], venues: Mapping[str, Venue], timezone: str) -> Any:
    """The entry with every reference in its texts replaced by the session's fact (itself when it has
    none)."""
    update: dict[str, I18n] = {}
    for field_name, value in entry:
        if not isinstance(value, I18n) or not any("{{" in value.get(lang) for lang in LANGS):
            continue

        def fill(match: re.Match[str], lang: Lang) -> str:
            session = sessions[match.group(1)]
            return render_field(session, match.group(2), venues, timezone, lang)

        update[field_name] = I18n(
            **{lang: REFERENCE.sub(lambda m, lang=lang: fill(m, lang), value.get(lang)) for lang in LANGS}
        )
    return entry.model_copy(update=update) if update else entry
