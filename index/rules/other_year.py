"""A question about another year than the event's is not answered by an entry that does not speak of that
year."""

from __future__ import annotations

from index.reading import Reading, years_in
from index.rules.base import Candidates, Rule


class OtherYear(Rule):
    """Objects when the question asks about a year the best entry's answer does not speak of. A
    question asking when something happened in a year needs that year as a date of the answer: the
    ends of a span ("2014–2022 in total") do not say when the 2022 summit was."""

    name = "other-year"
    summary = "a question about another year weighs against an answer that does not name that year"

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

    def objection(self, reading: Reading, candidates: Candidates) -> str | None:
        return "asks about another year" if self._other(reading, candidates.top) else None
