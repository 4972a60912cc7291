"""The rules around the decision, each a named component in its own module.

:data:`RULES` lists them in order: the re-rankers first (each may move one entry to the front of the
fused ranking), then the rules that may object to answering with the best entry. No judgement overrules
the decision: whether each rule fired for the best entry is a signal the calibrated model weighs
(:mod:`index.gate`). Only an objection that is a fact about the knowledge (a rule that is ``certain``:
no entry states what is asked) makes the decision decline. Any rule can be switched off by name
(``Engine(..., disabled={"unpriced"})`` or :meth:`Engine.without_rules`), which is how ``summit-bot eval
--ablate`` measures what each one is worth.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.reading import Reading
from index.rules.base import Candidates, EntryFacts, Rule
from index.rules.kind_asked import KindAsked
from index.rules.other_year import OtherYear
from index.rules.people_first import PeopleFirst
from index.rules.uncovered import Uncovered
from index.rules.unknown_event import UnknownEvent
from index.rules.unknown_person import UnknownPerson
from index.rules.unpriced import Unpriced

RULES: tuple[type[Rule], ...] = (
    # re-rankers, in order
    PeopleFirst,
    KindAsked,
    # objections to the best entry
    OtherYear,
    Uncovered,
    UnknownEvent,
    UnknownPerson,
    Unpriced,
)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
WEIGHED_RULES: tuple[str, ...] = tuple(rule.name for rule in RULES if not rule.certain)
"""The rules whose firing is an input of the decision model (the others decline when they object)."""
CERTAIN_RULES: frozenset[str] = frozenset(RULE_NAMES) - frozenset(WEIGHED_RULES)


def build_rules(facts: EntryFacts, disabled: frozenset[str] = frozenset()) -> list[Rule]:
    """The enabled rules, in order; raises ValueError for a name that is no rule's."""
    unknown = set(disabled) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"no such rule: {', '.join(sorted(unknown))} (rules: {', '.join(RULE_NAMES)})")
    return [rule(facts) for rule in RULES if rule.name not in disabled]


def rerank(rules: Sequence[Rule], reading: Reading, candidates: Candidates) -> Candidates:
    """The candidates after every re-ranking rule, in order."""
    for rule in rules:
        candidates = rule.rerank(reading, candidates)
    return candidates


def objections(rules: Sequence[Rule], reading: Reading, candidates: Candidates) -> dict[str, str]:
    """The rules that object to answering with the best candidate, in order, with their reasons."""
    found = {}
    for rule in rules:
        reason = rule.objection(reading, candidates)
        if reason is not None:
            found[rule.name] = reason
    return found


__all__ = [
    "CERTAIN_RULES",
    "RULES",
    "RULE_NAMES",
    "WEIGHED_RULES",
    "Candidates",
    "EntryFacts",
    "Rule",
    "build_rules",
    "objections",
    "rerank",
]
