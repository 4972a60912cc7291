"""Fuzzy lookup of names (sessions, venues, places, people) inside a question, in any language.

Names and questions go through :func:`index.textproc.normalise` (which keeps Thai vowel and tone
marks, unlike rapidfuzz's default processor) with punctuation turned into spaces. Then:

* a name of fewer than ``SHORT_NAME`` characters ("AI", "5G", "乌镇", "桐乡站") matches only exactly:
  as a whole word when it has Latin letters or digits (so "AI" is not found in "said"), as a
  substring otherwise (Thai and Chinese do not separate words with spaces);
* a longer name no longer than the question is looked for inside it: ``fuzz.partial_ratio`` finds
  the best-matching stretch of the question, which tolerates a typo or a missing tone mark;
* a name longer than the question is compared with the whole question (``fuzz.ratio``), so a
  question that is a slightly misspelt name matches, but a word that is only part of many names
  ("forum") does not.

A name with Latin letters or digits is then scored on whole words: the matched stretch is widened to
word boundaries and compared with the name by Damerau-Levenshtein similarity (one typo or swapped pair
costs one edit), so "wuzhen" is found in "wuzen?" but not in "when".
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from index.textproc import QUERY_LIMIT, normalise

SHORT_NAME = 4
"""Names shorter than this (in normalised characters) must occur exactly."""

_PUNCTUATION_BLOCKS = (range(0x2E80), range(0x3000, 0x3040), range(0xFE10, 0xFE70), range(0xFF00, 0xFF66))
_PUNCTUATION = {
    code: " "
    for block in _PUNCTUATION_BLOCKS
    for code in block
    if unicodedata.category(chr(code)).startswith("P")
}
"""Punctuation becomes a space; the blocks scanned hold all the punctuation a question may contain."""

_LATIN_OR_DIGIT = re.compile(r"[0-9a-z\u00c0-\u024f]")
_SPACES = re.compile(r" {2,}")


def _clean(text: str, limit: int | None) -> str:
    return _SPACES.sub(" ", normalise(text, limit).translate(_PUNCTUATION)).strip()


def _word_span(text: str, start: int, end: int) -> str:
    """``text[start:end]`` widened to the Latin words it touches."""
    while start > 0 and _LATIN_OR_DIGIT.match(text[start - 1]):
        start -= 1
    while end < len(text) and _LATIN_OR_DIGIT.match(text[end]):
        end += 1
    return text[start:end].strip()


def _word_score(name: str, text: str) -> float:
    """Similarity (0..100) of a Latin name to the whole words of ``text`` that match it best."""
    if len(name) <= len(text):
        found = fuzz.partial_ratio_alignment(name, text)
        text = _word_span(text, found.dest_start, found.dest_end)
    return DamerauLevenshtein.normalized_similarity(name, text) * 100.0


class NameMatcher:
    """Finds which of a fixed set of named entries a question mentions."""

    def __init__(self, names: Sequence[tuple[str, str]]) -> None:
        self._exact_words: list[tuple[str, re.Pattern[str]]] = []
        self._exact_substrings: list[tuple[str, str]] = []
        fuzzy: list[tuple[str, str]] = []
        for entry_id, name in names:
            clean = _clean(name, limit=None)
            if not clean:
                continue
            if len(clean) >= SHORT_NAME:
                fuzzy.append((clean, entry_id))
            elif _LATIN_OR_DIGIT.search(clean):
                word = re.compile(rf"(?<![0-9a-z]){re.escape(clean)}(?![0-9a-z])")
                self._exact_words.append((entry_id, word))
            else:
                self._exact_substrings.append((entry_id, clean))
        fuzzy.sort(key=lambda pair: len(pair[0]))
        self._names = [name for name, _ in fuzzy]
        self._ids = [entry_id for _, entry_id in fuzzy]
        self._latin = [bool(_LATIN_OR_DIGIT.search(name)) for name in self._names]
        self._lengths = [len(name) for name in self._names]
        alphabet = sorted({ch for name in self._names for ch in name})
        self._columns = {ch: i for i, ch in enumerate(alphabet)}
        self._char_counts = np.zeros((len(alphabet), len(self._names)), dtype=np.int32)
        for position, name in enumerate(self._names):
            for ch in name:
                self._char_counts[self._columns[ch], position] += 1
        """How often each character occurs in each name (a row per character)."""
        self._name_lengths = np.asarray(self._lengths, dtype=np.float64)

    def match(self, query: str, k: int = 5, min_score: float = 80.0) -> list[tuple[str, float]]:
        """Entries the question names, each with its best score (0..100), best first, at most ``k``."""
        text = _clean(query, QUERY_LIMIT)
        if not text:
            return []
        best: dict[str, float] = {}
        for entry_id, word in self._exact_words:
            if word.search(text):
                best[entry_id] = 100.0
        for entry_id, name in self._exact_substrings:
            if name in text:
                best[entry_id] = 100.0
        cut = bisect_right(self._lengths, len(text))
        reach = self._may_reach(text, min_score)
        inside = self._candidates(text, [p for p in reach if p < cut], fuzz.partial_ratio, min_score)
        whole = self._candidates(text, [p for p in reach if p >= cut], fuzz.ratio, min_score)
        for position, score in inside + whole:
            if self._latin[position]:
                score = _word_score(self._names[position], text)
            entry_id = self._ids[position]
            if score >= min_score and score > best.get(entry_id, -1.0):
                best[entry_id] = score
        ranked = sorted(best.items(), key=lambda item: -item[1])
        return ranked[:k]

    def _candidates(
        self, text: str, positions: list[int], scorer: Callable[..., float], min_score: float
    ) -> list[tuple[int, float]]:
        found = process.extract(
            text, [self._names[p] for p in positions], scorer=scorer, score_cutoff=min_score, limit=None
        )
        return [(positions[i], score) for _, score, i in found]

    def _may_reach(self, text: str, min_score: float) -> list[int]:
        """The positions of the names that can score ``min_score`` against ``text``, in order.

        Both scorers are 200 * L / (len(name) + len(stretch)) for the longest common subsequence L of
        the name and a stretch of the text (the whole text for ``fuzz.ratio``), and L is at most the
        number of characters the name and the text have in common; with L <= len(stretch) that
        bounds the score from above, so names sharing too few characters are not scored at all.
        """
        counts: dict[str, int] = {}
        for ch in text:
            counts[ch] = counts.get(ch, 0) + 1
        rows = [(self._columns[ch], n) for ch, n in counts.items() if ch in self._columns]
        if rows:
            block = self._char_counts[[row for row, _ in rows]]
            limit = np.asarray([n for _, n in rows], dtype=np.int32)[:, None]
            shared = np.minimum(block, limit).sum(axis=0).astype(np.float64)
        else:
            shared = np.zeros(len(self._names))
        # score <= 200 * L / (len(name) + L) <= 200 * shared / (len(name) + shared); a margin of one
        # point keeps rounding inside the scorers from mattering.
        bound = 200.0 * shared / (self._name_lengths + shared)
        return np.flatnonzero(bound >= min_score - 1.0).tolist()
