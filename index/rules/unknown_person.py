"""A question naming a person the knowledge never mentions is not answered by an entry that merely
looks close ("did Sam Altman speak?")."""

from __future__ import annotations

from index.reading import Reading
from index.rules.base import Candidates, Rule, Veto


class UnknownPerson(Rule):
    """Declines when the question names nobody the knowledge knows but does name someone (a capitalised
    pair of unknown words, a Chinese person's name the knowledge never writes)."""

    name = "unknown-person"
    summary = "a question naming someone the knowledge never mentions is declined"

    def veto(self, reading: Reading, candidates: Candidates) -> Veto | None:
        if candidates.people:
            return None
        strangers = reading.strangers
        return Veto("decline", f"unknown person: {', '.join(strangers)}") if strangers else None
