"""An entry that only says the asked fact is not published is sent as a ``gap``, never as an answer."""

from __future__ import annotations

from index.kinds import is_gap
from index.reading import Reading
from index.rules.base import Candidates, Rule, Veto
from index.rules.uncovered import uncovered
from index.rules.unpriced import unpriced


class Unpublished(Rule):
    """When everything the question asks is unpublished in the best entry (or the whole entry is about
    something unpublished), its text is sent as a ``gap``: it helps, but it is no answer. A question
    asking for something no entry states (parking, a hotel's price) is left to the rules that decline
    it."""

    name = "unpublished-gap"
    summary = "an entry saying the asked fact is unpublished is a gap, not an answer"

    def veto(self, reading: Reading, candidates: Candidates) -> Veto | None:
        top = candidates.top
        if (
            is_gap(reading.kinds, self.facts.unpublished[top])
            and not unpriced(reading, self.facts, top)
            and not uncovered(reading, self.facts, top)
        ):
            return Veto("gap", "not published")
        return None

    def blocks(self, reading: Reading, entry_id: str) -> bool:
        return is_gap(reading.kinds, self.facts.unpublished[entry_id])
