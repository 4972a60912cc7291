"""What kind of thing a question asks for, what an entry states, and what an entry says is unpublished.

The kinds (a date, a clock time, a place, a person, a number, a price, a way to get there, a complete
list) are recognised by the regular expressions in ``kinds.yaml``. The answer decision uses whether the
best entry states what was asked (a question about a price answered with a head count is likely the
wrong entry), and an entry that says a fact is not published turns into a ``gap`` when the question
asks only for that fact.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

from index.composer import entry_text
from index.files import read_yaml
from index.knowledge import KnowledgeBase
from index.language import HAN_SCRIPT, THAI_SCRIPT
from index.mixing import bridged
from index.numerals import canonical_places
from index.schema import Entry, Session
from index.textproc import normalise
from index.types import Lang

KINDS_FILE = Path(__file__).with_name("kinds.yaml")
KINDS: tuple[str, ...] = ("when", "time", "where", "who", "count", "price", "route", "list", "english")
_LATIN_PHRASE = re.compile(r"[A-Za-z]+(?:[ ,\-—]+[A-Za-z]+){4,}")
"""Five or more Latin words in a row: an English wording quoted in Chinese or Thai text."""
ALL = "all"
"""An entry whose whole point is that something is not published."""


_SCRIPTS: dict[Lang, re.Pattern[str]] = {"zh": HAN_SCRIPT, "th": THAI_SCRIPT}
"""The scripts whose words in an English question make it read with that language's patterns too."""
_SCRIPT_JOIN = re.compile(r"(?<=[a-z])(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])(?=[a-z])")


def _spaced(text: str) -> str:
    """``text`` normalised, with a space where Latin letters meet Thai or Chinese ones ("มีwifiฟรี" ->
    "มี wifi ฟรี"), so English patterns find English words inside a Thai or Chinese question."""
    return _SCRIPT_JOIN.sub(" ", normalise(text))


@cache
def _patterns() -> tuple[dict[str, dict[str, list[re.Pattern[str]]]], dict[str, list[re.Pattern[str]]]]:
    raw = read_yaml(KINDS_FILE)
    asked = {
        kind: {lang: [re.compile(p) for p in pats] for lang, pats in raw["asked"][kind].items()}
        for kind in KINDS
    }
    stated = {kind: [re.compile(p) for p in raw["stated"][kind]] for kind in KINDS}
    return asked, stated


@cache
def pattern_words() -> frozenset[str]:
    """The English words (three letters or more) the kind, uncovered and pole patterns look for: a
    question using them is spelt right even when the knowledge base never uses them."""
    raw = read_yaml(KINDS_FILE)
    words: set[str] = set()
    for section in ("asked", "uncovered", "poles"):
        for by_lang in (raw.get(section) or {}).values():
            for pattern in by_lang.get("en", ()):
                words.update(re.findall(r"(?<!\\)[a-z]{3,}", pattern))
    return frozenset(words)


@cache
def _section(name: str) -> dict:
    """A section of ``kinds.yaml`` whose keys (a kind, a pole, a year offset, a priced subject) hold
    patterns per language, compiled."""
    raw = read_yaml(KINDS_FILE).get(name) or {}
    if name == "pole_references":  # one key: patterns by language
        raw = {"reference": raw}
    return {
        int(key) if name == "relative_years" else key: {
            lang: [re.compile(p) for p in pats] for lang, pats in by_lang.items()
        }
        for key, by_lang in raw.items()
    }


@cache
def _joined(section: str, lang: Lang) -> tuple[tuple, ...]:
    """For each key of a section (a kind, a pole, a year offset), one pattern matching where any of its
    patterns for ``lang`` (and English, for a Thai or Chinese question) matches: one search instead of
    one per pattern. Keys without patterns are left out (they never match)."""
    by_key = {kind: _patterns()[0][kind] for kind in KINDS} if section == "asked" else _section(section)
    langs = (lang,) if lang == "en" else (lang, "en")
    joined = []
    for key, patterns in by_key.items():
        sources = [p.pattern for lg in langs for p in patterns.get(lg, ())]
        if sources:
            joined.append((key, re.compile("|".join(f"(?:{source})" for source in sources))))
    return tuple(joined)


def relative_years(question: str, lang: Lang, year: int) -> set[int]:
    """Other years the question names relative to ``year`` ("next year" -> year + 1); see
    ``relative_years`` in ``kinds.yaml`` (offset 0, "this year", is the event's own and left out)."""
    text = _spaced(question)
    return {
        year + offset
        for offset, pattern in _joined("relative_years", lang)
        if offset and pattern.search(text)
    }


def without_this_year(question: str, lang: Lang) -> str:
    """``question`` without the words naming the event's own year ("this year", "今年", "ปีนี้"; offset
    0 in ``relative_years``): every entry is about it, so they say nothing about which one is meant."""
    for offset, pattern in _joined("relative_years", lang):
        if offset == 0:
            stripped = " ".join(pattern.sub(" ", _spaced(question)).split())
            return stripped if any(ch.isalpha() for ch in stripped) else question
    return question


def uncovered_kinds(question: str, lang: Lang) -> frozenset[str]:
    """Kinds of thing the question asks for that no entry states (booking, registration, a fee to
    attend, a dress code, facilities on site); see ``uncovered`` in ``kinds.yaml``."""
    text = _spaced(question)
    return frozenset(kind for kind, pattern in _joined("uncovered", lang) if pattern.search(text))


