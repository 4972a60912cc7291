"""The query pipeline: a question in, an answer in the asker's language (or an honest decline) out.

One question goes through five steps, each in its own place:

1. **read** (:mod:`index.reading`): language, spelling, a follow-up completed with its topic, and every
   fact about the question the later steps use, derived once;
2. **retrieve**: dense vectors, BM25 per language, fuzzy names, the people the question names;
3. **fuse**: reciprocal rank fusion, the leading entries re-ranked by how much of the question each
   covers, then the re-ranking rules (:mod:`index.rules`);
4. **decide**: the calibrated decision (:mod:`index.gate`) on signals of the best entry, then the veto
   rules (:mod:`index.rules`), which may turn an answer into a decline or a gap;
5. **compose** (:mod:`index.composer`): the reply in the asker's language.

Rules can be switched off by name (``disabled``), for ablation. The indexing side lives in
:meth:`Engine.load`.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.answers import Answer, Suggestion, Topic
from index.belief import verdict
from index.composer import NameGlosses, answer_text, belief_reply, clarify_text, decline_text, entry_title
from index.embedders import Embedder, create_embedder
from index.gate import GateModel
from index.kinds import pattern_words
from index.knowledge import KnowledgeBase, load_knowledge
from index.lexical import LexicalIndex, TokenCache
from index.names import NameMatcher
from index.passages import build_passages, name_pairs
from index.people import PeopleIndex
from index.reading import (
    FOCUS_MIN_CHARS,
    Reader,
    Reading,
    asking_clauses,
    clauses,
    question_clause,
    question_form,
    without_year,
    years_in,
)
from index.retrieval import Mode, Retriever, embed
from index.rules import Candidates, EntryFacts, Rule, build_rules
from index.smalltalk import small_talk
from index.spelling import SpellFixer
from index.types import LANGS, Lang, Passage
from index.vectors import BuildReport, DenseIndex

__all__ = [
    "FOCUS_MIN_CHARS",
    "Answer",
    "Engine",
    "Mode",
    "Suggestion",
    "Topic",
    "asking_clauses",
    "clauses",
    "passages_hash",
    "question_clause",
    "question_form",
    "without_year",
    "years_in",
]

log = logging.getLogger(__name__)

SUGGESTIONS = 3


def passages_hash(passages: Sequence[Passage]) -> str:
    """A fingerprint of exactly what gets indexed (knowledge content and how it is composed)."""
    digest = hashlib.sha256()
    for p in passages:
        digest.update(f"{p.passage_id}\0{p.text}\0".encode())
    return digest.hexdigest()


def _for_embedding(passage: Passage) -> Passage:
    return replace(passage, text=question_form(passage.text)) if passage.kind == "question" else passage


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
        self.people = PeopleIndex(kb)
        self.spelling = SpellFixer((p.text for p in self.passages), keep=pattern_words())
        self.reader = Reader(kb, self.spelling, self.people)
        self.gate = gate or GateModel.load()
        self.build_report = build_report
        self.version = f"{kb.content_hash[:12]}-{embedder.id}"
        self.glosses = NameGlosses(kb)
        self._answers = {
            (entry.id, lg): answer_text(entry, kb, lg, self.glosses) for entry in kb.entries() for lg in LANGS
        }
        """Each entry's answer text per language (names glossed in Latin letters in Thai), composed once."""
        self.facts = EntryFacts(kb, self._answers)
        self._related = self.facts.related
        self.disabled = frozenset(disabled)
        self.rules: list[Rule] = build_rules(self.facts, self.disabled)
        self.retriever = Retriever(self.passages, dense, self.lexical, self.names, self.facts)

    def without_rules(self, names: Collection[str]) -> Engine:
        """The same engine (sharing its indexes) with the named rules switched off."""
        other = copy.copy(self)
        other.disabled = frozenset(names)
        other.rules = build_rules(self.facts, other.disabled)
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
        embedded = [_for_embedding(p) for p in passages]
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
        found = self._answers.get((entry_id, lang))
        return (
            found if found is not None else answer_text(self.kb.by_id[entry_id], self.kb, lang, self.glosses)
        )

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
        chatter = self._small_talk(questions, fallback_language)
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
                answers.append(self._decline(reading.question, reading.lang, [], empty=True))
            else:
                vector = vectors[live[i]] if vectors is not None else None
                answers.append(self._answer(reading, vector, mode))
        return answers

    def _small_talk(self, questions: Sequence[str], fallback: Lang) -> dict[int, Answer]:
        """Replies to the questions that are small talk ("hi", "谢谢", "คุณเป็นใคร"), by position."""
        replies: dict[int, Answer] = {}
        for i, question in enumerate(questions):
            found = small_talk(question, fallback)
            if found is not None:
                replies[i] = Answer(
                    question, found.language, False, found.reply, [], 0.0, reason="small talk",
                    outcome="smalltalk",
                )  # fmt: skip
        return replies

    # -- retrieve, fuse, decide, compose ----------------------------------------------------------

    def _rank(self, reading: Reading, vector: np.ndarray | None, mode: Mode) -> Candidates:
        candidates = self.retriever.rank(reading, vector, mode)
        if mode == "hybrid" and candidates.entries:
            for rule in self.rules:
                candidates = rule.rerank(reading, candidates)
        return candidates

    def _answer(self, reading: Reading, vector: np.ndarray | None, mode: Mode) -> Answer:
        question, lang = reading.question, reading.lang
        ranked = self._rank(reading, vector, mode)
        if not ranked.entries:
            return self._decline(question, lang, [], reason="nothing found")
        top = ranked.top
        model = self.gate
        signals = None
        rule = None
        if mode == "bm25":
            score = self.retriever.coverage(reading.text, lang, top)
            decision = "answer" if score >= model.baseline_bm25_coverage else "decline"
            reason = "bm25 baseline"
        elif mode == "dense":
            score = ranked.dense.get(top, 0.0)
            decision = "answer" if score >= model.baseline_dense_min else "decline"
            reason = "dense baseline"
        else:
            signals = self.retriever.signals(reading, ranked)
            decision, probability = model.decide(signals)
            score = probability
            reason = f"{decision}: p={probability:.2f}"
            if decision != "decline":
                for rule_ in self.rules:
                    veto = rule_.veto(reading, ranked)
                    if veto is None:
                        continue
                    rule = rule_.name
                    if veto.outcome == "gap":
                        # The entry says the asked fact is not published: its text helps, but it is no
                        # answer.
                        text_out = self.entry_answer(top, lang)
                        return Answer(
                            question, lang, False, text_out, [top], round(score, 4),
                            reason=veto.reason, best=top, signals=signals, outcome="gap", rule=rule,
                        )  # fmt: skip
                    decision, reason = "decline", veto.reason
                    break
        near = ranked.near(self._related, SUGGESTIONS)
        if decision == "clarify" and len(near) > 0:
            answer = self._decline(question, lang, near, score, reason)
            text_out = clarify_text([s.title for s in answer.suggestions], lang)
            return replace(answer, text=text_out, best=top, signals=signals, outcome="clarify")
        if decision != "answer":
            return replace(
                self._decline(question, lang, near, score, reason), best=top, signals=signals, rule=rule
            )
        reply = self.entry_answer(top, lang)
        if reading.belief:
            holds, true_day = verdict(reading.belief, self.kb.by_id[top], self.kb, reading.poles)
            reply = belief_reply(reply, holds, true_day, lang)
        return Answer(question, lang, True, reply, [top], round(score, 4), [], reason, top, signals, "answer")

    def blocked(self, question: str, lang: Lang, entry_id: str) -> bool:
        """True when ``entry_id`` can never be the answer to ``question`` whatever the evidence: it only
        says the asked fact is not published, or the question asks about another year, asks for
        something no entry states or the price of something the entry does not price."""
        reading = self.reader.read_as_written(question, lang)
        return any(rule.blocks(reading, entry_id) for rule in self.rules)

    def _decline(
        self,
        question: str,
        lang: Lang,
        near: list[str],
        score: float = 0.0,
        reason: str = "",
        *,
        empty: bool = False,
    ) -> Answer:
        suggestions = [Suggestion(e, entry_title(self.kb.by_id[e], lang)) for e in near]
        text = decline_text(lang, empty=empty)
        reason = reason or "no question"
        return Answer(
            question, lang, False, text, [], round(score, 4), suggestions, reason, outcome="decline"
        )
