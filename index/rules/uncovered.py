"""Questions asking for a kind of thing no entry states (a booking, a fee to attend, a dress code,
parking, investment advice; ``uncovered`` in ``kinds.yaml``) are not answered by a neighbouring entry.

That no entry states such a fact is a property of the knowledge, not a judgement about the question:
the rule is :attr:`~index.rules.base.Rule.certain`, and the decision declines when it objects."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, EntryFacts, Rule


def uncovered(reading: Reading, facts: EntryFacts, entry_id: str) -> frozenset[str]:
    """What the question asks for that no entry states, unless ``entry_id`` speaks of it (an entry about
    the venue's Wi-Fi). Only the clauses that ask count: "when does it start? I need to book my flight"
    asks when, and the booking is its reason; "where can I park?" asks where to park, not where the
    venue is."""
    found = reading.uncovered - facts.covers[entry_id]
    if not found:
        return found
    return reading.uncovered_asked & found


class Uncovered(Rule):
    """Objects to answering a question asking for something the best entry (and the knowledge) does not
    state."""

    name = "uncovered-kind"
    summary = "a question asking what no entry states (booking, fees, dress code, advice) is declined"
    certain = True

    def objection(self, reading: Reading, candidates: Candidates) -> str | None:
        found = uncovered(reading, self.facts, candidates.top)
        return f"not covered: {', '.join(sorted(found))}" if found else None
