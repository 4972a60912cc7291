"""The query pipeline: a question in, an answer in the asker's language (or an honest decline) out.

Read top to bottom, one question goes through: language detection and typo correction, three
retrievers (dense vectors, BM25 per language, fuzzy names), reciprocal rank fusion with a re-ranking of
the leading entries by how much of the question each covers, the abstention gate on absolute signals of
the best entry (and a check that it does not ask about another year), and the composer. The indexing
side lives in :meth:`Engine.load`.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from index.composer import NameGlosses, answer_text, decline_text, entry_text, entry_title, phrase
from index.embedders import Embedder, create_embedder
from index.followup import Topic, read_followup
from index.fusion import add_ranking, best_per_entry, reciprocal_rank_fusion
from index.gate import GateModel, Signals
from index.kinds import (
    asked_kinds,
    is_gap,
    opposite_pole,
    pattern_words,
    poles,
    price_subjects,
    priced_subjects,
    relative_years,
    stated_kinds,
    uncovered_kinds,
    unpublished_kinds,
    without_this_year,
)
from index.knowledge import KnowledgeBase, load_knowledge
from index.language import detect_language
from index.lexical import LexicalIndex, TokenCache
from index.names import NameMatcher
from index.numerals import event_days
from index.passages import build_passages, name_pairs
from index.people import PeopleIndex, unknown_names
from index.smalltalk import small_talk
from index.spelling import SpellFixer
from index.textproc import QUERY_LIMIT, normalise
from index.types import LANGS, Lang, Outcome, Passage
from index.vectors import BuildReport, DenseIndex

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
CANDIDATES = 40
SUGGESTIONS = 3
RERANK = 10
PREFER_STATED = 3
"""How far down the fused ranking an entry stating the asked kind of fact is moved up from."""
PREFER_DENSE_GAP = 0.1
"""How much less alike in meaning than the best entry an entry that states what is asked may be and
still be moved ahead of it."""
NAME_RANK_MIN = 90.0
NAME_DENSE_GAP = 0.1
"""Fuzzy score (0..100) from which a named session or venue takes part in the fused ranking, and how
far below the closest entry in meaning a partly named one may be and still take part."""
FUSION_WEIGHTS = {"dense": 2.0, "bm25": 0.5, "names": 0.25, "coverage": 0.5, "people": 1.0}
"""Weight of each ranking in the fusion, chosen by how often the best entry is right on the labelled
question sets: dense similarity counts twice as much as each lexical signal."""


@dataclass(frozen=True)
class Suggestion:
    """A nearby topic offered with a decline: an entry id and its title in the asker's language."""

    entry_id: str
    title: str


@dataclass(frozen=True)
class Answer:
    """What the engine says to one question. ``text`` is plain text, exactly what the user receives."""

    question: str
    language: Lang
    answered: bool
    text: str
    sources: list[str]
    score: float
    suggestions: list[Suggestion] = field(default_factory=list)
    reason: str = ""
    best: str | None = None
    """The best-ranked entry, whether or not the gate let it through (for evaluation and calibration)."""
    signals: Signals | None = None
    outcome: Outcome | None = None
    """What the engine did (see :data:`index.types.Outcome`); when not given, ``answer`` or ``decline``
    from ``answered``."""

    def __post_init__(self) -> None:
        if self.outcome is None:
            object.__setattr__(self, "outcome", "answer" if self.answered else "decline")


@dataclass(frozen=True)
class _Ranked:
    entries: list[tuple[str, float]]
    dense: dict[str, float]
    names: dict[str, float]
    firsts: dict[str, str] = field(default_factory=dict)
    """The first entry of each retriever's own ranking."""
    people: dict[str, int] = field(default_factory=dict)
    """Entries mentioning someone the question names."""
    vector: np.ndarray | None = None
    """The question's embedding (None without dense search)."""


def passages_hash(passages: Sequence[Passage]) -> str:
    """A fingerprint of exactly what gets indexed (knowledge content and how it is composed)."""
    digest = hashlib.sha256()
    for p in passages:
        digest.update(f"{p.passage_id}\0{p.text}\0".encode())
    return digest.hexdigest()


def question_form(text: str) -> str:
    """How a question is put to the embedder: normalised, without closing punctuation.

    Casing and a trailing "?" move multilingual sentence embeddings more than the difference between
    two questions does, so user questions and FAQ phrasings are embedded in this one form.
    """
    return normalise(text).strip(" ?？!！。.")


