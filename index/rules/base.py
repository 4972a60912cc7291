"""The one interface every rule has, what rules see of the ranking, and the facts about every entry.

A rule (:class:`Rule`) has a ``name`` and up to two hooks, each with a harmless default:

* :meth:`Rule.rerank` moves an entry up the fused ranking (before the decision);
* :meth:`Rule.objection` says why answering with the best entry looks wrong (a question about another
  year, a price the entry does not give...), or nothing.

A judgement does not overrule the decision: whether a rule fired for the best entry (it put the entry
first, or it objects to it) is one of the signals the calibrated decision weighs (:mod:`index.gate`), so
a rule is worth what the fitted weight makes of it on questions the model was not fitted on. The one
exception is an objection that is a fact about the knowledge (:attr:`Rule.certain`: no entry states the
kind of fact asked), which is a property of the question like a known gap is one of the entry.

Rules never read the question's text themselves: they take the :class:`~index.reading.Reading`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from index.composer import entry_text
from index.kinds import priced_subjects, stated_kinds, uncovered_kinds, unpublished_kinds
from index.reading import years_in
from index.types import LANGS, Lang

if TYPE_CHECKING:
    from index.knowledge import KnowledgeBase
    from index.reading import Reading


@dataclass(frozen=True)
class Candidates:
    """The fused ranking of one question and what each retriever found."""

    entries: list[tuple[str, float]]
    """Entry ids with their fused scores, best first."""
    dense: dict[str, float]
    """Similarity in meaning of the entries the dense search reached."""
    names: dict[str, float]
    """Fuzzy score of the entries whose session or venue name the question contains."""
    firsts: dict[str, str] = field(default_factory=dict)
    """The first entry of each retriever's own ranking."""
    people: dict[str, int] = field(default_factory=dict)
    """Entries mentioning someone the question names."""
    vector: np.ndarray | None = None
    """The question's embedding (None without dense search)."""
    moved_by: str | None = None
    """The re-ranking rule that put the best entry first, if one did."""

    @property
    def top(self) -> str:
        return self.entries[0][0]

    def near(self, related: Mapping[str, set[str]], limit: int) -> list[str]:
        """Up to ``limit`` leading entries, one per linked group (an FAQ and its venue card are one
        topic; ``related`` links them)."""
        chosen: list[str] = []
        for entry_id, _ in self.entries:
            if any(entry_id == c or entry_id in related.get(c, ()) for c in chosen):
                continue
            chosen.append(entry_id)
            if len(chosen) == limit:
                break
        return chosen

    def moved_up(self, i: int, by: str | None = None) -> Candidates:
        """The same candidates with the ``i``-th entry moved to the front (by the rule named ``by``)."""
        entries = [self.entries[i], *self.entries[:i], *self.entries[i + 1 :]]
        return replace(self, entries=entries, moved_by=by)


class EntryFacts:
    """What every rule needs to know about the entries, computed once per knowledge base: the kinds of
    fact each entry states and says are unpublished, what it prices, the years its answer names, the
    normally uncovered kinds it does speak of."""

    def __init__(self, kb: KnowledgeBase, answers: Mapping[tuple[str, Lang], str]) -> None:
        self.kb = kb
        self.answers = answers
        """Each entry's answer text per language."""
        self.known_years = frozenset({kb.event.start_date.year, kb.event.end_date.year})
        self.answer_years = {key: years_in(text) for key, text in answers.items()}
        self.answer_dated_years = {key: years_in(text, spans=False) for key, text in answers.items()}
        entries = list(kb.entries())
        self.stated = {entry.id: stated_kinds(entry, kb) for entry in entries}
        self.unpublished = {entry.id: unpublished_kinds(entry) for entry in entries}
        self.priced = {entry.id: priced_subjects(entry, kb) for entry in entries}
        """What each entry gives a price of (a route's fare, the scenic area's tickets)."""
        self.covers = {
            entry.id: frozenset().union(*(uncovered_kinds(entry_text(entry, kb, lg), lg) for lg in LANGS))
            for entry in entries
        }
        """The normally uncovered kinds an entry does speak of (an entry about the venue's Wi-Fi)."""
        self.related: dict[str, set[str]] = defaultdict(set)
        for item in kb.faq:
            for other in item.related:
                self.related[item.id].add(other)
                self.related[other].add(item.id)


class Rule:
    """A named rule (see the module's docstring). Subclasses set ``name`` and override the hooks they
    use; ``facts`` are the entries' facts of the knowledge base the rule works on."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    """One line on what the rule does, for reports."""
    certain: ClassVar[bool] = False
    """The objection states a fact about the knowledge, not a judgement about the question: the question
    asks for a kind of fact that no entry states at all. No evidence about the best entry can make up
    for facts that do not exist, so when such a rule objects the decision declines whatever the model
    says; the rule is no input of the model (it cannot be outweighed by, say, an organisation's name
    the question shares with an entry)."""

    def __init__(self, facts: EntryFacts) -> None:
        self.facts = facts

    def rerank(self, reading: Reading, candidates: Candidates) -> Candidates:
        """The candidates, possibly with another entry first."""
        return candidates

    def objection(self, reading: Reading, candidates: Candidates) -> str | None:
        """Why answering the question with the best candidate looks wrong, or None."""
        return None
