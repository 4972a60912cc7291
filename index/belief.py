"""Yes/no questions that check a belief, and whether an entry bears the belief out.

"it wraps up on the 9th, right?", "峰会11号还开吗", "ปีนี้จัดที่ปักกิ่งใช่ไหม": the asker states a value
(a day of the event's month, a year, a number, a place) and asks whether it is right. :func:`read_belief`
finds the marker of such a check (``markers`` in ``belief.yaml``) and the values asserted, and gives the
question behind it, without the markers and with each value replaced by the words that ask for it ("it
wraps up on which day"), so that the value does not pull in an entry that merely mentions it (the
sub-forums of the 9th). :func:`verdict` compares the asserted values with what the answering entry
states: the reply says yes or no, and the true date when it is one the entry gives.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from index.composer import entry_text
from index.files import read_yaml
from index.knowledge import KnowledgeBase
from index.numerals import days_of_month
from index.schema import Entry, Event, Session
from index.textproc import normalise
from index.types import LANGS, Lang
from index.wording import month_names

BELIEF_FILE = Path(__file__).with_name("belief.yaml")

_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_YEAR_WRITTEN = re.compile(r"(?:ปี\s*)?(?<!\d)((?:19|20)\d\d)(?!\d)\s*年?")
_NUMBER = re.compile(r"(?<![0-9a-z.:,第])(?<!ที่)(?<!ที่ )(\d{1,3}(?:,\d{3})+|\d+)(?![0-9:]|\.\d|,\d)")
"""A number; not a Chinese or Thai ordinal ("第1届", "ครั้งที่ 2"), which says which one, not how many."""
_EN_DAYS = re.compile(
    r"\b(\d{1,2})(?:\s*(?:–|-|to|and)\s*(\d{1,2}))?\s+(january|february|march|april|may|june|july|august"
    r"|september|october|november|december)\b"
)


def _alternatives(raw: dict, key: str, lang: Lang) -> re.Pattern[str]:
    """The patterns under ``key`` of ``lang`` and of English (which Thai and Chinese questions mix in)."""
    return re.compile(
        "|".join(f"(?:{p})" for lg in dict.fromkeys((lang, "en")) for p in raw[key].get(lg, ()))
    )


@dataclass(frozen=True)
class _Patterns:
    markers: dict[Lang, re.Pattern[str]]
    conclusions: dict[Lang, re.Pattern[str]]
    """Openings of a follow-up that states a conclusion from the last answer ("so ...", "所以...")."""
    interrogatives: dict[Lang, re.Pattern[str]]
    """Question words: a turn or a check that asks something of its own."""
    ask: dict[str, dict[str, str]]


@cache
def _data() -> _Patterns:
    raw = read_yaml(BELIEF_FILE)
    return _Patterns(
        markers={lang: _alternatives(raw, "markers", lang) for lang in LANGS},
        conclusions={lang: _alternatives(raw, "conclusions", lang) for lang in LANGS},
        interrogatives={lang: _alternatives(raw, "interrogatives", lang) for lang in LANGS},
        ask=raw["ask"],
    )


def _marks(text: str, lang: Lang, followup: bool) -> list[re.Match[str]]:
    """The markers of a belief check in ``text``; in a follow-up also the opening of a conclusion drawn
    from the last answer ("so it ends on the 11th?"), when the turn asks nothing of its own."""
    data = _data()
    marked = list(data.markers[lang].finditer(text))
    if followup and not marked:
        conclusion = data.conclusions[lang].search(text)
        if conclusion and not data.interrogatives[lang].search(text):
            marked.append(conclusion)
    return marked


@dataclass(frozen=True)
class Belief:
    """What a yes/no check asserts: days of the event's month, years, other numbers, places (in the
    knowledge's spelling)."""

    days: frozenset[int] = frozenset()
    years: frozenset[int] = frozenset()
    numbers: frozenset[int] = frozenset()
    places: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.days or self.years or self.numbers or self.places)


