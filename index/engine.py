"""The query pipeline: a question in, an answer in the asker's language (or an honest decline) out.

One question goes through five steps, each in its own place:

1. **read** (:mod:`index.reading`): language, spelling, a follow-up completed with its topic, and every
   fact about the question the later steps use, derived once;
2. **retrieve**: dense vectors, BM25 per language, fuzzy names, the people the question names;
3. **fuse**: reciprocal rank fusion, the leading entries re-ranked by how much of the question each
   covers, then the re-ranking rules (:mod:`index.rules`);
4. **decide** (:mod:`index.decision`): the calibrated model (:mod:`index.gate`) weighs the signals of
   the best entry and which rules fired for it; an entry saying the fact is unpublished is a gap;
5. **compose** (:mod:`index.replies`): the reply in the asker's language.

Rules can be switched off by name (``disabled``), for ablation. The indexing side lives in
:meth:`Engine.load`.
"""

from __future__ import annotations

import copy
import gc
import logging
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np

from index.answers import Answer, Suggestion, Topic
from index.decision import Decider
from index.embedders import Embedder, create_embedder
from index.gate import GateModel
from index.kinds import pattern_words
from index.knowledge import KnowledgeBase, load_knowledge
from index.lexical import LexicalIndex, TokenCache
from index.names import NameMatcher
from index.passages import build_passages, for_embedding, name_pairs, passages_hash
from index.people import PeopleIndex
from index.reading import Reader, Reading
from index.replies import Replies
from index.retrieval import Mode, Retriever, embed
from index.rules import Candidates, EntryFacts, build_rules, rerank
from index.spelling import SpellFixer
from index.types import Lang, Passage
from index.vectors import BuildReport, DenseIndex

__all__ = ["Answer", "Engine", "Mode", "Suggestion", "Topic"]

log = logging.getLogger(__name__)

SUGGESTIONS = 3


