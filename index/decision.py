"""The decision on one question's best entry: answer, ask which topic was meant, decline, or send it as a
known gap.

The calibrated model (:class:`~index.gate.GateModel`) weighs the retrieval signals of the best entry and
whether each rule fired for it (a re-ranking rule put it first, a rule objects to it; see
:mod:`index.rules`). Nothing overrules the model except facts about the knowledge: an entry that says
the asked fact is not published is never sent as an answer, only as a ``gap`` (its text helps, but it is
no answer); a question asking for a kind of fact no entry states (a rule that is ``certain`` objects) is
declined, since no evidence about the best entry makes up for facts that do not exist. Both are left out
of the model's fit. The BM25-only and dense-only baselines of ``summit-bot eval`` decide by one
threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from index.gate import SIGNAL_FEATURES, GateModel, Signals, rule_features
from index.kinds import is_gap
from index.reading import Reading
from index.retrieval import Mode, Retriever
from index.rules import CERTAIN_RULES, WEIGHED_RULES, Candidates, EntryFacts, Rule, objections

Verdict = Literal["answer", "clarify", "decline", "gap"]


def model_features() -> tuple[str, ...]:
    """The inputs the decision model must have: the retrieval signals, then one per weighed rule (every
    one, also one switched off; a ``certain`` rule is no input)."""
    return SIGNAL_FEATURES + rule_features(WEIGHED_RULES)


@dataclass(frozen=True)
class Decision:
    """What to do with the best entry, and why."""

    verdict: Verdict
    score: float
    """The probability that the best entry is right (a baseline's own score in its mode)."""
    reason: str
    signals: Signals | None = None
    rule: str | None = None
    """The first rule that objected to answering with the best entry, if one did."""


class Decider:
    """Decides questions with one model and one set of rules. Safe to share between threads."""

    def __init__(
        self, gate: GateModel, rules: Sequence[Rule], retriever: Retriever, facts: EntryFacts
    ) -> None:
        if gate.features != model_features():
            raise ValueError(
                f"the decision model's inputs {list(gate.features)} are not {list(model_features())}: "
                "recalibrate (summit-bot calibrate QUESTION_FILES --write)"
            )
        self.gate = gate
        self.rules = list(rules)
        self.retriever = retriever
        self.facts = facts

    def decide(self, reading: Reading, ranked: Candidates, mode: Mode = "hybrid") -> Decision:
        """The decision on ``ranked``'s best entry (``ranked`` has at least one entry)."""
        top, model = ranked.top, self.gate
        if mode == "bm25":
            score = self.retriever.coverage(reading.text, reading.lang, top)
            verdict = "answer" if score >= model.baseline_bm25_coverage else "decline"
            return Decision(verdict, score, "bm25 baseline")
        if mode == "dense":
            score = ranked.dense.get(top, 0.0)
            verdict = "answer" if score >= model.baseline_dense_min else "decline"
            return Decision(verdict, score, "dense baseline")
        objected = objections(self.rules, reading, ranked)
        fired = frozenset(objected) | ({ranked.moved_by} if ranked.moved_by else frozenset())
        signals = replace(self.retriever.signals(reading, ranked), rules=fired)
        decided, probability = model.decide(signals)
        rule = next(iter(objected), None)
        if any(name in CERTAIN_RULES for name in objected):
            decided = "decline"  # what no entry states is declined, also where an entry says "unpublished"
        elif decided != "decline" and self.is_gap(reading, top):
            return Decision("gap", probability, "not published", signals, rule)
        # The objections lead the reason ("not covered: fee; decline: p=0.03").
        reason = "; ".join([*objected.values(), f"{decided}: p={probability:.2f}"])
        return Decision(decided, probability, reason, signals, rule)

    def is_gap(self, reading: Reading, entry_id: str) -> bool:
        """True when ``entry_id`` answers the question only with "not published": everything asked is
        unpublished in it, or the whole entry is about something unpublished."""
        return is_gap(reading.kinds, self.facts.unpublished[entry_id])
