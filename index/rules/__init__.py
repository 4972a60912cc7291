"""The rules the engine applies around its decision, each a named component in its own module.

:data:`RULES` lists them in the order they apply: the re-rankers first (each may move one entry to the
front of the fused ranking), then the vetoes (the first that objects overrules an answer). Any rule can
be switched off by name (``Engine(..., disabled={"unpriced"})`` or :meth:`Engine.without_rules`), which
is how ``summit-bot eval --ablate`` measures what each one is worth.
"""

from __future__ import annotations

from index.rules.base import Candidates, EntryFacts, Rule, Veto
from index.rules.kind_asked import KindAsked
from index.rules.other_year import OtherYear
from index.rules.people_first import PeopleFirst
from index.rules.start_end import StartOrEnd
from index.rules.uncovered import Uncovered
from index.rules.unknown_person import UnknownPerson
from index.rules.unpriced import Unpriced
from index.rules.unpublished import Unpublished

RULES: tuple[type[Rule], ...] = (
    # re-rankers, in order
    PeopleFirst,
    StartOrEnd,
    KindAsked,
    # vetoes, in order: the first that objects decides the reason
    Unpublished,
    OtherYear,
    Uncovered,
    UnknownPerson,
    Unpriced,
)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)


def build_rules(facts: EntryFacts, disabled: frozenset[str] = frozenset()) -> list[Rule]:
    """The enabled rules, in order; raises ValueError for a name that is no rule's."""
    unknown = set(disabled) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"no such rule: {', '.join(sorted(unknown))} (rules: {', '.join(RULE_NAMES)})")
    return [rule(facts) for rule in RULES if rule.name not in disabled]


__all__ = ["RULES", "RULE_NAMES", "Candidates", "EntryFacts", "Rule", "Veto", "build_rules"]
