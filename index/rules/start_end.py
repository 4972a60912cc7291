"""A question asking when the event starts (or ends) is not answered by an entry about the other end."""

from __future__ import annotations

from index.kinds import opposite_pole
from index.reading import Reading
from index.rules.base import Candidates, Rule

LOOK_AHEAD = 3
"""How far down the ranking (entries, counting the best) an entry may be moved up from."""


class StartOrEnd(Rule):
    """When the question asks about one end of the event (start or end; ``poles`` in ``kinds.yaml``)
    and the best entry speaks only of the other, the first of the next entries that does not is
    moved up."""

    name = "start-end"
    summary = "an entry about the end asked (start, end) beats one about the other end"

    def rerank(self, reading: Reading, candidates: Candidates) -> Candidates:
        asked, lang = reading.poles, reading.lang
        entry_poles = self.facts.poles
        if not opposite_pole(asked, entry_poles[(candidates.top, lang)]):
            return candidates
        for i, (entry_id, _) in enumerate(candidates.entries[1:LOOK_AHEAD], start=1):
            if not opposite_pole(asked, entry_poles[(entry_id, lang)]):
                return candidates.moved_up(i)
        return candidates
