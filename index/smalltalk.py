"""Recognising small talk (greetings, thanks, goodbyes, "who are you", "help") and replying to it.

A message is small talk only when all of it is: after normalisation, with punctuation and emoji
removed, it must split completely into phrases of ``smalltalk.yaml`` and filler words ("bot",
"ครับ", "啊"). One word outside them makes it a question, so "hi, where is the summit?" goes to the
engine. Latin words one typo away from a listed word count as that word ("helo", "thnaks"), and a
letter repeated three or more times counts once ("hiii", "ครับบบ").

The phrases and the replies are data (``smalltalk.yaml``); the reply is in the language the message is
written in (the caller's fallback when the text does not tell, e.g. a lone "👋").
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from index.files import read_yaml
from index.language import detect_language
from index.textproc import QUESTION_WORDS, normalise, word_ends
from index.types import LANGS, Lang

SMALLTALK_FILE = Path(__file__).with_name("smalltalk.yaml")
MAX_CHARS = 80
"""Longer messages are never small talk (and cost nothing to rule out)."""
_FILLER = "filler"
_REPEATS = re.compile(r"([^\W\d_])\1{2,}|([\u0e01-\u0e4e])\2+(?= |$)")
"""A letter written three or more times ("hiii"), or a Thai letter doubled at the end of a word
("ครับบ"; inside Thai text a double is often two words meeting, as in "ลาก่อนนะ")."""
_LATIN_WORD = re.compile(r"[a-z]+")
_MIN_FUZZY = 4
"""Latin words of at least this many letters may be one typo away from a listed word."""
_FIXES_KEPT = 20_000
"""Words whose typo fix is kept before the store starts again."""


@dataclass(frozen=True)
class SmallTalk:
    """What a small-talk message was (``greeting``, ``thanks``, ``goodbye``, ``about``, ``acknowledge``)
    and the reply to it."""

    intent: str
    language: Lang
    reply: str


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class SmallTalkDetector:
    """Matches whole messages against the small-talk phrases of every language."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._order: list[str] = list(data["order"])
        self._replies: dict[str, dict[Lang, str]] = data["replies"]
        self._phrases: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._symbols: dict[str, str] = {}
        vocabulary: set[str] = set()
        groups: list[tuple[str, dict[str, list[str]]]] = [(_FILLER, data["filler"])]
        groups += [(intent, by_lang) for intent, by_lang in data["intents"].items()]
        for intent, by_lang in groups:
            for phrases in by_lang.values():
                for raw in phrases:
                    if not isinstance(raw, str):  # e.g. an unquoted yes/no, which YAML reads as a boolean
                        raise ValueError(f"{SMALLTALK_FILE.name}: {intent}: {raw!r} is not text; quote it")
                    phrase = self._clean(normalise(raw, limit=None, places=False))
                    if not phrase:
                        continue
                    self._phrases[phrase[0]].append((phrase, intent))
                    if intent != _FILLER:
                        vocabulary.update(_LATIN_WORD.findall(phrase))
        for intent, symbols in data["symbols"].items():
            for symbol in symbols:
                self._symbols[normalise(symbol, limit=None, places=False)] = intent
        for first in self._phrases:
            # Longest first; between equal phrases an intent before filler ("帮助" is both).
            self._phrases[first].sort(key=lambda item: (-len(item[0]), item[1] == _FILLER))
        self._vocabulary = frozenset(vocabulary)
        self._fuzzy_choices = sorted(w for w in vocabulary if len(w) >= _MIN_FUZZY)
        self._fixes: dict[str, str] = {}
        """Words already looked up, with their fix: people use the same few thousand words."""
        for intent in self._order:
            missing = [lang for lang in LANGS if not self._replies.get(intent, {}).get(lang)]
            if missing:
                raise ValueError(f"{SMALLTALK_FILE.name}: no reply for {intent!r} in {missing}")

    @classmethod
    @cache
    def default(cls) -> SmallTalkDetector:
        return cls(read_yaml(SMALLTALK_FILE))

    @staticmethod
    def _clean(text: str) -> str:
        """Normalised ``text`` with punctuation and symbols as spaces and repeated letters shortened."""
        kept = "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in text)
        return " ".join(_REPEATS.sub(lambda m: m.group(1) or m.group(2), kept).split())

    def _fix_typos(self, text: str) -> str:
        return _LATIN_WORD.sub(lambda match: self._fixed(match.group()), text)

    def _fixed(self, word: str) -> str:
        """``word``, or the small-talk word one edit away from it ("thnaks" -> "thanks")."""
        found = self._fixes.get(word)
        if found is None:
            found = word
            if len(word) >= _MIN_FUZZY and word not in self._vocabulary and word not in QUESTION_WORDS:
                best = process.extractOne(
                    word, self._fuzzy_choices, scorer=DamerauLevenshtein.distance, score_cutoff=1
                )
                found = best[0] if best else word
            if len(self._fixes) >= _FIXES_KEPT:
                self._fixes.clear()
            self._fixes[word] = found
        return found

    def _segment(self, text: str) -> list[str] | None:
        """The intents of a split of all of ``text`` into phrases (filler left out), or None."""
        back = self._splits(text)
        if back[len(text)] is None and text:
            return None
        return _intents(back, len(text))

    def _splits(self, text: str) -> list[tuple[int, str] | None]:
        """For each position of ``text``, how a split of ``text`` up to it into phrases ends there (where
        the last phrase starts, and its intent), or None when no split reaches it."""
        size = len(text)
        back: list[tuple[int, str] | None] = [None] * (size + 1)
        reached = [False] * (size + 1)
        reached[0] = True
        for i in range(size):
            if not reached[i]:
                continue
            if text[i] == " ":
                if not reached[i + 1]:
                    reached[i + 1], back[i + 1] = True, (i, _FILLER)
                continue
            if i > 0 and _is_latin(text[i]) and _is_latin(text[i - 1]):
                continue  # a Latin phrase starts at a word boundary
            for phrase, intent in self._phrases.get(text[i], ()):
                end = i + len(phrase)
                if end > size or reached[end] or not text.startswith(phrase, i):
                    continue
                if _is_latin(phrase[-1]) and end < size and _is_latin(text[end]):
                    continue  # ... and ends at one
                reached[end], back[end] = True, (i, intent)
        return back

    def after_lead(self, question: str) -> list[str]:
        """What follows the small talk a message opens with ("thanks! and who spoke?", "ok how much is
        it", "ขอบคุณค่ะ แล้ว..."): the rests after each way the small talk may end, shortest first
        ("how much is it", then "and how much is it" when "and" may be filler); empty when the message
        does not open with small talk. The rests are normalised, without punctuation."""
        if len(question) > MAX_CHARS * 4:
            return []
        cleaned = self._clean(normalise(question, limit=MAX_CHARS * 4, places=False))
        fixed = self._fix_typos(cleaned)
        back = self._splits(fixed)
        words, fixed_words = cleaned.split(" "), fixed.split(" ")
        rests = []
        for end in range(len(fixed) - 1, 0, -1):
            if back[end] is None or (_is_latin(fixed[end]) and _is_latin(fixed[end - 1])):
                continue
            if not _intents(back, end):
                continue  # only filler before it
            index = fixed[:end].count(" ")
            offset = end - (fixed.rfind(" ", 0, end) + 1)
            if offset and (fixed_words[index] != words[index] or offset not in word_ends(words[index])):
                continue  # inside a word ("行程" does not open with "行"), or one the typo fixes changed
            rest = " ".join([words[index][offset:], *words[index + 1 :]]).strip()
            if rest:
                rests.append(rest)
        return list(dict.fromkeys(rests))

    def match(self, question: str, fallback: Lang = "en") -> SmallTalk | None:
        """The small talk ``question`` is, with its reply; None when it is (or may be) a real question."""
        if len(question) > MAX_CHARS * 4:
            return None
        folded = normalise(question, limit=MAX_CHARS * 2, places=False)
        if len(folded) > MAX_CHARS:
            return None
        intents: list[str] = []
        for symbol, intent in self._symbols.items():
            if symbol in folded:
                intents.append(intent)
                folded = folded.replace(symbol, " ")
        found = self._segment(self._fix_typos(self._clean(folded)))
        if found is None:
            return None
        intents += found
        if not intents:
            return None
        intent = next(i for i in self._order if i in intents)
        lang = detect_language(question, fallback)
        return SmallTalk(intent, lang, self._replies[intent][lang])


def _intents(back: list[tuple[int, str] | None], end: int) -> list[str]:
    """The intents of the split of ``_splits`` that reaches ``end``, in order (filler left out)."""
    intents: list[str] = []
    at = end
    while at > 0:
        step = back[at]
        assert step is not None
        at, intent = step
        if intent != _FILLER:
            intents.append(intent)
    return intents[::-1]


def after_small_talk(question: str) -> list[str]:
    """What follows the small talk ``question`` opens with (see :meth:`SmallTalkDetector.after_lead`)."""
    return SmallTalkDetector.default().after_lead(question)


def small_talk(question: str, fallback: Lang = "en") -> SmallTalk | None:
    """Small talk in ``question`` with its reply, or None (see :class:`SmallTalkDetector`)."""
    return SmallTalkDetector.default().match(question, fallback)
