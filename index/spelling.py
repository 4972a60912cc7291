"""Fixing typos in the Latin-script words of a question before it is searched.

A word the knowledge base never uses ("confrence", "Tongxaing", "wen") is replaced by the closest word
it does use that starts with the same letter, when one is close enough. Short words (three or four
letters) are only corrected towards question words ("wen" -> "when"), where a wrong guess would
otherwise be likely. Thai and Chinese text is left as it is: their retrievers already match parts of
words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

from index.shorthand import expand_shorthand
from index.textproc import QUESTION_WORDS, normalise

_WORD = re.compile(r"[a-z]+")
_LONG_CUTOFF = 85.0
_SHORT_CUTOFF = 80.0
_MIN_LONG = 5


def _by_first_letter(words: list[str]) -> dict[str, list[str]]:
    """``words`` grouped by their first letter, each group in the order of ``words``."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word)
    return groups


class SpellFixer:
    """Corrects question words against the vocabulary of the knowledge base."""

    def __init__(self, texts: Iterable[str], keep: Iterable[str] = ()) -> None:
        """``texts``: the knowledge base's passages; ``keep``: other words that are right as written
        (the words the question kinds look for, such as "weather" or "halal", which the knowledge base
        never uses and which must not be "corrected" into words it does use)."""
        vocabulary: set[str] = set()
        for text in texts:
            vocabulary.update(_WORD.findall(normalise(text, limit=None)))
        question_words = sorted(w for w in QUESTION_WORDS if w.isascii())
        known = vocabulary | set(question_words)
        # A typo rarely hits the first letter; requiring it keeps real words ("reach") from being
        # "corrected" into different ones ("each"). So the choices are grouped by their first letter.
        self._question_words = _by_first_letter(question_words)
        self._long_words = _by_first_letter(sorted(w for w in known if len(w) >= _MIN_LONG - 1))
        self.vocabulary = frozenset(known | set(keep))  # kept as written, never a correction
        self._last: tuple[str | None, str] = (None, "")
        """The last text corrected, with its correction."""

    def _fix(self, word: str) -> str:
        if len(word) < 3 or word in self.vocabulary:
            return word
        if len(word) >= _MIN_LONG:
            choices, cutoff = self._long_words, _LONG_CUTOFF
        else:
            choices, cutoff = self._question_words, _SHORT_CUTOFF
        same_start = choices.get(word[0], ())
        best = process.extractOne(word, same_start, scorer=fuzz.ratio, score_cutoff=cutoff)
        if best:
            return best[0]
        # Two neighbouring letters swapped ("frist", "hwo") are one slip, though they count as two
        # edits in the ratio.
        allowed = self.vocabulary if len(word) >= _MIN_LONG else self._question_words.get(word[0], ())
        for i in range(1, len(word) - 1):
            swapped = f"{word[:i]}{word[i + 1]}{word[i]}{word[i + 2 :]}"
            if swapped in allowed and swapped != word:
                return swapped
        return word

    def knows(self, word: str) -> bool:
        """True when ``word`` (lower case) is a word the knowledge or the question patterns use, or a
        misspelling of one."""
        return word in self.vocabulary or self._fix(word) != word

    def correct(self, text: str) -> str:
        """``text`` with chat shorthand written out ("pls", "govt", "咋"; see :mod:`index.shorthand`) and
        misspelt Latin words replaced; unchanged when nothing needed either."""
        last = self._last
        if last[0] == text:  # asked again for the question being answered
            return last[1]
        folded = normalise(text)
        fixed = _WORD.sub(lambda m: self._fix(m.group()), expand_shorthand(folded))
        found = text if fixed == folded else fixed
        self._last = (text, found)
        return found