def read_belief(
    text: str, lang: Lang, places: tuple[str, ...], *, followup: bool = False
) -> tuple[Belief | None, str]:
    """The belief ``text`` (normalised) checks, and the question behind it; (None, ``text``) when it
    checks none. ``places`` are the knowledge's place names (normalised); ``followup``: ``text`` follows
    an answer in the same chat, so a conclusion drawn from it ("so it ends on the 11th?") checks a
    belief too."""
    data = _data()
    marked = _marks(text, lang, followup)
    if not marked:
        return None, text
    spans: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e, _ in spans)

    days = set()
    for start, end, day in days_of_month(text, lang):
        days.add(day)
        spans.append((start, end, "day"))
    years = set()
    for m in _YEAR_WRITTEN.finditer(text):
        if free(m.start(), m.end()):
            years.add(int(m.group(1)))
            spans.append((m.start(), m.end(), "year"))
    numbers = set()
    for m in _NUMBER.finditer(text):
        if free(m.start(), m.end()):
            numbers.add(int(m.group().replace(",", "")))
            spans.append((m.start(), m.end(), "number"))
    found = sorted(
        (m.start(), m.end(), place)
        for place in places
        for m in re.finditer(re.escape(place), text)
        if free(m.start(), m.end())
    )
    # With a date or number asserted, a place named is what the question is about ("wuzhen summit ends
    # on the 9th, right?"); of several places, the first is ("wuzhen is in jiangsu, right?"). A check
    # that asks something of its own ("...spoke in wuzhen, what about?") asserts no place.
    unmarked = data.markers[lang].sub(" ", text)
    asks_own = data.interrogatives[lang].search(unmarked)
    asserted = [] if spans or asks_own else found[1:] if len(found) > 1 else found
    for start, end, _ in asserted:
        spans.append((start, end, "place"))
    belief = Belief(
        frozenset(days), frozenset(years), frozenset(numbers), frozenset(p for _, _, p in asserted)
    )
    if not belief:
        return None, text
    cuts = [*spans, *((m.start(), m.end(), "") for m in marked if free(m.start(), m.end()))]
    behind = text
    for start, end, kind in sorted(cuts, reverse=True):
        words = data.ask[kind][lang] if kind else ""
        behind = f"{behind[:start]} {words} {behind[end:]}"
    behind = " ".join(behind.split())
    return belief, behind if any(ch.isalpha() for ch in behind) else text


def _stated_days(entry: Entry, kb: KnowledgeBase, text: str, poles: frozenset[str]) -> set[int]:
    """The days of the event's month the entry gives: a session's date, the event's first or last day
    when the question asks about one end, else every day its English text names in that month."""
    month = kb.event.start_date.month
    if isinstance(entry, Session):
        return {entry.date.day} if entry.date and entry.date.month == month else set()
    ranges: list[tuple[int, int]] = []
    if isinstance(entry, Event):
        ranges.append((entry.start_date.day, entry.end_date.day))
    for m in _EN_DAYS.finditer(text):
        if [name.casefold() for name in month_names("en")].index(m.group(3)) + 1 == month:
            first = int(m.group(1))
            ranges.append((first, int(m.group(2) or first)))
    if not ranges:
        return set()
    if poles == {"start"}:
        return {min(first for first, _ in ranges)}
    if poles == {"end"}:
        return {max(last for _, last in ranges)}
    return {day for first, last in ranges for day in range(first, last + 1)}


def verdict(
    belief: Belief, entry: Entry, kb: KnowledgeBase, poles: frozenset[str]
) -> tuple[bool | None, dt.date | None]:
    """Whether ``entry`` bears out ``belief`` (None: it does not say), and the true date when the
    belief is about a day the entry gives a single one of."""
    english = entry_text(entry, kb, "en").casefold()
    texts = " ".join(normalise(entry_text(entry, kb, lang), None) for lang in LANGS)
    checks: list[bool] = []
    true_day = None
    if belief.days:
        stated = _stated_days(entry, kb, english, poles)
        if stated:
            checks.append(belief.days <= stated)
            if len(stated) == 1:
                true_day = kb.event.start_date.replace(day=next(iter(stated)))
    if belief.years:
        stated_years = {int(y) for y in _YEAR.findall(english)}
        if stated_years:
            checks.append(belief.years <= stated_years)
    if belief.numbers:
        stated_numbers = {int(n.replace(",", "")) for n in _NUMBER.findall(english)}
        if stated_numbers:
            checks.append(belief.numbers <= stated_numbers)
    if belief.places and not all(place in texts for place in belief.places):
        # A place the entry does not name is not where the thing is; one it names may be a neighbour
        # ("where Zhejiang meets Jiangsu"), so its naming confirms nothing.
        checks.append(False)
    if not checks:
        return None, None
    return all(checks), true_day
