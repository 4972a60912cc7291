"""A price asked of something the best entry does not price is not answered with another thing's price."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, EntryFacts, Rule


def unpriced(reading: Reading, facts: EntryFacts, entry_id: str) -> frozenset[str]:
    """What the question asks the price of when ``entry_id`` prices none of it ("how much are hotels in
    Xizha" to the scenic area's card, which prices only its tickets). Only clauses that ask count:
    "when does it end? I'll book my flight" asks no price."""
    subjects = reading.priced
    return subjects if subjects and not subjects & facts.priced[entry_id] else frozenset()


class Unpriced(Rule):
    """Objects to answering a price question with an entry that gives no price of its subjects."""

    name = "unpriced"
    summary = "the price of something the entry does not price weighs against answering"

    def objection(self, reading: Reading, candidates: Candidates) -> str | None:
        found = unpriced(reading, self.facts, candidates.top)
        return f"no price for: {', '.join(sorted(found))}" if found else None
