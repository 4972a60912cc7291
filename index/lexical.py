"""BM25 keyword search over the passages, one index per language, built once at start-up.

A question is searched in the index of its language. When a Thai or Chinese question contains Latin
words ("Wang Shu", "Tongxiang", "K282"), those words are also searched in the English index and the
hits are merged by score: Thai and Chinese passages usually write such names in their own script, so
the English passages are where the Latin spelling occurs. Both scores are BM25 sums of the same kind
of term weights over corpora of similar size, so they are comparable enough to rank together; the
caller maps a hit to its entry through ``Passage.entry_id`` whatever the passage's language.

Raw BM25 scores do not compare across questions, so :meth:`LexicalIndex.coverage` gives an absolute
signal: how much of the question (IDF-weighted) a passage contains.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path

import bm25s
import numpy as np

from index import textproc
from index.files import read_yaml, write_atomic
from index.textproc import QUESTION_WORDS, Term, stem_en, terms, tokenize
from index.types import LANGS, Hit, Lang, Passage

log = logging.getLogger(__name__)

_LATIN_WORD = re.compile(r"[a-z\u00c0-\u024f]")
QUESTION_WORD_WEIGHT = 0.3
SYNONYM_WEIGHT = 0.8
"""Weight of a synonym of a question word in keyword search, relative to the word itself."""
SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")


@cache
def synonyms(lang: Lang) -> dict[str, frozenset[str]]:
    """Each word of ``synonyms.yaml`` for ``lang`` with the other words of its group."""
    raw = read_yaml(SYNONYMS_FILE) or {}
    found: dict[str, set[str]] = {}
    for group in raw.get(lang) or ():
        words = {str(w) for w in group}
        for word in words:
            found.setdefault(word, set()).update(words - {word})
    return {word: frozenset(others) for word, others in found.items()}


@dataclass
class _LangIndex:
    """BM25 over the passages of one language, with what coverage needs."""

    positions: np.ndarray
    """Position in the original passage sequence of each document of this index."""
    bm25: bm25s.BM25
    doc_freq: Counter[str]
    size: int

    def __post_init__(self) -> None:
        # bm25s keeps each token's score in every document that has it as a sparse column: its ids,
        # the start of each column, the documents and the scores.
        matrix = self.bm25.scores
        self._ids: dict[str, int] = self.bm25.vocab_dict
        self._starts: list[int] = matrix["indptr"].tolist()
        self._docs: np.ndarray = matrix["indices"]
        self._scores: np.ndarray = matrix["data"]
        self._dtype = np.dtype(self.bm25.dtype)
        if self.bm25.nonoccurrence_array is not None:
            raise ValueError("a BM25 variant with a score for absent words is not supported")

    def idf(self, token: str) -> float:
        """BM25's IDF; a token no passage contains gets the highest weight."""
        df = self.doc_freq.get(token, 0)
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, token_ids: list[int]) -> np.ndarray:
        """The BM25 score of every document for these tokens: bm25s's own sums, in its order (each
        column added in turn, in single precision), without its per-call checks and conversions."""
        total = np.zeros(self.size, dtype=self._dtype)
        starts, docs, scores = self._starts, self._docs, self._scores
        for token_id in token_ids:
            start, end = starts[token_id], starts[token_id + 1]
            # A token's column lists each document once, so this adds what np.add.at would, faster.
            total[docs[start:end]] += scores[start:end]
        return total

    def search(self, weights: dict[str, float], k: int) -> list[tuple[int, float]]:
        """The ``k`` best documents by the BM25 score of each query token times its weight, as
        (position, score) pairs."""
        groups: dict[float, list[int]] = {}
        ids = self._ids
        for token, weight in weights.items():
            token_id = ids.get(token)
            if token_id is not None:
                groups.setdefault(weight, []).append(token_id)
        if not groups:
            return []
        scores = sum(weight * self.scores(token_ids) for weight, token_ids in groups.items())
        count = min(k, int(np.count_nonzero(scores > 0)))
        if count == 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return list(zip(self.positions[top].tolist(), scores[top].tolist(), strict=True))


