"""An entry that states the kind of fact asked (a date, a place, a route...) beats one that does not."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, Rule

LOOK_AHEAD = 3
"""How far down the ranking (entries, counting the best) an entry stating the asked kind is moved up
from."""
DENSE_GAP = 0.1
"""How much less alike in meaning than the best entry an entry that states what is asked may be and
still be moved ahead of it."""


class KindAsked(Rule):
    """Moves up the first of the leading entries that states what the question asks for, when the best
    one neither states it nor says it is unpublished ("how do I get from Xizha to the venue" prefers
    the route to the venue card)."""

    name = "kind-asked"
    summary = "an entry stating the kind of fact asked beats one that does not"

    def rerank(self, reading: Reading, candidates: Candidates) -> Candidates:
        asked = reading.kinds
        stated, unpublished = self.facts.stated, self.facts.unpublished
        first = candidates.top
        if not asked or asked & (stated[first] | unpublished[first]):
            return candidates
        people, dense = candidates.people, candidates.dense
        for i, (entry_id, _) in enumerate(candidates.entries[1:LOOK_AHEAD], start=1):
            if people and first in people and entry_id not in people:
                continue  # the entry about the person the question names stays ahead
            if dense.get(entry_id, 0.0) < dense.get(first, 0.0) - DENSE_GAP:
                continue  # far less alike in meaning: stating the kind of thing asked is not enough
            if asked & stated[entry_id]:
                return candidates.moved_up(i, self.name)
        return candidates
