"""Retrieval and fusion: the entries a question may be about, and the evidence on the best of them.

Three retrievers (dense vectors, BM25 per language, fuzzy session and venue names) and the people the
question names (:class:`~index.reading.Reading.people`) each rank entries; reciprocal rank fusion
combines them and the leading entries are re-ranked by how much of the question each covers. The
result is :class:`~index.rules.Candidates`; the re-ranking rules (:mod:`index.rules`) apply after
this. :meth:`Retriever.signals` gathers what the decision (:mod:`index.gate`) weighs for the best one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import numpy as np

from index.embedders import Embedder
from index.fusion import add_ranking, best_per_entry, reciprocal_rank_fusion
from index.gate import Signals
from index.lexical import LexicalIndex
from index.names import NameMatcher
from index.reading import Reading, question_form
from index.rules import Candidates, EntryFacts
from index.types import LANGS, Lang, Passage
from index.vectors import DenseIndex

Mode = Literal["hybrid", "bm25", "dense"]
CANDIDATES = 40
RERANK = 10
NAME_RANK_MIN = 90.0
NAME_DENSE_GAP = 0.1
"""Fuzzy score (0..100) from which a named session or venue takes part in the fused ranking, and how
far below the closest entry in meaning a partly named one may be and still take part."""
FUSION_WEIGHTS = {"dense": 2.0, "bm25": 0.5, "names": 0.25, "coverage": 0.5, "people": 1.0}
"""Weight of each ranking in the fusion, chosen by how often the best entry is right on the labelled
question sets: dense similarity counts twice as much as each lexical signal."""


def embed(embedder: Embedder, readings: Sequence[Reading]) -> np.ndarray:
    """The embeddings of ``readings``, in one batch. A long message is embedded once more as its
    question clause alone, and the two vectors are averaged, so the question at the end outweighs the
    story before it."""
    vectors = embedder.embed_queries([reading.embedded for reading in readings])
    focused = {row: focus for row, reading in enumerate(readings) if (focus := reading.focus)}
    if focused:
        extra = embedder.embed_queries([question_form(f) for f in focused.values()])
        for row, vector in zip(focused, extra, strict=True):
            mixed = vectors[row] + vector
            vectors[row] = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
    return vectors


class Retriever:
    """Ranks the entries of one knowledge base for a question. Safe to share between threads."""

    def __init__(
        self,
        passages: Sequence[Passage],
        dense: DenseIndex,
        lexical: LexicalIndex,
        names: NameMatcher,
        facts: EntryFacts,
    ) -> None:
        self.dense = dense
        self.lexical = lexical
        self.names = names
        self.facts = facts
        self._entry_ids = [p.entry_id for p in passages]
        positions: dict[str, list[int]] = defaultdict(list)
        self._by_entry_lang: dict[tuple[str, Lang], list[int]] = defaultdict(list)
        for i, p in enumerate(passages):
            positions[p.entry_id].append(i)
            self._by_entry_lang[(p.entry_id, p.lang)].append(i)
        self._entry_positions = {entry_id: np.asarray(found) for entry_id, found in positions.items()}
        # The passages of each language grouped by entry, for the best coverage of every group at once.
        self._group_of: dict[tuple[str, Lang], int] = {}
        self._groups: dict[Lang, tuple[np.ndarray, np.ndarray]] = {}
        for lang in LANGS:
            groups = [(key, found) for key, found in self._by_entry_lang.items() if key[1] == lang]
            self._group_of.update((key, group) for group, (key, _) in enumerate(groups))
            sizes = [len(found) for _, found in groups]
            order = np.asarray([i for _, found in groups for i in found], dtype=np.intp)
            self._groups[lang] = (order, np.asarray(np.cumsum([0, *sizes[:-1]]), dtype=np.intp))
        self._last_coverage: tuple[tuple[str, Lang], list[float]] | None = None

    def rank(self, reading: Reading, vector: np.ndarray | None, mode: Mode) -> Candidates:
        """The fused ranking of the entries for ``reading`` (``vector``: its embedding, if searched)."""
        text, lang = reading.text, reading.lang
        rankings: dict[str, list[tuple[str, float]]] = {}
        dense: dict[str, float] = {}
        names: dict[str, float] = {}
        people: dict[str, int] = {}
        if vector is not None:
            positions, scores = self.dense.search_rows(vector.reshape(1, -1), CANDIDATES)[0]
            ids = self._entry_ids
            rankings["dense"] = best_per_entry(zip([ids[i] for i in positions], scores, strict=True))
            dense = dict(rankings["dense"])
        if mode != "dense":
            ids = self._entry_ids
            pairs = self.lexical.search_pairs(text, lang, CANDIDATES)
            rankings["bm25"] = best_per_entry((ids[position], score) for position, score in pairs)
        if mode == "hybrid":
            matched = self.names.match(text)
            names = dict(matched)
            # A name written out (nearly) in full ranks its entry; a partial fuzzy match ("Light of
            # Internet Expo" inside the expo centre's name) does only when the entry is about as close
            # in meaning as the closest one, and otherwise stays evidence for the decision.
            closest = max(dense.values(), default=0.0)
            rankings["names"] = [
                (e, score)
                for e, score in matched
                if score >= NAME_RANK_MIN or dense.get(e, 0.0) >= closest - NAME_DENSE_GAP
            ]
            people = reading.people
            if people:
                # Among the entries mentioning a named person, the ones closest in meaning come first (ties
                # in entry order, so the ranking never depends on the hash seed).
                order = sorted(people, key=lambda e: (-people[e], -dense.get(e, 0.0), e))
                rankings["people"] = [(e, float(people[e])) for e in order]
        firsts = {name: ranking[0][0] for name, ranking in rankings.items() if ranking and name != "people"}
        if len(rankings) == 1:
            return Candidates(next(iter(rankings.values())), dense, names, firsts, people, vector)
        return Candidates(self.fuse(text, lang, rankings, mode), dense, names, firsts, people, vector)

    def fuse(
        self, text: str, lang: Lang, rankings: dict[str, list[tuple[str, float]]], mode: Mode
    ) -> list[tuple[str, float]]:
        fused = reciprocal_rank_fusion(rankings, FUSION_WEIGHTS)
        if mode == "hybrid":
            # Coverage re-ranks the leading candidates: how much of the question each one accounts for.
            leading = [entry_id for entry_id, _ in fused[:RERANK]]
            rankings["coverage"] = sorted(
                ((e, self.coverage(text, lang, e)) for e in leading), key=lambda item: -item[1]
            )
            # Coverage is the last ranking: adding its share to the sums is the same as fusing again.
            fused = add_ranking(fused, rankings["coverage"], FUSION_WEIGHTS["coverage"])
        return fused

    def coverage(self, text: str, lang: Lang, entry_id: str) -> float:
        group = self._group_of.get((entry_id, lang))
        if group is None:
            return 0.0
        key = (text, lang)
        last = self._last_coverage
        if last is None or last[0] != key:
            # Computed for every entry at once and kept for the question being answered, which asks
            # for the coverage of several entries.
            order, starts = self._groups[lang]
            every = self.lexical.coverages(text, lang, order)
            last = self._last_coverage = (key, np.maximum.reduceat(every, starts).tolist())
        return last[1][group]

    def missing(self, text: str, lang: Lang, entry_id: str) -> float:
        return self.lexical.missing(text, lang, self._by_entry_lang.get((entry_id, lang), []))

    def dense_with_links(self, ranked: Candidates, entry_id: str) -> float:
        """The entry's own similarity, or that of an entry linked to it (an FAQ about getting around
        Xizha supports the Xizha venue card)."""
        linked = [ranked.dense.get(e, 0.0) for e in self.facts.related.get(entry_id, ())]
        return max([self._dense_of(ranked, entry_id), *linked])

    def _dense_of(self, ranked: Candidates, entry_id: str) -> float:
        """The entry's similarity to the question: from the dense hits, or computed over its passages
        when another retriever (a named person, the keywords) ranked an entry the dense search did not
        reach ("习近平来乌镇了吗" is closest in meaning to Wuzhen's location, not to the ceremony)."""
        found = ranked.dense.get(entry_id)
        if found is not None or ranked.vector is None:
            return found or 0.0
        return float(self.dense.similarities(ranked.vector, self._entry_positions[entry_id]).max())

    def signals(self, reading: Reading, ranked: Candidates) -> Signals:
        """The evidence the answer decision weighs for the best entry (see :class:`index.gate.Signals`)."""
        text, lang, asked = reading.text, reading.lang, reading.kinds
        top = ranked.top
        dense = self.dense_with_links(ranked, top)
        family = {top, *self.facts.related.get(top, ())}
        others = [score for e, score in ranked.dense.items() if e not in family]
        unknown, words = self.lexical.unknown(text, lang)
        stated = self.facts.stated[top]
        return Signals(
            dense=dense,
            coverage=self.coverage(text, lang, top),
            name=ranked.names.get(top, 0.0),
            missing=self.missing(text, lang, top),
            margin=dense - max(others, default=0.0),
            agree=float(not asked or bool(asked & stated)),
            unknown=unknown,
            dense_top=float(ranked.firsts.get("dense") in family),
            bm25_top=float(ranked.firsts.get("bm25") in family),
            person=0.0 if not ranked.people else 1.0 if family & ranked.people.keys() else -1.0,
            words=words,
            lang=lang,
        )
