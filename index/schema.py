"""The knowledge base schema: what an admin may write in ``knowledge/*.yaml``.

Every text a user may read is an :class:`I18n` with ``en``, ``zh`` and ``th``. Optional facts
(a start time, a room, coordinates, a cost) are ``null`` when no source gives them: the answer
composer then says the fact is not published rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from index.types import LANGS, Lang

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
Unpublished = Literal["when", "time", "where", "who", "count", "price", "route", "list", "all"]
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class I18n(_Strict):
    """A text given in all three languages."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)
    th: str = Field(min_length=1)

    def get(self, lang: Lang) -> str:
        return getattr(self, lang)


class I18nList(_Strict):
    """Several texts per language (FAQ phrasings, aliases, keywords)."""

    en: list[str] = Field(default_factory=list)
    zh: list[str] = Field(default_factory=list)
    th: list[str] = Field(default_factory=list)

    def get(self, lang: Lang) -> list[str]:
        return getattr(self, lang)

    @field_validator("en", "zh", "th")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("must not contain empty strings")
        return cleaned


class Speaker(_Strict):
    name: I18n
    role: I18n | None = None
    aliases: I18nList = Field(default_factory=I18nList)
    """Other ways people name this person or organisation ("IBM's CEO", a short form of the name)."""


class _Entry(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    source: str | None = None
    approximate: bool = False
    """True when the fact comes from a secondary source and is to be presented as approximate."""
    questions: I18nList = Field(default_factory=I18nList)
    """Ways attendees ask for this entry; matched like FAQ phrasings (optional except on FAQ entries)."""
    unpublished: list[Unpublished] = Field(default_factory=list)
    """Kinds of fact the entry says are not published (``all``: the entry exists to say so). A question
    asking only for those gets the entry's text as a known gap, not as an answer."""
    people: list[Speaker] = Field(default_factory=list)
    """People and organisations the entry is about (a session's speakers go in ``speakers``). A question
    naming one of them, in any script, finds every entry that mentions them."""


class Event(_Entry):
    name: I18n
    short_name: I18n
    start_date: dt.date
    end_date: dt.date
    timezone: str
    location: I18n
    theme: I18n
    organisers: I18n
    summary: I18n

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Event:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class Fact(_Entry):
    """A key figure or statement about the event (participation, expo size, ...)."""

    title: I18n
    text: I18n
    keywords: I18nList = Field(default_factory=I18nList)


class Session(_Entry):
    title: I18n
    date: dt.date | None = None
    start: str | None = None
    end: str | None = None
    venue: str | None = Field(default=None, pattern=ID_PATTERN)
    room: I18n | None = None
    summary: I18n
    speakers: list[Speaker] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    keywords: I18nList = Field(default_factory=I18nList)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.match(value):
            raise ValueError("time must be HH:MM (24-hour)")
        return value

    @model_validator(mode="after")
    def _time_needs_date(self) -> Session:
        if (self.start or self.end) and self.date is None:
            raise ValueError("a start or end time needs a date")
        if self.end and not self.start:
            raise ValueError("an end time needs a start time")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end is not after start")
        return self


class Coordinates(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Venue(_Entry):
    name: I18n
    aliases: I18nList = Field(default_factory=I18nList)
    address: I18n | None = None
    coordinates: Coordinates | None = None
    capacity: int | None = Field(default=None, gt=0)
    capacity_of: I18n | None = None
    """What the capacity counts when it is not the whole venue (e.g. its main hall)."""
    description: I18n
    keywords: I18nList = Field(default_factory=I18nList)


Mode = Literal["train", "bus", "coach", "taxi", "car", "walk", "boat", "cart", "shuttle", "mixed"]


class Range(_Strict):
    """A number or a range of numbers (``min`` alone means "about min")."""

    min: float = Field(ge=0)
    max: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max is not None and self.max < self.min:
            raise ValueError("max is below min")
        return self


class Route(_Entry):
    origin: I18n
    destination: I18n
    mode: Mode
    duration_minutes: Range | None = None
    distance_km: Range | None = None
    cost_cny: Range | None = None
    notes: I18n | None = None
    keywords: I18nList = Field(default_factory=I18nList)


class FaqEntry(_Entry):
    questions: I18nList
    answer: I18n
    related: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_phrasings(self) -> FaqEntry:
        missing = [lang for lang in LANGS if not self.questions.get(lang)]
        if missing:
            raise ValueError(f"questions missing for: {', '.join(missing)}")
        return self


class KnowledgeFile(_Strict):
    """The top level of one YAML file: any of these sections, each optional."""

    event: Event | None = None
    facts: list[Fact] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    venues: list[Venue] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    faq: list[FaqEntry] = Field(default_factory=list)


Entry = Event | Fact | Session | Venue | Route | FaqEntry