def _for_embedding(passage: Passage) -> Passage:
    return replace(passage, text=question_form(passage.text)) if passage.kind == "question" else passage


_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d|25\d\d)(?!\d)")
_BUDDHIST_ERA_OFFSET = 543


_YEAR_SPAN = re.compile(
    r"(?<!\d)(?:19|20|25)\d\d\s*年?\s*(?:-|–|—|~|to|until|through|ถึง|至|到)\s*(?:19|20|25)\d\d(?!\d)"
)


def years_in(text: str, spans: bool = True) -> set[int]:
    """Calendar years written in ``text``; Thai Buddhist-era years (25xx) are converted (2566 -> 2023).
    With ``spans=False`` the years that only bound a span ("2014–2022", "2014 ถึง 2022") are left out."""
    if not spans:
        text = _YEAR_SPAN.sub(" ", text)
    years = {int(y) for y in _YEAR.findall(text)}
    return {y - _BUDDHIST_ERA_OFFSET if y >= 2500 else y for y in years}


def without_year(text: str, year: int) -> str:
    """``text`` without the event's own year (also as a Thai Buddhist-era year): every entry is about
    that year, so naming it says nothing about which one is meant, while the one entry that happens to
    spell it out ("2023 was the 10th year") would be pulled ahead. Other years are kept."""
    pattern = rf"(?:ปี|พ\.ศ\.|ค\.ศ\.)?\s*(?<!\d)(?:{year}|{year + _BUDDHIST_ERA_OFFSET})(?!\d)\s*年?"
    stripped = re.sub(pattern, " ", text)
    return " ".join(stripped.split()) if _has_content(stripped) else text


_SENTENCE_END = re.compile(r"(?<=[?？!！。])|(?<=\.)\s|\n")
_QUESTION_MARK = re.compile(r"[?？]")
_HAN = re.compile(r"[\u3400-\u9fff]")
FOCUS_MIN_CHARS = 80
"""Messages at least this long (in characters) get their question clause weighted (see ask_many)."""


def question_clause(text: str) -> str | None:
    """The question of a long message made of several sentences: the last sentence with a question
    mark, else the last sentence. None for a short or one-sentence message."""
    if (
        len(text) + len(_HAN.findall(text)) < FOCUS_MIN_CHARS
    ):  # a Chinese character says about two letters' worth
        return None
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) >= 2:
        asking = [s for s in sentences if _QUESTION_MARK.search(s)]
        return (asking or sentences)[-1]
    # One run-on sentence (Thai has no full stops): from its first asking clause to its last, when
    # clauses that only tell come before them ("my boss asked me to book the trip, how many days is
    # it"; "อยากรู้ว่างานปิดวันไหน จะได้จองตั๋วกลับ": the booking is only the reason).
    parts = clauses(text)
    asking = [i for i, (_, asks) in enumerate(parts) if asks]
    if not asking or asking[0] == 0:
        return None
    return " ".join(clause for clause, _ in parts[asking[0] : asking[-1] + 1])


_INTRO_LATIN = (
    r"(?:i'?d like to know|i would like to know|i want to know|i was wondering|can you tell me"
    r"|could you tell me)"
)
_INTRO_OTHER = r"(?:想问|请问|想知道|想了解|想确认|อยากทราบ|อยากรู้|ขอทราบ|ขอถาม|สอบถาม|รบกวนถาม|สนใจว่า)"
_CLAUSE_BREAK = re.compile(
    r"([?？]+)|[,，、;；.。!！\n]+|\s+(?:so|and|because|but|then|as)\s+|所以|因为|然后|好让|以便|จะได้|เพราะ|แล้วก็"
    # A phrase that introduces the question ("I'd like to know", "想问", "อยากทราบว่า") starts a clause.
    rf"|(?=\b{_INTRO_LATIN}\b)|(?={_INTRO_OTHER})"
)
_ASKING = re.compile(
    r"^(is|are|can|could|do|does|did|will|would|should|may|how|what|when|where|which|who|whom|whose|why)\b"
    r"|[吗吗呢么嘛]$|几|哪|什么|啥|怎么|怎样|如何|多少|是否|有没有|能不能|可不可以"
    r"|ไหม|มั้ย|มั๊ย|หรือเปล่า|หรือยัง|ไหน|อะไร|ยังไง|อย่างไร|กี่|เท่าไ[หร]|ใคร|เมื่อไ[หร]|ได้บ้าง|บ้าง"
    rf"|^{_INTRO_LATIN}\b|^{_INTRO_OTHER}"
)
_THAI_END = re.compile(r"(ไหม|มั้ย|มั๊ย|หรือเปล่า|ไหน|อะไร|ยังไง|อย่างไร|บ้าง|ครับ|คะ|ค่ะ|นะ|เท่าไ[หร]่?)$")


