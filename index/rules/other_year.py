"""A question about another year than the event's is declined unless the answer speaks of that year."""

from __future__ import annotations

from index.reading import Reading, years_in
from index.rules.base import Candidates, Rule, Veto


class OtherYear(Rule):
    """Declines when the question asks about a year the best entry's answer does not speak of. A
    question asking when something happened in a year needs that year as a date of the answer: the
    ends of a span ("2014–2022 in total") do not say when the 2022 summit was."""

    name = "other-year"
    summary = "a question about another year is declined unless the answer names that year"

    def _other(self, reading: Reading, entry_id: str) -> bool:
        asked = reading.other_years
        if not asked:
            return False
        key = (entry_id, reading.lang)
        if "when" in reading.kinds:
            found = self.facts.answer_dated_years.get(key)
            return not asked <= (found if found is not None else years_in(self._reply(key), spans=False))
        found = self.facts.answer_years.get(key)
        return not asked <= (found if found is not None else years_in(self._reply(key)))

    def _reply(self, key: tuple[str, str]) -> str:
        return self.facts.answers.get(key, "")  # type: ignore[call-overload]

    def veto(self, reading: Reading, candidates: Candidates) -> Veto | None:
        return Veto("decline", "asks about another year") if self._other(reading, candidates.top) else None

    def blocks(self, reading: Reading, entry_id: str) -> bool:
        return self._other(reading, entry_id)
