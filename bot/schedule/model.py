"""A programme read from an organiser's tool, before it becomes knowledge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from index.types import LANGS, Lang


@dataclass(frozen=True)
class ScheduleProblem:
    """One thing wrong with a programme file: ``where`` is a row and column, a JSON path or an XML path."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ScheduleError(Exception):
    """The programme cannot be imported; ``problems`` lists every problem found (nothing changes)."""

    def __init__(self, problems: list[ScheduleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class ImportedSession:
    """One talk or session as the source gives it; ``start`` is time-zone aware."""

    guid: str
    title: dict[Lang, str]
    start: dt.datetime
    duration: dt.timedelta | None
    room: str | None
    speakers: list[str] = field(default_factory=list)
    track: str | None = None
    description: dict[Lang, str] = field(default_factory=dict)
    where: str = ""
    """Where the session stands in the source (for messages)."""
    slug: str | None = None
    """The source's slug; this bot's exports put the session id in it (see ``bot.schedule.export``)."""

    def text(self, values: dict[Lang, str], lang: Lang) -> str | None:
        """``values`` in ``lang``, else in English, else in the first language given."""
        for code in (lang, "en", *LANGS):
            if values.get(code):
                return values[code]
        return None


@dataclass
class Programme:
    """Everything read from one programme file."""

    title: str
    acronym: str | None = None
    timezone: str | None = None
    """The IANA zone the source names, if any (times themselves carry their offset)."""
    start: dt.date | None = None
    end: dt.date | None = None
    sessions: list[ImportedSession] = field(default_factory=list)
    rooms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things the importer adjusted (a zone that does not match the times, an end after midnight)."""

    def room_names(self) -> list[str]:
        """The rooms in the source's order, then any only named by a session."""
        names = list(dict.fromkeys(self.rooms))
        for session in self.sessions:
            if session.room and session.room not in names:
                names.append(session.room)
        return names
