"""A question naming people is about an entry that mentions them (all of them, when one does)."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, Rule


class PeopleFirst(Rule):
    """When the best entry mentions fewer of the people (or organisations) the question names than
    another candidate does, the best-ranked of those that mention the most of them leads."""

    name = "people-first"
    summary = "an entry mentioning the people the question names leads"

    def rerank(self, reading: Reading, candidates: Candidates) -> Candidates:
        people = candidates.people
        if not people:
            return candidates
        most = max(people.values())
        if people.get(candidates.top, 0) >= most:
            return candidates
        i = next((i for i, (e, _) in enumerate(candidates.entries) if people.get(e, 0) == most), None)
        return candidates if i is None else candidates.moved_up(i, self.name)
