"""Free text that states a session's time, day or place: a second source of truth, and often a stale one.

:func:`check` reads every text of the knowledge as written (before references are rendered) and finds
sentences about a session that state a clock time, a date or a venue themselves:

- a **contradiction** when what they state is not the session's (``The plenary starts at 15:00`` while
  the session starts at 14:00, a day or venue other than the session's);
- a **copy** when it is the same: correct today, wrong after the next move, so better written as a
  reference (``{{plenary-session.start}}``, see :mod:`index.templates`).

A sentence is about a session when it names the session (its title, or one of its keywords of five or
more letters) and no other, or, naming none, when it is in the session's own summary or in a FAQ answer
related to that session only. A date counts only in a sentence that also states a clock time (a date
alone is often another event's: a press conference before the summit).
``summit-bot index check`` prints both lists; contradictions make it fail.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from index.knowledge import KnowledgeFile, parse_file
from index.schema import FaqEntry, I18n, Session, Venue
from index.templates import REFERENCE
from index.types import LANGS, Lang
from index.wording import month_names

_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
_SENTENCE = re.compile(r"(?<=[.!?。！？])(?<!น\.)\s*|\n+")
"""Sentence ends (not the "น." after a Thai clock time)."""
_MONTHS_EN: list[str] = month_names("en")
_MONTHS_TH: list[str] = month_names("th")
_DATES: dict[Lang, re.Pattern[str]] = {
    "en": re.compile(r"\b(\d{1,2})\s+(" + "|".join(_MONTHS_EN) + r")\b"),
    "th": re.compile(r"(\d{1,2})\s*(" + "|".join(_MONTHS_TH) + r")"),
    "zh": re.compile(r"(\d{1,2})月(\d{1,2})日"),
}


@dataclass(frozen=True)
class Finding:
    file: str
    entry_id: str
    field: str
    session_id: str
    kind: str
    """``contradiction`` or ``copy``."""
    message: str
    sentence: str

    def __str__(self) -> str:
        text = self.sentence if len(self.sentence) <= 120 else self.sentence[:117] + "…"
        return (
            f"{self.file}, entry '{self.entry_id}', field '{self.field}': {self.message} "
            f"(session '{self.session_id}'): “{text}”"
        )


def _dates(sentence: str, lang: Lang) -> Iterator[tuple[int, int]]:
    """``(month, day)`` of each date written in a sentence."""
    for match in _DATES[lang].finditer(sentence):
        if lang == "zh":
            yield int(match.group(1)), int(match.group(2))
        else:
            months = _MONTHS_EN if lang == "en" else _MONTHS_TH
            yield months.index(match.group(2)) + 1, int(match.group(1))


def _names(session: Session, lang: Lang) -> list[str]:
    names = [session.title.get(lang)]
    names += [k for k in session.keywords.get(lang) if len(k) >= 5 or (lang != "en" and len(k) >= 3)]
    return [n.casefold() for n in names if n]


def _venue_names(venue: Venue, lang: Lang) -> list[str]:
    names = [venue.name.get(lang), *venue.aliases.get(lang)]
    return [n.casefold() for n in names if len(n) >= 4]


def _texts(entry: object) -> Iterator[tuple[str, I18n]]:
    for name, value in entry:  # type: ignore[attr-defined]
        if isinstance(value, I18n):
            yield name, value


def check(documents: Mapping[str, str]) -> list[Finding]:
    """Contradictions and copies of session facts in the free text of valid knowledge files."""
    files: dict[str, KnowledgeFile] = {}
    for name, text in documents.items():
        model, _ = parse_file(name, text)
        if model is not None:
            files[name] = model
    sessions = {s.id: s for f in files.values() for s in f.sessions}
    venues = {v.id: v for f in files.values() for v in f.venues}
    findings: list[Finding] = []
    for file_name, kf in sorted(files.items()):
        entries = [
            *([kf.event] if kf.event else []),
            *kf.facts,
            *kf.sessions,
            *kf.venues,
            *kf.routes,
            *kf.faq,
        ]
        for entry in entries:
            owner: Session | None = None
            if isinstance(entry, Session):
                owner = entry
            elif isinstance(entry, FaqEntry):
                related = [sessions[r] for r in entry.related if r in sessions]
                owner = related[0] if len(related) == 1 else None
            for field_name, value in _texts(entry):
                if field_name in ("title", "name", "short_name"):
                    continue
                for lang in LANGS:
                    findings += _check_text(
                        file_name,
                        entry.id,
                        f"{field_name}.{lang}",
                        value.get(lang),
                        lang,
                        owner,
                        sessions,
                        venues,
                    )
    return findings


def _check_text(
    file_name: str,
    entry_id: str,
    field: str,
    text: str,
    lang: Lang,
    owner: Session | None,
    sessions: Mapping[str, Session],
    venues: Mapping[str, Venue],
) -> list[Finding]:
    found: list[Finding] = []
    # What references render is the session's own fact: they are left out before anything is read.
    for sentence in _SENTENCE.split(REFERENCE.sub(" ", text)):
        literal = sentence
        if not literal.strip():
            continue
        folded = literal.casefold()
        about = [s for s in sessions.values() if any(n in folded for n in _names(s, lang))]
        if owner is not None and not about:
            about = [owner]
        if len(about) != 1:
            continue  # no session, or several: the sentence cannot be checked against one
        session = about[0]

        def add(kind: str, message: str, session: Session = session, sentence: str = sentence) -> None:
            found.append(Finding(file_name, entry_id, field, session.id, kind, message, sentence.strip()))

        times = {f"{int(h):02d}:{m}" for h, m in _CLOCK.findall(literal)}
        own = {t for t in (session.start, session.end) if t}
        if times and own:
            if times - own:
                add(
                    "contradiction",
                    f"states {', '.join(sorted(times - own))}; the session is at {'–'.join(sorted(own))}",
                )
            elif times & own:
                add(
                    "copy",
                    f"writes out the time {', '.join(sorted(times & own))}; use {{{{{session.id}.start}}}}",
                )
        dates = set(_dates(literal, lang))
        if dates and times and session.date is not None:
            day = (session.date.month, session.date.day)
            wrong = sorted(d for d in dates if d != day)
            if wrong and day not in dates:
                shown = ", ".join(
                    dt.date(session.date.year, m, d).strftime("%d %B").lstrip("0") for m, d in wrong
                )
                add("contradiction", f"states the day {shown}; the session is on {session.date.isoformat()}")
        if session.venue and session.venue in venues:
            named = [
                v.id
                for v in venues.values()
                if v.id != session.venue
                and any(n in folded for n in _venue_names(v, lang))
                and not any(n in folded for n in _venue_names(venues[session.venue], lang))
            ]
            if named:
                add("contradiction", f"names the venue '{named[0]}'; the session is at '{session.venue}'")
    return found
