"""Questions about an event or forum the knowledge does not describe (another conference, a forum of
which it has no card) are not answered with this event's dates or the nearest forum's card.

Whether a name is one the knowledge gives is a fact about the knowledge, as for the kinds no entry
states: the rule is :attr:`~index.rules.base.Rule.certain`, and the decision declines when it objects."""

from __future__ import annotations

from index.event_names import KnownEvents
from index.reading import Reading
from index.rules.base import Candidates, EntryFacts, Rule


class UnknownEvent(Rule):
    """Objects to answering a question that names an event or forum no entry names."""

    name = "unknown-event"
    summary = "a question about an event or forum the knowledge never names is declined"
    certain = True

    def __init__(self, facts: EntryFacts) -> None:
        super().__init__(facts)
        self.known = KnownEvents(facts.kb, facts.answers.values())

    def objection(self, reading: Reading, candidates: Candidates) -> str | None:
        unknown = self.known.unknown(reading.events)
        return f"unknown event: {', '.join(unknown)}" if unknown else None