class Engine:
    """Answers questions from one loaded knowledge base and its indexes. Safe to share between threads."""

    def __init__(
        self,
        kb: KnowledgeBase,
        passages: Sequence[Passage],
        embedder: Embedder,
        dense: DenseIndex,
        gate: GateModel | None = None,
        build_report: BuildReport | None = None,
        token_cache: TokenCache | None = None,
        disabled: Collection[str] = (),
    ) -> None:
        self.kb = kb
        self.passages = list(passages)
        self.embedder = embedder
        self.dense = dense
        self.lexical = LexicalIndex(self.passages, token_cache)
        self.names = NameMatcher(name_pairs(kb))
        self.people = PeopleIndex(kb, token_cache.directory if token_cache else None)
        self.spelling = SpellFixer((p.text for p in self.passages), keep=pattern_words())
        self.reader = Reader(kb, self.spelling, self.people)
        self._gate = gate or GateModel.load()
        self.build_report = build_report
        self.version = f"{kb.content_hash[:12]}-{embedder.id}"
        self.replies = Replies(kb)
        self.facts = EntryFacts(kb, self.replies.texts)
        self.retriever = Retriever(self.passages, dense, self.lexical, self.names, self.facts)
        self._use_rules(disabled)

    @property
    def gate(self) -> GateModel:
        """The decision model; setting another one decides with it from then on."""
        return self._gate

    @gate.setter
    def gate(self, model: GateModel) -> None:
        self._gate = model
        self.decider = Decider(model, self.rules, self.retriever, self.facts)

    def _use_rules(self, disabled: Collection[str]) -> None:
        self.disabled = frozenset(disabled)
        self.rules = build_rules(self.facts, self.disabled)
        self.decider = Decider(self.gate, self.rules, self.retriever, self.facts)

    def without_rules(self, names: Collection[str]) -> Engine:
        """The same engine (sharing its indexes) with the named rules switched off."""
        other = copy.copy(self)
        other._use_rules(names)
        return other

    @classmethod
    def load(
        cls,
        knowledge_dir: Path,
        data_dir: Path,
        embedder_spec: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        embedder: Embedder | None = None,
    ) -> Engine:
        """Validate the knowledge, then load the dense index from ``data_dir`` or rebuild it if stale."""
        started = time.perf_counter()
        kb = load_knowledge(knowledge_dir)
        passages = build_passages(kb)
        embedder = embedder or create_embedder(embedder_spec)
        embedder.cache_in(Path(data_dir) / "cache")
        embedded = [for_embedding(p) for p in passages]
        dense, report = DenseIndex.load_or_build(
            embedded, passages_hash(embedded), embedder, data_dir, progress
        )
        tokens = TokenCache(Path(data_dir) / "cache")
        gate = GateModel.for_embedder(embedder.id, data_dir)
        engine = cls(kb, passages, embedder, dense, gate, report, tokens)
        engine.ask("warm up")  # load the model and tokenisers now, not on the first user's question
        # The dictionaries and model weights are millions of long-lived objects; moving them out of the
        # collector's reach keeps full garbage collections (which stall a question by ~200 ms) short.
        gc.collect()
        gc.freeze()
        log.info(
            "engine ready: index %s, %d entries, %d passages, %s in %.2fs",
            engine.version,
            len(kb.by_id),
            len(passages),
            "rebuilt" if report.rebuilt else "loaded",
            time.perf_counter() - started,
        )
        return engine

    def entry_answer(self, entry_id: str, lang: Lang) -> str:
        """The answer text of one entry in ``lang`` (what a suggestion button or a card shows)."""
        return self.replies.entry_answer(entry_id, lang)

    # -- query pipeline ---------------------------------------------------------------------------

    def ask(self, question: str, fallback_language: Lang = "en", topic: Topic | None = None) -> Answer:
        """Answer one question (see :meth:`ask_many`)."""
        return self.ask_many([question], fallback_language, topics=[topic])[0]

    def ask_many(
        self,
        questions: Sequence[str],
        fallback_language: Lang = "en",
        mode: Mode = "hybrid",
        topics: Sequence[Topic | None] | None = None,
    ) -> list[Answer]:
        """Answer several questions; their embeddings are computed in one batch.

        ``topics`` gives, per question, the topic its chat was last answered about (None: no recent
        topic); a follow-up question ("and from Shanghai?") is searched together with it.
        """
        readings = self.reader.read_many(questions, fallback_language, topics)
        chatter = self.replies.small_talk(questions, fallback_language)
        live = {
            i: row
            for row, i in enumerate(i for i, r in enumerate(readings) if i not in chatter and r.searchable)
        }
        vectors = None
        if live and mode != "bm25":
            vectors = embed(self.embedder, [readings[i] for i in live])
        answers: list[Answer] = []
        for i, reading in enumerate(readings):
            if i in chatter:
                answers.append(chatter[i])
            elif i not in live:
                answers.append(self.replies.decline(reading.question, reading.lang, empty=True))
            else:
                vector = vectors[live[i]] if vectors is not None else None
                answers.append(self._answer(reading, vector, mode))
        return answers

    # -- retrieve, fuse, decide, compose ----------------------------------------------------------

    def _rank(self, reading: Reading, vector: np.ndarray | None, mode: Mode) -> Candidates:
        candidates = self.retriever.rank(reading, vector, mode)
        if mode == "hybrid" and candidates.entries:
            candidates = rerank(self.rules, reading, candidates)
        return candidates

    def _answer(self, reading: Reading, vector: np.ndarray | None, mode: Mode) -> Answer:
        question, lang = reading.question, reading.lang
        ranked = self._rank(reading, vector, mode)
        if not ranked.entries:
            return self.replies.decline(question, lang, reason="nothing found")
        decision = self.decider.decide(reading, ranked, mode)
        near = ranked.near(self.facts.related, SUGGESTIONS)
        return self.replies.compose(reading, ranked.top, decision, near)

    def gap(self, question: str, lang: Lang, entry_id: str) -> bool:
        """True when ``entry_id`` can only tell the asker that what ``question`` asks is not published
        (it is then sent as a ``gap``, never as an answer)."""
        return self.decider.is_gap(self.reader.read_as_written(question, lang), entry_id)
