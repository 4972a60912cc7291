"""The programme as the Mini App shows it: days, sessions, venues and topics in one language, as JSON data.

Built from the knowledge base being served (plain data, no Telegram): each session with its day, time
(and the event's UTC offset), place, speakers, topics, summary, a map link for its venue and the other
names its speakers go by (their names in the other languages and their aliases, which the page's search
also looks at).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bot.services.agenda import event_zone, session_start, utc_offset
from index.composer import session_time
from index.files import read_yaml
from index.knowledge import KnowledgeBase
from index.schema import Session, Venue
from index.types import LANGS, Lang
from index.wording import format_day_label

TEXTS_FILE = Path(__file__).parent / "texts.yaml"
UNDATED = "undated"
"""The day key of sessions without a published date (shown last)."""


@cache
def texts() -> dict[str, Any]:
    """``texts.yaml`` as loaded (a mapping per key: language → text or list)."""
    return read_yaml(TEXTS_FILE)


def text(key: str, lang: Lang) -> str:
    return texts()[key][lang]


def page_texts(lang: Lang) -> dict[str, Any]:
    """Every interface text of the page in ``lang`` (the topics are given with each topic instead)."""
    return {key: value[lang] for key, value in texts().items() if key != "topics"}


def topic_label(tag: str, lang: Lang) -> str:
    known = texts()["topics"].get(tag)
    return known[lang] if known else tag.replace("-", " ").capitalize()


def map_link(venue: Venue) -> str:
    """A map with a pin at the venue when its coordinates are known, else a map search for its name."""
    if venue.coordinates is not None:
        lat, lon = venue.coordinates.lat, venue.coordinates.lon
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    place = venue.name.en + (", " + venue.address.en if venue.address is not None else "")
    return "https://www.openstreetmap.org/search?" + urlencode({"query": place}, quote_via=quote)


def _day_key(session: Session) -> str:
    return session.date.isoformat() if session.date else UNDATED


def _day(day: date, lang: Lang) -> dict[str, str]:
    weekday = text("weekdays_short", lang)[day.weekday()]  # type: ignore[index]
    month = text("months_short", lang)[day.month - 1]  # type: ignore[index]
    short = f"{month}{day.day}日" if lang == "zh" else f"{day.day} {month}"
    return {"key": day.isoformat(), "short": short, "weekday": weekday, "label": format_day_label(day, lang)}


def _session(session: Session, kb: KnowledgeBase, lang: Lang) -> dict[str, Any]:
    venue = kb.venue(session.venue)
    place = venue.name.get(lang) if venue else None
    if place and session.room:
        place = f"{place}, {session.room.get(lang)}"
    elif session.room:
        place = session.room.get(lang)
    speakers = [
        {"name": s.name.get(lang), "role": s.role.get(lang) if s.role else ""} for s in session.speakers
    ]
    topics = [topic_label(tag, lang) for tag in session.tags]
    shown = {s["name"] for s in speakers}
    also = [
        name
        for s in session.speakers
        for name in [*(s.name.get(other) for other in LANGS), *s.aliases.get(lang)]
        if name not in shown
    ]
    return {
        "id": session.id,
        "day": _day_key(session),
        "start": session.start,
        "end": session.end,
        "time": session_time(session, lang) if session.start else "",
        "title": session.title.get(lang),
        "summary": session.summary.get(lang),
        "venue": venue.id if venue else None,
        "place": place,
        "map": map_link(venue) if venue else None,
        "speakers": speakers,
        "tags": list(session.tags),
        "topics": topics,
        "also": list(dict.fromkeys(also)),
    }


def programme(kb: KnowledgeBase, lang: Lang) -> dict[str, Any]:
    """Everything the page shows, in ``lang``: days (undated last), sessions by day and start time, the
    venues and topics that sessions use (for the filters), the event's UTC offset and the page texts."""
    ordered = [s for day in kb.days() for s in kb.sessions_on(day)] + kb.undated_sessions()
    zone = event_zone(kb)
    first = next((t for s in ordered if (t := session_start(s, zone)) is not None), None)
    days = [_day(day, lang) for day in kb.days()]
    if kb.undated_sessions():
        days.append(
            {
                "key": UNDATED,
                "short": text("undated_short", lang),
                "weekday": "",
                "label": text("undated", lang),
            }
        )
    used_venues = {s.venue for s in ordered if s.venue}
    venues = [{"id": v.id, "name": v.name.get(lang)} for v in kb.venues if v.id in used_venues]
    tags = sorted({tag for s in ordered for tag in s.tags})
    topics = sorted(
        ({"id": tag, "name": topic_label(tag, lang)} for tag in tags), key=lambda t: t["name"].casefold()
    )
    return {
        "lang": lang,
        "event": kb.event.short_name.get(lang),
        "zone": utc_offset(first) if first else None,
        "days": days,
        "venues": venues,
        "topics": topics,
        "sessions": [_session(s, kb, lang) for s in ordered],
        "texts": page_texts(lang),
    }