def clauses(text: str) -> list[tuple[str, bool]]:
    """The clauses of a message, each with whether it asks something (a question mark, a question word
    or particle) or only tells ("I need to book my flight"). Clauses end at punctuation and linking
    words ("so", "所以", "จะได้"); in Thai, where spaces end phrases, at a space after a question word or
    polite particle."""
    pieces = _CLAUSE_BREAK.split(normalise(text))
    found: list[tuple[str, bool]] = []
    for piece in pieces:
        if piece is None or not piece.strip():
            continue
        if piece.strip()[0] in "?？":
            if found:
                found[-1] = (found[-1][0], True)
            continue
        found.append((piece.strip(), False))
    if detect_language(text, "en") == "th":
        merged: list[tuple[str, bool]] = []
        for clause, asked in found:
            words: list[str] = []
            for word in clause.split(" "):
                words.append(word)
                if _THAI_END.search(word):
                    merged.append((" ".join(words), False))
                    words = []
            if words:
                merged.append((" ".join(words), False))
            if asked and merged:
                merged[-1] = (merged[-1][0], True)
        found = merged
    return [(c, asked or bool(_ASKING.search(c))) for c, asked in found] or [(text, True)]


def asking_clauses(text: str) -> list[str]:
    """The clauses of ``text`` that ask something, or all of them when none does (see :func:`clauses`)."""
    parts = clauses(text)
    return [clause for clause, asks in parts if asks] or [clause for clause, _ in parts]


