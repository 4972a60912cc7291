"""Turning knowledge entries into the plain text a person reads, in their language.

The composer only rearranges what the knowledge base says: a missing time, venue or cost is said to be
unpublished, never filled in. Output is plain text; the Telegram layer escapes it for HTML.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from index.knowledge import KnowledgeBase
from index.language import THAI_SCRIPT
from index.schema import Entry, Event, Fact, FaqEntry, Route, Session, Venue
from index.types import Lang
from index.wording import (
    _duration,
    _range,
    _texts,
    clock_text,
    format_date,
    format_date_range,
    phrase,
    topics,
    when_text,
)


def session_time(session: Session, lang: Lang, timezone: str | None = None) -> str:
    """The session's clock time, with the zone's UTC offset when ``timezone`` is given."""
    if timezone and session.date and session.start:
        return when_text(session.date, session.start, session.end, timezone, lang, with_day=False)
    return clock_text(session.start, session.end, lang)


def session_card(session: Session, kb: KnowledgeBase, lang: Lang) -> str:
    """Title, date, time (or that it is unpublished), venue, speakers and summary of a session."""
    day = format_date(session.date, lang) if session.date else phrase("date_not_published", lang)
    venue = kb.venue(session.venue)
    place = venue.name.get(lang) if venue else phrase("venue_not_published", lang)
    if session.room:
        place = f"{place}, {session.room.get(lang)}"
    lines = [
        session.title.get(lang),
        f"{phrase('label_date', lang)}: {day}",
        f"{phrase('label_time', lang)}: {session_time(session, lang, kb.event.timezone)}",
        f"{phrase('label_venue', lang)}: {place}",
    ]
    if session.speakers:
        names = ", ".join(
            f"{s.name.get(lang)} ({s.role.get(lang)})" if s.role else s.name.get(lang)
            for s in session.speakers
        )
        lines.append(f"{phrase('label_speakers', lang)}: {names}")
    return "\n".join(lines) + "\n\n" + session.summary.get(lang)


def venue_card(venue: Venue, lang: Lang) -> str:
    """Name, address and capacity where known, and description of a venue."""
    lines = [venue.name.get(lang)]
    if venue.address:
        lines.append(f"{phrase('label_address', lang)}: {venue.address.get(lang)}")
    if venue.capacity:
        people = phrase("capacity_people", lang, n=f"{venue.capacity:,}")
        if venue.approximate:
            people = phrase("about", lang, x=people)
        if venue.capacity_of:
            people = f"{people} ({venue.capacity_of.get(lang)})"
        lines.append(f"{phrase('label_capacity', lang)}: {people}")
    return "\n".join(lines) + "\n\n" + venue.description.get(lang)


def _route_line(route: Route, lang: Lang) -> str:
    mode = _texts()["modes"][route.mode][lang]
    parts = [f"{route.origin.get(lang)} → {route.destination.get(lang)} ({mode})"]
    if route.duration_minutes:
        parts.append(
            f"{phrase('label_duration', lang)}: {_duration(route.duration_minutes, lang, route.approximate)}"
        )
    if route.distance_km:
        parts.append(
            f"{phrase('label_distance', lang)}: {_range(route.distance_km, 'km', lang, route.approximate)}"
        )
    if route.cost_cny:
        parts.append(
            f"{phrase('label_cost', lang)}: {_range(route.cost_cny, 'cny', lang, route.approximate)}"
        )
    return "\n".join(parts)


def same_places(route: Route, kb: KnowledgeBase) -> list[Route]:
    """Every route between the same origin and destination as ``route`` (itself included)."""
    return [r for r in kb.routes if r.origin == route.origin and r.destination == route.destination]


def route_text(route: Route, lang: Lang, kb: KnowledgeBase | None = None) -> str:
    """A route with duration, distance and cost, its notes, and other ways between the same places."""
    blocks = [_route_line(route, lang)]
    if route.notes:
        blocks.append(route.notes.get(lang))
    siblings = [r for r in same_places(route, kb) if r.id != route.id] if kb else []
    if siblings:
        blocks.append(
            phrase("label_also", lang) + ":\n" + "\n\n".join(_route_line(r, lang) for r in siblings)
        )
    if route.approximate or any(r.approximate for r in siblings):
        blocks.append(phrase("approximate_note", lang))
    return "\n\n".join(blocks)


def event_text(event: Event, lang: Lang) -> str:
    return "\n".join(
        [
            event.name.get(lang),
            f"{phrase('label_dates', lang)}: {format_date_range(event.start_date, event.end_date, lang)}",
            f"{phrase('label_place', lang)}: {event.location.get(lang)}",
            f"{phrase('label_theme', lang)}: {event.theme.get(lang)}",
            f"{phrase('label_organisers', lang)}: {event.organisers.get(lang)}",
            "",
            event.summary.get(lang),
        ]
    )


def _with_approximate(text: str, entry: Fact | FaqEntry, lang: Lang) -> str:
    return f"{text} {phrase('approximate_fact', lang)}" if entry.approximate else text


def entry_title(entry: Entry, lang: Lang) -> str:
    """A short name for an entry, for buttons and suggestion lists."""
    match entry:
        case Event():
            return entry.short_name.get(lang)
        case Fact():
            return entry.title.get(lang)
        case Session():
            return entry.title.get(lang)
        case Venue():
            return entry.name.get(lang)
        case Route():
            return f"{entry.origin.get(lang)} → {entry.destination.get(lang)}"
        case FaqEntry():
            return entry.questions.get(lang)[0]
    raise TypeError(f"not a knowledge entry: {entry!r}")


def entry_text(entry: Entry, kb: KnowledgeBase, lang: Lang) -> str:
    """The full answer text for one entry in ``lang``."""
    match entry:
        case Event():
            return event_text(entry, lang)
        case Fact():
            return _with_approximate(entry.text.get(lang), entry, lang)
        case Session():
            return session_card(entry, kb, lang)
        case Venue():
            return venue_card(entry, lang)
        case Route():
            return route_text(entry, lang, kb)
        case FaqEntry():
            return _with_approximate(entry.answer.get(lang), entry, lang)
    raise TypeError(f"not a knowledge entry: {entry!r}")


GLOSS_NEAR = 60
"""Characters either side of a name within which its Latin form already counts as given."""
GLOSS_LANGS: frozenset[Lang] = frozenset({"th", "zh"})
"""Languages whose replies give the Latin form of a name after its first mention: Thai transliterates
Chinese and foreign names in several ways, and Chinese foreign ones ("尼·夸纳"), so a reader who writes
the name otherwise can match it. In Chinese only transliterated names (written with "·") get one."""
_NAME_DOT = "·"


class NameGlosses:
    """Adds the Latin form of each person or organisation the knowledge names after its first mention
    in a Thai reply ("หลี่ ซูเหลย (Li Shulei)"), and of each transliterated foreign name in a Chinese one
    ("尼·夸纳（Nii Quaynor）"). Names come from session speakers and entries' ``people`` (their Thai or
    Chinese name and English name; aliases are left out, since "Alibaba" is no gloss for its CEO).
    Nothing is added where the Latin form (or a Latin alias) already stands near the name."""

    def __init__(self, kb: KnowledgeBase) -> None:
        found: dict[Lang, dict[str, tuple[str, frozenset[str]]]] = {"th": {}, "zh": {}}
        for entry in kb.entries():
            for person in [*(entry.speakers if isinstance(entry, Session) else ()), *entry.people]:
                latin = person.name.en.strip()
                if THAI_SCRIPT.search(latin) or not latin.isascii():
                    continue
                # Aliases that share a word with the name ("Wu Yongming" for "Eddie Wu Yongming"), not
                # an employer's name ("IBM"), which may stand near the name without glossing it.
                words = set(latin.casefold().split())
                aliases = [a.casefold() for a in person.aliases.get("en") if a.isascii()]
                forms = {latin.casefold(), *(a for a in aliases if words & set(a.split()))}
                thai, han = person.name.get("th").strip(), person.name.get("zh").strip()
                for lang, name in (
                    ("th", thai if THAI_SCRIPT.search(thai) else ""),
                    ("zh", han if _NAME_DOT in han else ""),
                ):
                    if name:
                        known = found[lang].get(name)
                        found[lang][name] = (latin, forms | (known[1] if known else frozenset()))
        # Longest names first, so that a name inside a longer one ("โรบิน หลี่" in "โรบิน หลี่ เหยียนหง")
        # is not glossed on its own.
        self._names = {
            lang: [
                (re.compile(r"\s*".join(re.escape(part) for part in name.split())), latin, forms)
                for name, (latin, forms) in sorted(by_name.items(), key=lambda item: -len(item[0]))
            ]
            for lang, by_name in found.items()
        }

    def apply(self, text: str, lang: Lang) -> str:
        """``text`` with Latin forms added after the first mention of each name, for a gloss language."""
        if lang not in GLOSS_LANGS or (lang == "th" and not THAI_SCRIPT.search(text)):
            return text
        taken: list[tuple[int, int]] = []
        inserts: list[tuple[int, str]] = []
        for pattern, latin, forms in self._names[lang]:
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(s < end and start < e for s, e in taken):
                    continue  # part of a longer name already handled
                taken.append((start, end))
                near = text[max(0, start - GLOSS_NEAR) : end + GLOSS_NEAR].casefold()
                if any(form in near for form in forms):
                    break
                if text.startswith(" (", end):  # a role in brackets follows: "(Li Shulei, role)"
                    inserts.append((end + 2, f"{latin}, "))
                elif lang == "zh":
                    inserts.append((end, f"（{latin}）"))
                else:
                    inserts.append((end, f" ({latin})"))
                break
        for position, gloss in sorted(inserts, reverse=True):
            text = text[:position] + gloss + text[position:]
        return text


def answer_text(entry: Entry, kb: KnowledgeBase, lang: Lang, glosses: NameGlosses | None = None) -> str:
    """What a person asking in ``lang`` is answered with: the entry's text (:func:`entry_text`), with
    the Latin form of the names it mentions in a Thai or Chinese reply (see :class:`NameGlosses`)."""
    text = entry_text(entry, kb, lang)
    return (glosses or NameGlosses(kb)).apply(text, lang) if lang in GLOSS_LANGS else text


def clarify_text(titles: Sequence[str], lang: Lang) -> str:
    """The question asked when the engine is unsure which topic is meant: the one topic named in it, or
    several listed below it. The same words reach the chat (with a button per topic) and the command
    line."""
    if len(titles) == 1:
        return phrase("clarify_one", lang, topic=titles[0])
    items = "\n".join(f"• {t}" for t in titles)
    return f"{phrase('clarify_many', lang)}\n{items}"


def belief_reply(reply: str, holds: bool | None, true_day: dt.date | None, lang: Lang) -> str:
    """The reply to a yes/no question checking a belief: yes or no (with the true date when the belief
    was about a day) before the entry's text; the text alone when the entry does not tell."""
    if holds is None:
        return reply
    if holds:
        head = phrase("belief_yes", lang)
    elif true_day is not None:
        head = phrase("belief_no_date", lang, date=format_date(true_day, lang))
    else:
        head = phrase("belief_no", lang)
    return f"{head}\n\n{reply}"


def decline_text(lang: Lang, *, empty: bool = False) -> str:
    """A short polite decline and the topics the assistant can help with."""
    head = phrase("decline_empty" if empty else "decline", lang)
    items = "\n".join(f"• {t}" for t in topics(lang))
    return f"{head}\n\n{phrase('can_help', lang)}\n{items}"