def _query_weights(words: Sequence[Term]) -> dict[str, float]:
    """Each distinct query token (words and their parts) with its weight: 1, or less for question words.

    A question word ("when", "几", "ไหน") would otherwise let a short passage that shares only the
    question words (an FAQ phrasing of another topic) outrank the passage about the topic.
    """
    weights: dict[str, float] = {}
    for word, parts in words:
        weight = QUESTION_WORD_WEIGHT if word in QUESTION_WORDS else 1.0
        for token in (word, *parts):
            weights[token] = max(weights.get(token, 0.0), weight)
    return weights


def _tokeniser_fingerprint() -> str:
    """Changes whenever tokenisation may change: the tokeniser's code or the segmenters' versions."""
    digest = hashlib.sha256(Path(textproc.__file__).read_bytes())
    libraries = ("pythainlp", "jieba", "snowballstemmer", "zhconv")
    digest.update(" ".join(f"{name}={version(name)}" for name in libraries).encode())
    return digest.hexdigest()[:16]


class TokenCache:
    """Tokens of passage texts, kept on disk so a restart or an edit tokenises only new text.

    Thai and Chinese segmentation is the slowest step of start-up; the cache file's name carries a
    fingerprint of the tokeniser, so a change of code or dictionaries starts a fresh cache.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        """The cache directory, where what else is kept between starts goes too (:mod:`index.derived`)."""
        self.path = directory / f"tokens-{_tokeniser_fingerprint()}.json" if directory else None
        self._tokens: dict[str, list[str]] = {}
        self._used: set[str] = set()
        self._dirty = False
        if self.path and self.path.exists():
            try:
                self._tokens = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable token cache %s: %s", self.path, exc)

    def tokens(self, text: str, lang: Lang) -> list[str]:
        key = hashlib.sha1(f"{lang}\0{text}".encode()).hexdigest()
        self._used.add(key)
        found = self._tokens.get(key)
        if found is None:
            found = self._tokens[key] = tokenize(text, lang, limit=None)
            self._dirty = True
        return found

    def save(self) -> None:
        """Write the tokens used since loading if any were new (stale entries and files are dropped)."""
        if not (self.path and self._dirty):
            return
        self._tokens = {key: self._tokens[key] for key in self._used}
        write_atomic(self.path, json.dumps(self._tokens, ensure_ascii=False).encode())
        for old in self.path.parent.glob("tokens-*.json"):
            if old != self.path:
                old.unlink(missing_ok=True)
        self._dirty = False


class LexicalIndex:
    """Keyword search and query-coverage over a fixed sequence of passages.

    Building tokenises every passage (and so loads the Thai and Chinese dictionaries once);
    searches then only tokenise the question, which is cached for repeated calls.
    """

    def __init__(self, passages: Sequence[Passage], cache: TokenCache | None = None) -> None:
        cache = cache or TokenCache()
        self._langs: list[Lang] = [p.lang for p in passages]
        self._token_sets: list[frozenset[str]] = []
        self._content_cache: dict[
            tuple[str, Lang], list[tuple[str, tuple[str, ...], float, frozenset[str]]]
        ] = {}
        self._last_coverages: tuple[tuple[str, Lang], np.ndarray] | None = None
        self._last_missing_terms: (
            tuple[tuple[str, Lang], list[tuple[str, frozenset[str], tuple[str, ...], float]]] | None
        ) = None
        postings: dict[Lang, dict[str, list[int]]] = {lang: {} for lang in LANGS}
        docs: dict[Lang, list[list[str]]] = {lang: [] for lang in LANGS}
        positions: dict[Lang, list[int]] = {lang: [] for lang in LANGS}
        self._local = np.zeros(len(passages), dtype=np.intp)
        """Each passage's place among the passages of its language."""
        for position, passage in enumerate(passages):
            tokens = cache.tokens(passage.text, passage.lang)
            self._token_sets.append(frozenset(tokens))
            local = self._local[position] = len(positions[passage.lang])
            for token in self._token_sets[-1]:
                postings[passage.lang].setdefault(token, []).append(local)
            docs[passage.lang].append(tokens)
            positions[passage.lang].append(position)
        self._size = len(self._langs)
        self._postings = {
            lang: {token: np.asarray(found, dtype=np.intp) for token, found in postings[lang].items()}
            for lang in LANGS
        }
        """Per language, the places (among that language's passages) of the passages with each token."""
        self._lang_sizes = {lang: len(positions[lang]) for lang in LANGS}
        self._indexes: dict[Lang, _LangIndex] = {}
        for lang in LANGS:
            if not any(docs[lang]):
                continue
            bm25 = bm25s.BM25()
            bm25.index(docs[lang], show_progress=False)
            doc_freq = Counter(t for doc in docs[lang] for t in set(doc))
            self._indexes[lang] = _LangIndex(
                np.asarray(positions[lang]), bm25, doc_freq, size=len(docs[lang])
            )
        cache.save()

    def search(self, query: str, lang: Lang, k: int = 20) -> list[Hit]:
        """The ``k`` best passages for ``query`` by BM25, best first; only hits with a positive score.

        Latin words of a Thai or Chinese question are also looked up in the English passages.
        """
        return [Hit(index=position, score=score) for position, score in self.search_pairs(query, lang, k)]

    def search_pairs(self, query: str, lang: Lang, k: int = 20) -> list[tuple[int, float]]:
        """:meth:`search` as ``(passage position, score)`` pairs."""
        weights = _query_weights(terms(query, lang))
        for token, weight in list(weights.items()):
            for other in synonyms(lang).get(token, ()):
                weights[other] = max(weights.get(other, 0.0), weight * SYNONYM_WEIGHT)
        found: list[tuple[int, float]] = []
        if lang in self._indexes:
            found.extend(self._indexes[lang].search(weights, k))
        if lang != "en" and "en" in self._indexes:
            latin = {stem_en(t): w for t, w in weights.items() if _LATIN_WORD.search(t)}
            found.extend(self._indexes["en"].search(latin, k))
        found.sort(key=lambda pair: -pair[1])
        return found[:k]

    def coverage(self, query: str, lang: Lang, index: int) -> float:
        """Share (0..1) of the question's distinct content words, weighted by IDF, found in passage ``index``.

        Question words ("how many", "几", "กี่") are left out: they say nothing about the topic. IDF comes
        from the passages of the passage's language, and words no passage contains count fully against
        coverage, so an off-topic question scores low against every passage. 0.0 for an empty question.
        A compound word of the question the passage lacks counts for the share of its parts it has.
        The question is tokenised as text of the passage's language (``lang`` is the question's own):
        for an English passage found by the Latin words of a Thai question, plurals fold the same way.
        """
        content = self._weighted_content(query, self._langs[index])
        if not content:
            return 0.0
        present = self._token_sets[index]
        total = found = 0.0
        for word, parts, weight, others in content:
            total += weight
            if word in present or others & present:
                found += weight
            elif parts:
                found += weight * sum(part in present for part in parts) / len(parts)
        return found / total

    def coverages(self, query: str, passage_lang: Lang, indexes: np.ndarray) -> np.ndarray:
        """:meth:`coverage` of ``query`` for each of the passages at ``indexes``, all of ``passage_lang``.

        Computed for every passage of that language at once from the passages containing each question
        word (the same sums in the same order as :meth:`coverage`, so the values are identical) and
        kept for the question being answered, which asks this of several entries.
        """
        key = (query, passage_lang)
        last = self._last_coverages
        if last is not None and last[0] == key:
            every = last[1]
        else:
            every = self._coverage_all(self._weighted_content(query, passage_lang), passage_lang)
            self._last_coverages = (key, every)
        return every[self._local[indexes]]

    def _coverage_all(
        self, content: list[tuple[str, tuple[str, ...], float, frozenset[str]]], lang: Lang
    ) -> np.ndarray:
        """:meth:`coverage` for every passage of ``lang``, in their order."""
        size, postings = self._lang_sizes[lang], self._postings[lang]
        found = np.zeros(size)
        if not content:
            return found
        empty = np.zeros(0, dtype=np.intp)
        total = 0.0
        for word, parts, weight, others in content:
            total += weight
            whole = np.zeros(size, dtype=bool)
            whole[postings.get(word, empty)] = True
            for other in others:
                whole[postings.get(other, empty)] = True
            found[whole] += weight
            if parts:
                count = np.zeros(size)
                for part in parts:
                    count[postings.get(part, empty)] += 1
                rest = ~whole
                found[rest] += weight * count[rest] / len(parts)
        return found / total

    def _weighted_content(
        self, query: str, passage_lang: Lang
    ) -> list[tuple[str, tuple[str, ...], float, frozenset[str]]]:
        """The question's content words as text of ``passage_lang``: each with its parts, its IDF and its
        synonyms. Kept for the last few questions: coverage is asked of many passages per question."""
        key = (query, passage_lang)
        found = self._content_cache.get(key)
        if found is not None:
            return found
        lang_index = self._indexes.get(passage_lang)
        words = {term.word: term.parts for term in terms(query, passage_lang)}
        found = []
        if lang_index is not None:
            groups = synonyms(passage_lang)
            found = [
                (word, tuple(parts), lang_index.idf(word), groups.get(word, frozenset()))
                for word, parts in words.items()
                if word not in QUESTION_WORDS
            ]
        if len(self._content_cache) >= 256:
            self._content_cache.clear()
        self._content_cache[key] = found
        return found

    def unknown(self, query: str, lang: Lang) -> tuple[float, int]:
        """Share (0..1, IDF-weighted) of the question's content words that no passage uses, and how many
        content words the question has.

        A question about something the knowledge never mentions ("wifi password", "dress code") has
        most of its weight in such words. Latin words of a Thai or Chinese question count as known when
        the English passages use them.
        """
        index = self._indexes.get(lang)
        english = self._indexes.get("en")
        content = [t for t in terms(query, lang) if t.word not in QUESTION_WORDS]
        if not content or index is None:
            return 0.0, 0
        total = missing = 0.0
        for word, parts in content:
            weight = index.idf(word)
            total += weight
            known = index.doc_freq.get(word, 0) > 0
            if not known and parts:
                known = sum(index.doc_freq.get(p, 0) > 0 for p in parts) * 2 >= len(parts)
            if not known and english is not None and lang != "en" and _LATIN_WORD.search(word):
                known = english.doc_freq.get(stem_en(word), 0) > 0
            if not known:
                missing += weight
        return missing / total, len(content)

    def missing(self, query: str, lang: Lang, indexes: Sequence[int]) -> float:
        """The weight (0..1) of the most telling question word a passage lacks: its IDF over the highest
        IDF possible; the least of it over the passages at ``indexes`` (all of one language; 1.0 when
        there are none). A question about the venue's prayer room matches the venue on "venue" but lacks
        "prayer", a word the knowledge never uses; 0.0 when a passage has every content word."""
        if not len(indexes):
            return 1.0
        passage_lang = self._langs[indexes[0]]
        if passage_lang not in self._indexes:
            return 0.0
        content = self._missing_terms(query, passage_lang)
        return min(_most_telling_lacking(content, self._token_sets[i]) for i in indexes)

    def _missing_terms(
        self, query: str, passage_lang: Lang
    ) -> list[tuple[str, frozenset[str], tuple[str, ...], float]]:
        """The question's content words as text of ``passage_lang`` (an index of that language must
        exist), each with its synonyms, its parts and its IDF over the highest IDF possible, most
        telling first; kept for the question being answered, which asks :meth:`missing` of several
        passages."""
        key = (query, passage_lang)
        last = self._last_missing_terms
        if last is not None and last[0] == key:
            return last[1]
        lang_index = self._indexes[passage_lang]
        top = math.log(1.0 + (lang_index.size + 0.5) / 0.5)
        groups = synonyms(passage_lang)
        found = [
            (word, groups.get(word, frozenset()), parts, lang_index.idf(word) / top)
            for word, parts in terms(query, passage_lang)
            if word not in QUESTION_WORDS
        ]
        found.sort(key=lambda term: -term[3])  # most telling first: the first one lacking is the answer
        self._last_missing_terms = (key, found)
        return found


def _most_telling_lacking(
    content: list[tuple[str, frozenset[str], tuple[str, ...], float]], present: frozenset[str]
) -> float:
    """The weight of the first word of ``content`` (most telling first) a passage with the tokens
    ``present`` lacks, or 0.0: a word counts as there with a synonym or with half its parts."""
    for word, others, parts, weight in content:
        if word in present or others & present:
            continue
        if parts and sum(part in present for part in parts) * 2 >= len(parts):
            continue
        return weight
    return 0.0