def _has_content(text: str) -> bool:
    """True when the text has at least one letter (a bare number or emoji is not a question)."""
    return any(ch.isalpha() for ch in text)


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
    ) -> None:
        self.kb = kb
        self.passages = list(passages)
        self._entry_ids = [p.entry_id for p in self.passages]
        self.embedder = embedder
        self.dense = dense
        self.lexical = LexicalIndex(self.passages, token_cache)
        self.names = NameMatcher(name_pairs(kb))
        self.people = PeopleIndex(kb)
        self.spelling = SpellFixer((p.text for p in self.passages), keep=pattern_words())
        self.gate = gate or GateModel.load()
        self.build_report = build_report
        self.version = f"{kb.content_hash[:12]}-{embedder.id}"
        self._known_years = {kb.event.start_date.year, kb.event.end_date.year}
        self._related: dict[str, set[str]] = defaultdict(set)
        for item in kb.faq:
            for other in item.related:
                self._related[item.id].add(other)
                self._related[other].add(item.id)
        self.glosses = NameGlosses(kb)
        self._answers = {
            (entry.id, lg): answer_text(entry, kb, lg, self.glosses) for entry in kb.entries() for lg in LANGS
        }
        """Each entry's answer text per language (names glossed in Latin letters in Thai), composed once."""
        self._answer_years = {key: years_in(text) for key, text in self._answers.items()}
        self._answer_dated_years = {key: years_in(text, spans=False) for key, text in self._answers.items()}
        self._stated = {entry.id: stated_kinds(entry, kb) for entry in kb.entries()}
        self._unpublished = {entry.id: unpublished_kinds(entry) for entry in kb.entries()}
        self._priced = {entry.id: priced_subjects(entry, kb) for entry in kb.entries()}
        """What each entry gives a price of (a route's fare, the scenic area's tickets)."""
        self._covers = {
            entry.id: frozenset().union(*(uncovered_kinds(entry_text(entry, kb, lg), lg) for lg in LANGS))
            for entry in kb.entries()
        }
        """The normally uncovered kinds an entry does speak of (an entry about the venue's Wi-Fi)."""
        self._poles = {
            (entry.id, lg): poles(entry_text(entry, self.kb, lg), lg)
            | poles(entry_text(entry, kb, "en"), "en")
            for entry in kb.entries()
            for lg in LANGS
        }
        """Which ends of the event (start, end) each entry's answer speaks of, per language."""
        positions: dict[str, list[int]] = defaultdict(list)
        self._by_entry_lang: dict[tuple[str, Lang], list[int]] = defaultdict(list)
        for i, p in enumerate(self.passages):
            positions[p.entry_id].append(i)
            self._by_entry_lang[(p.entry_id, p.lang)].append(i)
        self._entry_positions = {entry_id: np.asarray(found) for entry_id, found in positions.items()}
        # The passages grouped by entry and language, for the best coverage of every group at once.
        self._group_of = {key: group for group, key in enumerate(self._by_entry_lang)}
        sizes = [len(found) for found in self._by_entry_lang.values()]
        self._group_order = np.asarray(
            [i for found in self._by_entry_lang.values() for i in found], dtype=np.intp
        )
        self._group_starts = np.asarray(np.cumsum([0, *sizes[:-1]]), dtype=np.intp)
        self._last_coverage: tuple[tuple[str, Lang], list[float]] | None = None

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
        langs = [detect_language(q[:QUERY_LIMIT], fallback_language) for q in questions]
        chatter = self._small_talk(questions, fallback_language)
        searched = self._searched_texts(questions, langs, topics)
        event = self.kb.event
        texts = [
            without_this_year(
                without_year(
                    event_days(
                        self.spelling.correct(q[:QUERY_LIMIT]), lang, event.start_date, event.end_date
                    ),
                    event.start_date.year,
                ),
                lang,
            )
            for q, lang in zip(searched, langs, strict=True)
        ]
        live = {
            i: row
            for row, i in enumerate(
                i for i, t in enumerate(texts) if i not in chatter and _has_content(normalise(t))
            )
        }
        vectors = None
        if live and mode != "bm25":
            vectors = self.embedder.embed_queries([question_form(texts[i]) for i in live])
            # A long message is embedded once more as its question clause alone, and the two vectors
            # are averaged, so the question at the end outweighs the story before it.
            focused = {row: focus for i, row in live.items() if (focus := question_clause(texts[i]))}
            if focused:
                extra = self.embedder.embed_queries([question_form(f) for f in focused.values()])
                for row, vector in zip(focused, extra, strict=True):
                    mixed = vectors[row] + vector
                    vectors[row] = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
        answers: list[Answer] = []
        for i, question in enumerate(questions):
            if i in chatter:
                answers.append(chatter[i])
                continue
            if i not in live:
                answers.append(self._decline(question, langs[i], [], empty=True))
                continue
            vector = vectors[live[i]] if vectors is not None else None
            answers.append(self._answer(question, texts[i], langs[i], vector, mode))
        return answers

    # -- start of the pipeline: small talk and follow-ups ------------------------------------------

    def _small_talk(self, questions: Sequence[str], fallback: Lang) -> dict[int, Answer]:
        """Replies to the questions that are small talk ("hi", "谢谢", "คุณเป็นใคร"), by position."""
        replies: dict[int, Answer] = {}
        for i, question in enumerate(questions):
            found = small_talk(question, fallback)
            if found is not None:
                replies[i] = Answer(
                    question,
                    found.language,
                    False,
                    found.reply,
                    [],
                    0.0,
                    reason="small talk",
                    outcome="smalltalk",
                )
        return replies

    def _searched_texts(
        self, questions: Sequence[str], langs: Sequence[Lang], topics: Sequence[Topic | None] | None
    ) -> list[str]:
        """What is searched for each question: the question, or a follow-up read with its chat's topic."""
        if not topics:
            return list(questions)
        searched = []
        for question, lang, topic in zip(questions, langs, topics, strict=True):
            followup = read_followup(question, lang, topic, self.kb) if topic is not None else None
            searched.append(followup.query if followup is not None else question)
        return searched

    def _rank(self, text: str, lang: Lang, vector: np.ndarray | None, mode: Mode) -> _Ranked:
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
            people = self.people.entries_for(text)
            if people:
                # Among the entries mentioning a named person, the ones closest in meaning come first.
                order = sorted(people, key=lambda e: (-people[e], -dense.get(e, 0.0)))
                rankings["people"] = [(e, float(people[e])) for e in order]
        firsts = {name: ranking[0][0] for name, ranking in rankings.items() if ranking and name != "people"}
        if len(rankings) == 1:
            return _Ranked(next(iter(rankings.values())), dense, names, firsts, people, vector)
        fused = self._fuse(text, lang, rankings, mode)
        if people and people.get(fused[0][0], 0) < max(people.values()):
            # A question naming people is about an entry that mentions them (all of them, when one
            # does): the best-ranked of those leads.
            most = max(people.values())
            i = next((i for i, (e, _) in enumerate(fused) if people.get(e, 0) == most), None)
            if i is not None:
                fused = [fused[i], *fused[:i], *fused[i + 1 :]]
        return _Ranked(fused, dense, names, firsts, people, vector)

    def _fuse(
        self, text: str, lang: Lang, rankings: dict[str, list[tuple[str, float]]], mode: Mode
    ) -> list[tuple[str, float]]:
        fused = reciprocal_rank_fusion(rankings, FUSION_WEIGHTS)
        if mode == "hybrid":
            # Coverage re-ranks the leading candidates: how much of the question each one accounts for.
            leading = [entry_id for entry_id, _ in fused[:RERANK]]
            rankings["coverage"] = sorted(
                ((e, self._coverage(text, lang, e)) for e in leading), key=lambda item: -item[1]
            )
            # Coverage is the last ranking: adding its share to the sums is the same as fusing again.
            fused = add_ranking(fused, rankings["coverage"], FUSION_WEIGHTS["coverage"])
        return fused

    def _coverage(self, text: str, lang: Lang, entry_id: str) -> float:
        group = self._group_of.get((entry_id, lang))
        if group is None:
            return 0.0
        key = (text, lang)
        last = self._last_coverage
        if last is None or last[0] != key:
            # Computed for every entry at once and kept for the question being answered, which asks
            # for the coverage of several entries.
            every = self.lexical.coverages(text, lang, self._group_order)
            last = self._last_coverage = (key, np.maximum.reduceat(every, self._group_starts).tolist())
        return last[1][group]

    def _missing(self, text: str, lang: Lang, entry_id: str) -> float:
        indexes = self._by_entry_lang.get((entry_id, lang), [])
        return min((self.lexical.missing(text, lang, i) for i in indexes), default=1.0)

    def _dense_with_links(self, ranked: _Ranked, entry_id: str) -> float:
        """The entry's own similarity, or that of an entry linked to it (an FAQ about getting around
        Xizha supports the Xizha venue card)."""
        linked = [ranked.dense.get(e, 0.0) for e in self._related.get(entry_id, ())]
        return max([self._dense_of(ranked, entry_id), *linked])

    def _dense_of(self, ranked: _Ranked, entry_id: str) -> float:
        """The entry's similarity to the question: from the dense hits, or computed over its passages
        when another retriever (a named person, the keywords) ranked an entry the dense search did not
        reach ("习近平来乌镇了吗" is closest in meaning to Wuzhen's location, not to the ceremony)."""
        found = ranked.dense.get(entry_id)
        if found is not None or ranked.vector is None:
            return found or 0.0
        return float(self.dense.similarities(ranked.vector, self._entry_positions[entry_id]).max())

    def _signals(self, text: str, lang: Lang, ranked: _Ranked, asked: frozenset[str]) -> Signals:
        """The evidence the answer decision weighs for the best entry (see :class:`index.gate.Signals`)."""
        top = ranked.entries[0][0]
        dense = self._dense_with_links(ranked, top)
        family = {top, *self._related.get(top, ())}
        others = [score for e, score in ranked.dense.items() if e not in family]
        unknown, words = self.lexical.unknown(text, lang)
        stated = self._stated[top]
        return Signals(
            dense=dense,
            coverage=self._coverage(text, lang, top),
            name=ranked.names.get(top, 0.0),
            missing=self._missing(text, lang, top),
            margin=dense - max(others, default=0.0),
            agree=float(not asked or bool(asked & stated)),
            unknown=unknown,
            dense_top=float(ranked.firsts.get("dense") in family),
            bm25_top=float(ranked.firsts.get("bm25") in family),
            person=0.0 if not ranked.people else 1.0 if family & ranked.people.keys() else -1.0,
            words=words,
            lang=lang,
        )

    def _answer(self, question: str, text: str, lang: Lang, vector: np.ndarray | None, mode: Mode) -> Answer:
        ranked = self._rank(text, lang, vector, mode)
        if not ranked.entries:
            return self._decline(question, lang, [], reason="nothing found")
        top = ranked.entries[0][0]
        model = self.gate
        signals = None
        # What the user wrote, not a follow-up read with its topic ("what about a taxi?" after "how much
        # is the bus?" asks about the taxi route, not its fare): what a price is asked of.
        asked_text = self.spelling.correct(question[:QUERY_LIMIT])
        if mode == "bm25":
            score = self._coverage(text, lang, top)
            decision = "answer" if score >= model.baseline_bm25_coverage else "decline"
            reason = "bm25 baseline"
        elif mode == "dense":
            score = ranked.dense.get(top, 0.0)
            decision = "answer" if score >= model.baseline_dense_min else "decline"
            reason = "dense baseline"
        else:
            asked = asked_kinds(text, lang)
            ranked = self._prefer_stated(self._prefer_pole(ranked, text, lang), asked)
            top = ranked.entries[0][0]
            signals = self._signals(text, lang, ranked, asked)
            decision, probability = model.decide(signals)
            score = probability
            reason = f"{decision}: p={probability:.2f}"
            if (
                decision != "decline"
                and is_gap(asked, self._unpublished[top])
                and not self._unpriced(asked_text, lang, top)
                and not self._uncovered(text, lang, top)
            ):
                # The entry says the asked fact is not published: its text helps, but it is no answer.
                # A question asking for something no entry states (parking, a hotel's price) is
                # declined below instead.
                text_out = self.entry_answer(top, lang)
                return Answer(
                    question, lang, False, text_out, [top], round(score, 4),
                    reason="not published", best=top, signals=signals, outcome="gap",
                )  # fmt: skip
        reply = self.entry_answer(top, lang)
        if decision != "decline" and mode == "hybrid" and self._other_year(text, lang, top, reply):
            decision, reason = "decline", "asks about another year"
        uncovered = self._uncovered(text, lang, top) if mode == "hybrid" else frozenset()
        if decision != "decline" and uncovered:
            decision, reason = "decline", f"not covered: {', '.join(sorted(uncovered))}"
        if decision != "decline" and mode == "hybrid" and not ranked.people:
            # A question naming a person the knowledge never mentions ("did Sam Altman speak?") is not
            # answered by a session that merely looks close.
            strangers = unknown_names(question, self.spelling.knows) or self.people.unknown_han_names(
                question
            )
            if strangers:
                decision, reason = "decline", f"unknown person: {', '.join(strangers)}"
        unpriced = self._unpriced(asked_text, lang, top) if mode == "hybrid" else frozenset()
        if decision != "decline" and unpriced:
            decision, reason = "decline", f"no price for: {', '.join(sorted(unpriced))}"
        near = self._near(ranked)
        if decision == "clarify" and len(near) > 0:
            answer = self._decline(question, lang, near, score, reason)
            options = "\n".join(f"• {s.title}" for s in answer.suggestions)
            text_out = f"{phrase('clarify', lang)}\n{options}"
            return replace(answer, text=text_out, best=top, signals=signals, outcome="clarify")
        if decision != "answer":
            return replace(self._decline(question, lang, near, score, reason), best=top, signals=signals)
        return Answer(question, lang, True, reply, [top], round(score, 4), [], reason, top, signals, "answer")

    def _prefer_pole(self, ranked: _Ranked, text: str, lang: Lang) -> _Ranked:
        """When the question asks when something starts (or ends) and the best entry speaks only of the
        other end, the first of the next entries that does not is moved up."""
        asked = poles(text, lang)
        if not opposite_pole(asked, self._poles[(ranked.entries[0][0], lang)]):
            return ranked
        for i, (entry_id, _) in enumerate(ranked.entries[1:PREFER_STATED], start=1):
            if not opposite_pole(asked, self._poles[(entry_id, lang)]):
                entries = [ranked.entries[i], *ranked.entries[:i], *ranked.entries[i + 1 :]]
                return replace(ranked, entries=entries)
        return ranked

    def _prefer_stated(self, ranked: _Ranked, asked: frozenset[str]) -> _Ranked:
        """Move up the first of the leading entries that states what the question asks for, when the
        best one neither states nor says is unpublished ("how do I get from Xizha to the venue" prefers
        the route to the venue card)."""
        first = ranked.entries[0][0]
        if not asked or asked & (self._stated[first] | self._unpublished[first]):
            return ranked
        for i, (entry_id, _) in enumerate(ranked.entries[1:PREFER_STATED], start=1):
            if ranked.people and first in ranked.people and entry_id not in ranked.people:
                continue  # the entry about the person the question names stays ahead
            if ranked.dense.get(entry_id, 0.0) < ranked.dense.get(first, 0.0) - PREFER_DENSE_GAP:
                continue  # far less alike in meaning: stating the kind of thing asked is not enough
            if asked & self._stated[entry_id]:
                entries = [ranked.entries[i], *ranked.entries[:i], *ranked.entries[i + 1 :]]
                return replace(ranked, entries=entries)
        return ranked

    def blocked(self, question: str, lang: Lang, entry_id: str) -> bool:
        """True when ``entry_id`` can never be the answer to ``question`` whatever the evidence: it only
        says the asked fact is not published, or the question asks about another year."""
        text = self.spelling.correct(question[:QUERY_LIMIT])
        if (
            is_gap(asked_kinds(text, lang), self._unpublished[entry_id])
            or self._uncovered(text, lang, entry_id)
            or self._unpriced(text, lang, entry_id)
        ):
            return True
        return self._other_year(text, lang, entry_id, self.entry_answer(entry_id, lang))

    def _other_year(self, text: str, lang: Lang, entry_id: str, reply: str) -> bool:
        """True when the question asks about a year ``reply`` (the answer of ``entry_id``) does not speak
        of. A question asking when something happened in a year needs that year as a date of the reply:
        the ends of a span ("2014–2022 in total") do not say when the 2022 summit was."""
        asked = self._years(text, lang) - self._known_years
        if not asked:
            return False
        if "when" in asked_kinds(text, lang):
            found = self._answer_dated_years.get((entry_id, lang))
            return not asked <= (found if found is not None else years_in(reply, spans=False))
        found = self._answer_years.get((entry_id, lang))
        return not asked <= (found if found is not None else years_in(reply))

    def _years(self, text: str, lang: Lang) -> set[int]:
        """The years a question asks about: written ones, and ones named relative to the event's
        ("next year", "去年", "ปีหน้า"), in the clauses that ask when others only tell ("next year I want
        to sell in China, how many exhibitors did the Expo have?" asks about this year's Expo)."""
        text = " ".join(asking_clauses(text))
        return years_in(text) | relative_years(text, lang, self.kb.event.start_date.year)

    def _uncovered(self, text: str, lang: Lang, entry_id: str) -> frozenset[str]:
        """What the question asks for that no entry states (a booking, a fee to attend, a dress code...).
        Only the clauses that ask count: "when does it start? I need to book my flight" asks when, and
        the booking is its reason; "where can I park?" asks where to park, not where the venue is. The
        entry's own subjects (an entry about the venue's Wi-Fi) are not counted."""
        uncovered = uncovered_kinds(text, lang) - self._covers[entry_id]
        if not uncovered:
            return uncovered
        asked = asking_clauses(text)
        return frozenset().union(*(uncovered_kinds(c, lang) for c in asked)) & uncovered

    def _unpriced(self, text: str, lang: Lang, entry_id: str) -> frozenset[str]:
        """What a price question asks the price of when the entry gives the price of none of it
        ("how much are hotels in Xizha" to the scenic area's card, which prices only its tickets). As
        for uncovered kinds, only the clauses that ask count: "when does it end? I'll book my flight"
        asks no price."""
        if "price" not in asked_kinds(text, lang) or not price_subjects(text, lang):
            return frozenset()
        asking = asking_clauses(text)
        if not any("price" in asked_kinds(clause, lang) for clause in asking):
            return frozenset()
        subjects = frozenset().union(*(price_subjects(clause, lang) for clause in asking))
        return subjects if subjects and not subjects & self._priced[entry_id] else frozenset()

    def _near(self, ranked: _Ranked) -> list[str]:
        """Up to :data:`SUGGESTIONS` leading entries, one per linked group (an FAQ and its venue card
        are one topic)."""
        chosen: list[str] = []
        for entry_id, _ in ranked.entries:
            if any(entry_id == c or entry_id in self._related.get(c, ()) for c in chosen):
                continue
            chosen.append(entry_id)
            if len(chosen) == SUGGESTIONS:
                break
        return chosen

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
