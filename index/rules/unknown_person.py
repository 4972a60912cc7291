"""A question naming a person the knowledge never mentions is not answered by an entry that merely
looks close ("did Sam Altman speak?")."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, Rule


class UnknownPerson(Rule):
    """Objects when the question names nobody the knowledge knows but does name someone (a capitalised
    pair of unknown words, a Chinese person's name the knowledge never writes)."""

    name = "unknown-person"
    summary = "a question naming someone the knowledge never mentions weighs against answering"

    def objection(self, reading: Reading, candidates: Candidates) -> str | None:
        if candidates.people:
            return None
        strangers = reading.strangers
        return f"unknown person: {', '.join(strangers)}" if strangers else None
