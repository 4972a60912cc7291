"""A price asked of something the best entry does not price is declined, not answered with another
thing's price."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, EntryFacts, Rule, Veto


def unpriced(reading: Reading, facts: EntryFacts, entry_id: str) -> frozenset[str]:
    """What the question asks the price of when ``entry_id`` prices none of it ("how much are hotels in
    Xizha" to the scenic area's card, which prices only its tickets). Only clauses that ask count:
    "when does it end? I'll book my flight" asks no price."""
    subjects = reading.priced
    return subjects if subjects and not subjects & facts.priced[entry_id] else frozenset()


class Unpriced(Rule):
    """Declines a price question whose subjects the best entry gives no price of."""

    name = "unpriced"
    summary = "the price of something the entry does not price is declined"

    def veto(self, reading: Reading, candidates: Candidates) -> Veto | None:
        found = unpriced(reading, self.facts, candidates.top)
        return Veto("decline", f"no price for: {', '.join(sorted(found))}") if found else None

    def blocks(self, reading: Reading, entry_id: str) -> bool:
        return bool(unpriced(reading, self.facts, entry_id))