def poles(text: str, lang: Lang) -> frozenset[str]:
    """Which ends of an event (``start``, ``end``) ``text`` speaks of; see ``poles`` in ``kinds.yaml``.
    An end named only as a point in time for something else ("the press conference before the summit
    opened", "开幕之前") does not count."""
    text = _spaced(text)
    for _, reference in _joined("pole_references", lang):
        text = reference.sub(" ", text)
    return frozenset(pole for pole, pattern in _joined("poles", lang) if pattern.search(text))


def price_subjects(text: str, lang: Lang) -> frozenset[str]:
    """What ``text`` names that a price may be asked of (a hotel, a taxi, a meal); see ``priced`` in
    ``kinds.yaml``."""
    text = _spaced(text)
    return frozenset(subject for subject, pattern in _joined("priced", lang) if pattern.search(text))


_MONEY = re.compile(r"¥\s*\d|\d\s*(yuan|cny|rmb)\b|\b(cny|rmb)\s*\d", re.IGNORECASE)
_FREE = re.compile(r"\bfree\b", re.IGNORECASE)
_PRICE_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n\n+")
FREE_NEAR = 2
"""Words either side of "free" a subject must stand within to be what is free ("the free electric
cart", "ride the cart for free"; not the hotels whose guests ride it)."""


def priced_subjects(entry: Entry, kb: KnowledgeBase) -> frozenset[str]:
    """What the entry's English answer gives a price of: subjects named in a sentence with an amount of
    money, or next to "free"; for a route with a cost, its way of travelling (see ``priced``)."""
    found: set[str] = set()
    text = entry_text(entry, kb, "en")
    for sentence in _PRICE_SENTENCE.split(text):
        if _MONEY.search(sentence):
            found |= price_subjects(sentence, "en")
        for free in _FREE.finditer(sentence):
            words_before = sentence[: free.start()].split()[-FREE_NEAR:]
            words_after = sentence[free.end() :].split()[:FREE_NEAR]
            found |= price_subjects(" ".join([*words_before, *words_after]), "en")
    return frozenset(found)


def asked_kinds(question: str, lang: Lang) -> frozenset[str]:
    """The kinds of thing ``question`` asks for (empty when none is recognised).

    A code-mixed question is read in every language it uses: English patterns are also tried on Thai
    and Chinese questions, Chinese and Thai ones on an English question with Chinese or Thai words, and
    the patterns of the question's language are also tried on the question with its foreign words taken
    out ("ไป venue ยังไงดี" read as "ไปยังไงดี", how to get there; see :func:`index.mixing.bridged`).
    """
    return _asked_in(normalise(question), lang)


@lru_cache(maxsize=8)
def _asked_in(folded: str, lang: Lang) -> frozenset[str]:
    """:func:`asked_kinds` of a question normalised as ``folded``, all it depends on. The last few are
    kept: a question is read for them in several forms, some of which normalise alike."""
    text = _SCRIPT_JOIN.sub(" ", folded)  # as _spaced
    texts = {text, bridged(folded, lang)}
    langs = [lang, *(other for other, script in _SCRIPTS.items() if other != lang and script.search(text))]
    found: set[str] = set()
    for other in langs:
        for kind, pattern in _joined("asked", other):
            if kind not in found and any(pattern.search(t) for t in texts):
                found.add(kind)  # (a kind found in one language is not looked for in the next)
    return frozenset(found)


def _places(kb: KnowledgeBase) -> re.Pattern[str]:
    """The places the knowledge names, in English, as whole words: the place names of
    ``place_names.yaml``, the venues and the ends of the routes."""
    names = {name for name in canonical_places() if name.isascii()}
    names.update(venue.name.en for venue in kb.venues)
    names.update(end.en for route in kb.routes for end in (route.origin, route.destination))
    words = sorted((re.escape(n.lower()) for n in names if n), key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(words)})\b")


def stated_kinds(entry: Entry, kb: KnowledgeBase) -> frozenset[str]:
    """The kinds of thing an entry's English answer states (a date, a place, a number, ...)."""
    _, stated = _patterns()
    text = entry_text(entry, kb, "en")
    lower = text.lower()
    found = set()
    for kind, patterns in stated.items():
        if any(p.search(text if "[A-Z]" in p.pattern else lower) for p in patterns):
            found.add(kind)
    if _places(kb).search(lower):
        found.add("where")  # names a place the knowledge knows
    if entry.people or getattr(entry, "speakers", None):
        found.add("who")  # names people or organisations (a capitalised pair of words may be a place)
    if any(_LATIN_PHRASE.search(entry_text(entry, kb, lang)) for lang in ("zh", "th")):
        found.add("english")  # gives the English wording of a name or title in its Chinese and Thai text
    return frozenset(found - unpublished_kinds(entry))


def unpublished_kinds(entry: Entry) -> frozenset[str]:
    """What the entry says is not published: its ``unpublished`` list, and for a session a missing
    date, time or venue."""
    kinds = set(entry.unpublished)
    if isinstance(entry, Session):
        if entry.date is None:
            kinds.add("when")
        if entry.start is None:
            kinds.add("time")
        if entry.venue is None and entry.room is None:
            kinds.add("where")
    return frozenset(kinds)


def is_gap(asked: frozenset[str], unpublished: frozenset[str]) -> bool:
    """True when the entry answers the question only with "not published": the whole entry is about
    something unpublished, or everything the question asks for is unpublished in it."""
    return ALL in unpublished or (bool(asked) and asked <= unpublished)
