"""Browsing the knowledge base: days and sessions of the agenda, venues, routes, single entries.

Everything returned is plain text in the asker's language (the Telegram layer escapes it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.services.engine_holder import EngineHolder
from index.composer import answer_text, route_text, same_places, venue_card
from index.knowledge import KnowledgeBase
from index.schema import Session
from index.types import Lang
from index.wording import format_day_label


@dataclass(frozen=True)
class Item:
    """Something to put on a button: an id to come back with and a label."""

    key: str
    label: str


@dataclass(frozen=True)
class VenueView:
    """A venue card, with its position when the knowledge base has one."""

    key: str
    text: str
    title: str
    address: str
    latitude: float | None = None
    longitude: float | None = None


class Catalogue:
    """Read-only views of the knowledge base for the agenda, venue and transport screens."""

    UNDATED = "undated"
    """The key of the agenda group holding sessions without a published date."""

    def __init__(self, source: KnowledgeBase | EngineHolder) -> None:
        self._source = source

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge being served now (each call of a view reads it once per lookup)."""
        source = self._source
        return source.current.kb if isinstance(source, EngineHolder) else source

    def days(self, lang: Lang) -> list[Item]:
        """Agenda days in order, keyed by ISO date."""
        return [Item(day.isoformat(), format_day_label(day, lang)) for day in self.kb.days()]

    @property
    def has_undated(self) -> bool:
        """True when some sessions have no published date (they get their own agenda group)."""
        return bool(self.kb.undated_sessions())

    def day_label(self, key: str, lang: Lang) -> str | None:
        day = self._day(key)
        return format_day_label(day, lang) if day else None

    def sessions(self, key: str, lang: Lang) -> list[Item] | None:
        """The sessions of one agenda day (start time first), or None for an unknown key."""
        if key == self.UNDATED:
            found: list[Session] = self.kb.undated_sessions()
        elif (day := self._day(key)) is not None:
            found = self.kb.sessions_on(day)
        else:
            return None
        return [Item(s.id, f"{s.start} {s.title.get(lang)}" if s.start else s.title.get(lang)) for s in found]

    def session_day(self, session_id: str) -> str | None:
        """The agenda key of the day a session belongs to (for a back button)."""
        session = self.kb.by_id.get(session_id)
        if not isinstance(session, Session):
            return None
        return session.date.isoformat() if session.date else self.UNDATED

    def entry(self, entry_id: str, lang: Lang) -> str | None:
        """The full text of any entry (a session card, a venue card, an FAQ answer...), as the engine
        answers with it (names glossed in Latin letters in Thai)."""
        source = self._source
        if isinstance(source, EngineHolder):
            engine = source.current
            return engine.entry_answer(entry_id, lang) if entry_id in engine.kb.by_id else None
        entry = self.kb.by_id.get(entry_id)
        return answer_text(entry, self.kb, lang) if entry is not None else None

    def venue(self, entry_id: str, lang: Lang) -> VenueView | None:
        venue = self.kb.venue(entry_id)
        if venue is None:
            return None
        coordinates = venue.coordinates
        return VenueView(
            key=venue.id,
            text=venue_card(venue, lang),
            title=venue.name.get(lang),
            address=venue.address.get(lang) if venue.address else "",
            latitude=coordinates.lat if coordinates else None,
            longitude=coordinates.lon if coordinates else None,
        )

    def venues(self, lang: Lang) -> list[VenueView]:
        return [view for v in self.kb.venues if (view := self.venue(v.id, lang)) is not None]

    def routes(self, lang: Lang) -> list[str]:
        """Each route once; routes between the same two places are grouped under the first."""
        return [
            route_text(route, lang, self.kb)
            for route in self.kb.routes
            if same_places(route, self.kb)[0] is route
        ]

    def _day(self, key: str) -> dt.date | None:
        try:
            day = dt.date.fromisoformat(key)
        except ValueError:
            return None
        return day if day in self.kb.days() else None
