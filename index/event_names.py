"""The names of events and forums a question speaks of, read next to the words that say "an event"
(``nouns`` in ``events.yaml``): "Boao Forum", "算力网络论坛", "ฟอรัมความปลอดภัยไซเบอร์".

English names stand before the noun (and after "forum on ..."), Chinese ones before it, Thai ones after
it; a name stops at a word that asks or points (``breaks``) and words that name no particular event
(``generic``: the main forum, 分论坛, ฟอรัมย่อย) are left out. Whether the knowledge describes such an
event is for :class:`KnownEvents` to say: a name matches when it is found, fuzzily, in a name, alias,
title or keyword of one entry, in any language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from itertools import takewhile
from pathlib import Path

from rapidfuzz import fuzz

from index.files import read_yaml
from index.knowledge import KnowledgeBase
from index.language import HAN_SCRIPT
from index.schema import Event, Fact, Session, Venue
from index.textproc import normalise, thai_segments
from index.types import LANGS, Lang

EVENTS_FILE = Path(__file__).with_name("events.yaml")
WORD_MATCH = 85.0
"""Similarity (0..100) at which a word of an English name is the same as a word of a known name."""
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_LATIN_RUN = re.compile(r"[a-z0-9'\-]+(?: [a-z0-9'\-]+)*")
"""Latin words separated by single spaces only."""
_HAN_NUMERALS = re.compile(r"^[0-9〇零一二三四五六七八九十百千]+")
_HAN_HEAD = 3
"""The last characters of a Chinese name that must be found in a known name."""
THAI_WORD = 4
"""Thai words shorter than this (particles, short syllables) do not decide whether a name is known."""
_POSSESSIVE = re.compile(r"'s$")
_AFTER = ("on", "of")
"""English words after which a name follows the noun ("forum on ...")."""
_MAX_WORDS = 4


@cache
def _table() -> dict[str, dict[Lang, tuple[str, ...]]]:
    raw = read_yaml(EVENTS_FILE)
    return {
        part: {lang: tuple(normalise(str(w), limit=None) for w in raw[part][lang]) for lang in LANGS}
        for part in ("nouns", "generic", "breaks", "short", "about")
    }


def _english(text: str) -> Iterable[str]:
    """The words just before the noun ("Boao Forum", "World AI Conference"), or after "on" ("forum on
    quantum computing"), nearest first, as one name. Only words next to each other count (a Thai or
    Chinese word, or punctuation, between them breaks the name)."""
    table = _table()
    nouns, generic, breaks = (set(table[p]["en"]) for p in ("nouns", "generic", "breaks"))
    for run in _LATIN_RUN.findall(text):
        words = [_POSSESSIVE.sub("", w).strip("'-") for w in run.split()]
        for i, word in enumerate(words):
            if word not in nouns:
                continue
            near = list(reversed(words[max(0, i - _MAX_WORDS) : i]))
            if i + 1 < len(words) and words[i + 1] in _AFTER:
                near = words[i + 2 : i + 2 + _MAX_WORDS]
            name: list[str] = []
            for other in near:
                if not other or other in breaks or other in nouns:
                    break
                if other not in generic and not other.isdigit():
                    name.append(other)
            if name:
                yield " ".join(name)


def _chinese(text: str) -> Iterable[str]:
    """The Han characters before the noun, up to a break, without generic words and numerals."""
    table = _table()
    nouns = sorted(table["nouns"]["zh"], key=len, reverse=True)
    cuts = sorted({*table["breaks"]["zh"], *nouns}, key=len, reverse=True)
    generic = sorted(table["generic"]["zh"], key=len, reverse=True)
    short = set(table["short"]["zh"])
    for found in re.finditer("|".join(map(re.escape, nouns)), text):
        start = found.start()
        while start > 0 and HAN_SCRIPT.match(text[start - 1]):
            start -= 1
        name = text[start : found.start()]
        for cut in cuts:
            at = name.rfind(cut)
            if at >= 0:
                name = name[at + len(cut) :]
        name = _HAN_NUMERALS.sub("", name)
        stripped = True
        while stripped and name:
            stripped = False
            for word in generic:
                if name.startswith(word):
                    name, stripped = name[len(word) :], True
                elif name.endswith(word):
                    name, stripped = name[: -len(word)], True
        if len(name) >= 2:
            yield name[-_HAN_HEAD:]
        elif name and found.group() in short:
            yield name + found.group()


def _thai(text: str) -> Iterable[str]:
    """The words after the noun in the same run (Thai separates clauses with a space), or the Latin words
    after it when the noun ends its run ("ฟอรัม GDI"), up to a break; none when a generic word follows
    the noun (ฟอรัมย่อย)."""
    table = _table()
    nouns, generic, breaks, about = (set(table[p]["th"]) for p in ("nouns", "generic", "breaks", "about"))
    runs = text.split()
    for r, run in enumerate(runs):
        words = [w for w in thai_segments(run) if w.strip()]
        for i, word in enumerate(words):
            if word not in nouns:
                continue
            following = words[i + 1 :]
            if not following:
                following = list(takewhile(str.isascii, runs[r + 1 :]))
            while following and following[0] in about:
                following = following[1:]
            if following and following[0] in generic:
                continue
            name: list[str] = []
            for after in following:
                if after in breaks or after in nouns or not any(ch.isalnum() for ch in after):
                    break
                name.append(after)
            if name and len("".join(name)) >= 2:
                yield " ".join(name)


def event_names(text: str) -> tuple[str, ...]:
    """The names of events or forums ``text`` speaks of (see the module's docstring)."""
    text = normalise(text)
    return tuple(dict.fromkeys([*_english(text), *_chinese(text), *_thai(text)]))


def _entry_names(kb: KnowledgeBase) -> Iterable[list[str]]:
    """Per entry, every name, alias, title and keyword it has, in every language."""
    for entry in kb.entries():
        texts: list[str] = []
        match entry:
            case Event():
                texts += [entry.name.get(lg) for lg in LANGS] + [entry.short_name.get(lg) for lg in LANGS]
            case Session() | Fact():
                texts += [entry.title.get(lg) for lg in LANGS]
            case Venue():
                texts += [entry.name.get(lg) for lg in LANGS]
                texts += [a for lg in LANGS for a in entry.aliases.get(lg)]
        keywords = getattr(entry, "keywords", None)
        if keywords is not None:
            texts += [k for lg in LANGS for k in keywords.get(lg)]
        yield [normalise(t, limit=None) for t in texts if t]


class KnownEvents:
    """Whether a name read by :func:`event_names` is one the knowledge gives (see the module's
    docstring)."""

    def __init__(self, kb: KnowledgeBase, texts: Iterable[str]) -> None:
        entries = list(_entry_names(kb))
        self._text_words = frozenset(w for t in texts for w in _LATIN_WORD.findall(normalise(t, limit=None)))
        """Every Latin word the knowledge's answers use."""
        self._names = [name for names in entries for name in names]
        self._entry_words = [frozenset(_LATIN_WORD.findall(" ".join(names))) for names in entries]
        self._name_words = frozenset().union(*self._entry_words)

    def known(self, name: str) -> bool:
        """An English name is known when one entry's names have its word next to the noun and every
        other word of it that is a word of some name (one typo allowed), or when it is a single word the
        knowledge's answers use (a word like "pre" or "past" is no event's name); a Chinese head
        when a known name contains it; a Thai name when one of its words of at least ``THAI_WORD``
        characters is found in a known name."""
        if name.isascii():
            head, *rest = name.split()
            words = [head, *(w for w in rest if self._has_word(w, self._name_words))]
            if len(words) == 1 and self._has_word(head, self._text_words):
                return True
            return any(all(self._has_word(w, known) for w in words) for known in self._entry_words)
        if " " in name or not HAN_SCRIPT.match(name[0]):
            words = [w for w in name.split() if len(w) >= THAI_WORD or w.isascii()] or [name.replace(" ", "")]
            return any(w in known for w in words for known in self._names)
        return any(name in known for known in self._names)

    @staticmethod
    def _has_word(word: str, known: frozenset[str]) -> bool:
        if word in known:
            return True
        return len(word) > 3 and any(fuzz.ratio(word, k) >= WORD_MATCH for k in known)

    def unknown(self, names: Iterable[str]) -> tuple[str, ...]:
        """The names the knowledge does not give."""
        return tuple(name for name in names if not self.known(name))
