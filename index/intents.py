"""What kind of answer a question asks for (a date, a place, a person, a number, a route, ...).

Dense embeddings place "When is the summit?" and "Where is the summit?" close together. The cue words in
``intents.yaml`` tell them apart, and :meth:`IntentMatcher.adjust` uses them after rank fusion: an
entry whose own question phrasings ask for a different kind of answer than the question is pushed down,
one that asks for the same kind is nudged up. Entries without phrasings are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from index.textproc import normalise

INTENTS_FILE = Path(__file__).with_name("intents.yaml")


@dataclass(frozen=True)
class IntentMatcher:
    patterns: Mapping[str, re.Pattern[str]]
    agree_bonus: float
    disagree_penalty: float

    @classmethod
    def load(cls, path: Path = INTENTS_FILE) -> IntentMatcher:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        patterns = {}
        for intent, by_lang in raw["cues"].items():
            words = [rf"\b{re.escape(normalise(c))}\b" for c in by_lang.get("en", [])]
            words += [re.escape(normalise(c)) for lang in ("zh", "th") for c in by_lang.get(lang, [])]
            patterns[intent] = re.compile("|".join(words))
        return cls(patterns, float(raw["agree_bonus"]), float(raw["disagree_penalty"]))

    def detect(self, text: str) -> frozenset[str]:
        """The kinds of answer ``text`` asks for (empty when it gives no cue)."""
        folded = normalise(text)
        return frozenset(intent for intent, pattern in self.patterns.items() if pattern.search(folded))

    def profile(self, phrasings: Sequence[str]) -> frozenset[str]:
        """The kinds of answer an FAQ entry serves: every kind its phrasings ask for."""
        return frozenset().union(*(self.detect(p) for p in phrasings)) if phrasings else frozenset()

    def adjust(
        self,
        ranking: Sequence[tuple[str, float]],
        asked: frozenset[str],
        served: Mapping[str, frozenset[str]],
    ) -> list[tuple[str, float]]:
        """Re-score a fused ranking by agreement between ``asked`` and each entry's ``served`` kinds."""
        if not asked:
            return list(ranking)
        adjusted = []
        for entry_id, score in ranking:
            kinds = served.get(entry_id)
            if kinds:
                score *= (1 + self.agree_bonus) if kinds & asked else (1 - self.disagree_penalty)
            adjusted.append((entry_id, score))
        return sorted(adjusted, key=lambda item: (-item[1], item[0]))
