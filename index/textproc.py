"""Text normalisation and word tokenisation for Thai, Chinese and English.

Segmentation goes by script, whatever the text's language: Thai runs go to PyThaiNLP's ``newmm``,
Han runs to jieba, and runs of Latin letters and digits become their own tokens (``k282``, ``5g``,
``2023``). So names and codes inside a Thai or Chinese question match the same tokens in any passage.

A Thai or Chinese compound word also yields its parts, the shortest split of it into other dictionary
words: ``ผู้ออกแบบ`` (designer) gives ``ออกแบบ`` (design), ``สถานีรถไฟ`` gives ``สถานี`` and
``รถไฟ``, ``全体会议`` gives ``全体`` and ``会议``. A question then matches a passage that uses the
shorter or the longer form. :func:`terms` keeps each word with its parts; :func:`tokenize` flattens.

Stopwords are dropped, but words that tell one question from another are kept: question words
("how", "many", "กี่", "几", "多少") and, for Thai, the content words PyThaiNLP's long stopword list
would remove ("ใกล้" near, "สูง" high, "เปิด" open, "ย่อย" sub-).

Everything here is a pure function of the text; tokenisation of the same text is cached.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import jieba
import snowballstemmer
import zhconv
from pythainlp.corpus import thai_stopwords, thai_words
from pythainlp.tokenize import word_tokenize
from pythainlp.util import normalize as thai_normalize

from index.files import read_yaml
from index.language import HAN_SCRIPT, THAI_SCRIPT
from index.numerals import PLACE_NAMES_FILE, chinese_numerals
from index.types import Lang

QUERY_LIMIT = 1000
"""Characters of a question that are kept after normalisation: hostile input stays cheap."""

_RAW_FACTOR = 4
"""Normalisation reads at most ``limit * _RAW_FACTOR`` raw characters (control characters may go)."""

_SPACES = re.compile(r"\s+")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ZERO_WIDTH_SPACE = "\u200b"
_ZERO_WIDTH_IN_WORD = re.compile(r"(?<=[^\W\d_])\u200b+(?=[^\W\d_])", re.ASCII)
"""A zero-width space (U+200B) inside a Latin word is dropped ("where"); elsewhere it is a word break."""
_MAX_SPLIT = 24
"""Longer words are not split into parts (no dictionary word is that long; keeps hostile input cheap)."""
_TNC_FREQ_FILE = "tnc_freq.txt"
_THAI_PART_MIN_FREQ = 1000
"""A Thai part must occur this often in the Thai National Corpus: rare fragments are not words."""

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_RUNS = re.compile(
    r"(?P<th>[\u0e01-\u0e4e]+)"
    r"|(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+)"
    r"|(?P<lat>[0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+)"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


QUESTION_WORDS = _words(
    """how many much when where who whom whose which far long time date day cost price
    几 几点 多少 哪 哪里 哪儿 哪个 哪天 时候 怎么 怎样 如何 谁 多远 多久 多长
    กี่ ไหน ที่ไหน วันไหน เมื่อไหร่ เมื่อไร เมื่อใด ยังไง อย่างไร ใคร เท่าไหร่ เท่าไร เท่าใด ทำไม"""
)
"""Words that say what kind of answer is wanted ("how many", "几", "กี่"); never dropped as stopwords."""

_STOPWORDS_EN = (
    _words(
        """a an the is are was were be been being am do does did done of to in on at for from by with as
        and or but if so than then that this these those it its i me my we our us you your he she
        they them their there here what can could would should will shall may might must please tell
        let know want about any some also just very into over under up out get got
        hi hello hey thanks thank kindly really actually exactly quite ok okay sorry excuse dear
        wondering wonder anyone someone something anything ve ll re"""
    )
    - QUESTION_WORDS
)
_STOPWORDS_ZH = (
    _words(
        """的 了 吗 嘛 呢 吧 啊 呀 哦 么 是 在 和 与 及 跟 也 都 就 还 又 这 那 这个 那个 这些 那些 一个 个 会
        有 我 你 您 他 她 它 我们 你们 他们 请问 请 能 可以 要 想 知道 告诉 一下 什么 之 其 被 把 对 为 着
        过 得 地 所 以 或 而 并 您好 你好 谢谢 麻烦 一共 总共 到底 呀 啦"""
    )
    - QUESTION_WORDS
)
_PARTICLES_TH = _words("ป่ะ มั้ย ไหม คะ ค่ะ ครับ นะ จ้า จ้ะ เนี่ย อะ หน่อย ค้าบ คับ ฮะ จ๊ะ")
"""Spoken-style particles (politeness, question tags) that PyThaiNLP's stopword list does not cover."""
_KEEP_TH = QUESTION_WORDS | _words(
    """ใกล้ ไกล นาน ระยะ ห่าง สูง สูงสุด เร็ว รวดเร็ว ใหญ่ เล็ก ใหม่ ยาว สั้น กว้าง ย่อย ที่สุด ล่าสุด
    เปิด ปิด เริ่ม จัด จัดงาน ร่วม ร่วมมือ แสดง เสร็จ สิ้น เข้า ออก ส่ง รับ ใช้ เปลี่ยน ผ่าน พบ
    วัน ช่วง ก่อน หลัง ภายใน ภายนอก ใต้ บน ระหว่าง กลุ่ม ชาว คำ ภาค"""
)
"""Thai words PyThaiNLP lists as stopwords that matter here: question words and domain content words."""


@cache
def _stopwords_th() -> frozenset[str]:
    return (frozenset(thai_stopwords()) | _PARTICLES_TH) - _KEEP_TH


@cache
def _thai_common_words() -> frozenset[str]:
    """Dictionary words seen at least ``_THAI_PART_MIN_FREQ`` times in the Thai National Corpus."""
    dictionary = thai_words()
    common = set()
    # Streamed from the corpus file bundled with PyThaiNLP: the full list would cost ~30 MB at start-up.
    with resources.files("pythainlp.corpus").joinpath(_TNC_FREQ_FILE).open(encoding="utf-8") as lines:
        for line in lines:
            word, _, count = line.rstrip("\n").partition("\t")
            if count.isdigit() and int(count) >= _THAI_PART_MIN_FREQ and word in dictionary:
                common.add(word)
    return frozenset(common)


class SortedWords:
    """A dictionary as its words in sorted order, asked what PyThaiNLP's ``newmm`` segmenter asks of
    its trie: the words that start a text at a position (:meth:`prefixes`, shortest first).

    PyThaiNLP's own trie of its 62,000 Thai words is a tree of Python nodes that costs about 60 MB;
    this list shares the strings of the dictionary's word set and costs half a megabyte. The words that
    start with a piece of text are a run of the sorted list, found by bisection, so each step from one
    piece to the next searches on from where the last one stopped. The segmentation is the same.
    """

    __slots__ = ("_words",)

    def __init__(self, words: Iterable[str]) -> None:
        self._words = sorted(words)

    def __len__(self) -> int:
        return len(self._words)

    def prefixes(self, text: str, start: int = 0) -> list[str]:
        """The words ``text`` has at ``start``, shortest first."""
        words, found = self._words, []
        size, low = len(self._words), 0
        for end in range(start + 1, len(text) + 1):
            piece = text[start:end]
            low = bisect_left(words, piece, low)
            if low == size:
                break
            if words[low] == piece:
                found.append(piece)
            elif not words[low].startswith(piece):
                break  # no word goes on with this piece
        return found


@cache
def _thai_dictionary() -> SortedWords:
    """PyThaiNLP's Thai word list, for its ``newmm`` segmenter."""
    return SortedWords(thai_words())


JIEBA_MIN_FREQ = 5
"""Words of jieba's dictionary seen fewer times than this are left out of the tokenizer's dictionary:
that keeps 137,000 of its 349,000 words and saves about 40 MB; the rest are rare words that jieba's
model for unknown words still segments, the same way in questions and in the knowledge."""


def _small_jieba_dictionary() -> Path:
    """jieba's dictionary without its rarest words, written once to the temporary directory."""
    source = Path(jieba.__file__).with_name("dict.txt")
    target = Path(tempfile.gettempdir()) / f"summit-bot-jieba-{jieba.__version__}-min{JIEBA_MIN_FREQ}.txt"
    if not target.exists():
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with source.open(encoding="utf-8") as lines, os.fdopen(fd, "w", encoding="utf-8") as out:
                out.writelines(line for line in lines if int(line.split(" ", 2)[1]) >= JIEBA_MIN_FREQ)
            os.chmod(partial, 0o644)
            os.replace(partial, target)  # streamed, then renamed: a concurrent reader never sees half
        finally:
            Path(partial).unlink(missing_ok=True)
    return target


@cache
def _jieba() -> jieba.Tokenizer:
    """A private jieba tokenizer, loaded once on first use (about a second) with its logging silenced."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer(str(_small_jieba_dictionary()))
    tokenizer.initialize()
    return tokenizer


def _drop_invisible(text: str) -> str:
    """Remove control, format, private-use and unassigned characters; whitespace is kept for later."""
    if text.isprintable():
        return text
    return "".join(c for c in text if c.isprintable() or c.isspace())


@lru_cache(maxsize=1 << 17)
def normalise(text: str, limit: int | None = QUERY_LIMIT, *, places: bool = True) -> str:
    """Return ``text`` in the canonical form every match and index uses.

    NFKC (full-width letters and digits become ASCII), Thai vowel and tone marks put back in
    canonical order (NFKC splits SARA AM), Thai digits as ASCII digits, invisible characters removed
    (a zero-width space, which Thai text uses as a word break, becomes a space), casefolded,
    Traditional Chinese converted to Simplified, Chinese numerals that are numbers written as digits,
    place names in the knowledge base's spelling (see :mod:`index.numerals`; ``places=False`` skips
    this), whitespace collapsed. With ``limit`` (the default for questions) only that many characters
    are kept; pass ``None`` for passages.

    Results are cached: rebuilding the indexes after a knowledge change normalises again only the
    texts that changed (the Thai normaliser alone takes seconds over a large knowledge base).
    """
    if limit is not None:
        text = text[: limit * _RAW_FACTOR]
    text = unicodedata.normalize("NFKC", text)
    if _ZERO_WIDTH_SPACE in text:
        text = _ZERO_WIDTH_IN_WORD.sub("", text).replace(_ZERO_WIDTH_SPACE, " ")
    text = _SPACES.sub(" ", _drop_invisible(text)).strip()[:limit].casefold()[:limit]
    if THAI_SCRIPT.search(text):
        text = thai_normalize(text.translate(_THAI_DIGITS))
    if HAN_SCRIPT.search(text):
        text = chinese_numerals(zhconv.convert(text, "zh-cn"))
    return place_names(text) if places else text


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _snowball() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem_en(word: str) -> str:
    """The Snowball (Porter2) stem of an English word: attended → attend, guests → guest.

    Question words are kept as they are (they are matched by spelling elsewhere), and so are short
    words and codes with digits ("k282", "5g").
    """
    if len(word) <= 3 or not word.isalpha() or word in QUESTION_WORDS:
        return word
    return _snowball().stemWord(word)


class Term(NamedTuple):
    """A word of the text with the parts it splits into (empty unless it is a compound)."""

    word: str
    parts: tuple[str, ...]


def _split(word: str, is_word: Callable[[str], bool], min_len: int) -> tuple[str, ...]:
    """The split of ``word`` into the fewest other dictionary words (at least two), or ``()``."""
    if len(word) > _MAX_SPLIT:
        return ()
    size = len(word)
    best: list[tuple[str, ...] | None] = [()] + [None] * size
    for end in range(1, size + 1):
        for start in range(max(0, end - _MAX_SPLIT), end - min_len + 1):
            before = best[start]
            piece = word[start:end]
            if before is None or (start == 0 and end == size) or not is_word(piece):
                continue
            current = best[end]
            if current is None or len(before) + 1 < len(current):
                best[end] = (*before, piece)
    return best[size] or ()


@lru_cache(maxsize=65536)
def _thai_parts(word: str) -> tuple[str, ...]:
    """Parts of a Thai compound, split only into common words: ``ประชุม`` is not ``ประ`` + ``ชุม``."""
    stop = _stopwords_th()
    return tuple(p for p in _split(word, _thai_common_words().__contains__, 2) if p not in stop)


@lru_cache(maxsize=65536)
def _han_parts(word: str) -> tuple[str, ...]:
    """Parts of a Chinese word of three or more characters; single characters are too vague to keep."""
    if len(word) < 3:
        return ()
    freq = _jieba().FREQ
    pieces = _split(word, lambda piece: freq.get(piece, 0) > 0, 1)
    return tuple(p for p in pieces if len(p) > 1 and p not in _STOPWORDS_ZH)


def _latin_terms(run: str, lang: Lang) -> list[Term]:
    word = _strip_accents(run)
    if word in _STOPWORDS_EN or (len(word) == 1 and not word.isdigit()):
        return []
    return [Term(stem_en(word) if lang == "en" else word, ())]


def _thai_terms(run: str) -> list[Term]:
    stop = _stopwords_th()
    words = word_tokenize(run, custom_dict=_thai_dictionary(), engine="newmm", keep_whitespace=False)
    return [Term(w, _thai_parts(w)) for w in words if w not in stop]


def thai_segments(run: str) -> list[str]:
    """The words of a Thai run, as the index segments them (stopwords kept)."""
    return word_tokenize(run, custom_dict=_thai_dictionary(), engine="newmm", keep_whitespace=False)


_HAN_ASKING = ("哪", "几")
"""Question characters jieba's guessing of unknown words glues to the word after them ("在哪开" as
在/哪开, "在哪办" as 在/哪办)."""


def _han_words(run: str) -> list[str]:
    """jieba's words of a Chinese run, with the question word at the start of a word jieba's dictionary
    does not hold split off ("哪开" -> 哪, 开; "哪天开" -> 哪天, 开; "哪些", "几个" stay): the question
    word is then read as one, and the verb matches the verb of a passage."""
    segmenter = _jieba()

    def known(word: str) -> bool:
        return word in QUESTION_WORDS or bool(segmenter.FREQ.get(word))

    words = []
    for word in segmenter.lcut(run):
        if len(word) > 1 and word.startswith(_HAN_ASKING) and not known(word):
            cut = max(n for n in range(1, len(word)) if n == 1 or known(word[:n]))
            words.extend((word[:cut], word[cut:]))
        elif words and words[-1] in _HAN_ASKING and len(word) > 1 and words[-1] + word[0] in QUESTION_WORDS:
            words[-1] += word[0]  # "哪" + "天开" -> "哪天" + "开"
            words.append(word[1:])
        else:
            words.append(word)
    return words


def _han_terms(run: str) -> list[Term]:
    return [Term(w, _han_parts(w)) for w in _han_words(run) if w not in _STOPWORDS_ZH]


@lru_cache(maxsize=1024)
def _terms(text: str, lang: Lang, limit: int | None) -> tuple[Term, ...]:
    text = _THOUSANDS.sub("", normalise(text, limit))
    found: list[Term] = []
    for match in _RUNS.finditer(text):
        kind, run = match.lastgroup, match.group()
        if kind == "th":
            found.extend(_thai_terms(run))
        elif kind == "han":
            found.extend(_han_terms(run))
        else:
            found.extend(_latin_terms(run, lang))
    return tuple(found)


def terms(text: str, lang: Lang, limit: int | None = QUERY_LIMIT) -> tuple[Term, ...]:
    """The words of ``text`` (raw or normalised), in order, stopwords dropped, each with its parts.

    ``lang`` is the language the text is in; it decides whether English plurals are folded, which
    is done only for English text (Latin words inside Thai or Chinese text are names and codes).
    ``limit`` caps the normalised length as in :func:`normalise`; pass ``None`` for passages.
    """
    if limit is not None:
        text = text[: limit * _RAW_FACTOR]
    return _terms(text, lang, limit)


def word_ends(run: str) -> frozenset[int]:
    """Where the words of ``run`` (normalised, without spaces) end, as offsets: Thai and Chinese are
    segmented as for indexing (stopwords kept), a Latin or numeric stretch is one word."""
    ends, at = set(), 0
    for match in _RUNS.finditer(run):
        kind, part = match.lastgroup, match.group()
        if kind == "th":
            words = word_tokenize(part, custom_dict=_thai_dictionary(), engine="newmm", keep_whitespace=False)
        elif kind == "han":
            words = _jieba().lcut(part)
        else:
            words = [part]
        at = match.start()
        for word in words:
            at += len(word)
            ends.add(at)
    return frozenset(ends)


def tokenize(text: str, lang: Lang, limit: int | None = QUERY_LIMIT) -> list[str]:
    """The index terms of ``text``: each word followed by its parts, duplicates kept (see :func:`terms`)."""
    return [token for term in terms(text, lang, limit) for token in (term.word, *term.parts)]


@cache
def _place_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One regular expression over every spelling (variants and canonical forms), longest first."""
    # The variants are compared in normalised form.
    data = read_yaml(PLACE_NAMES_FILE)
    spelling: dict[str, str] = {}
    for place in data["places"]:
        for canonical, variants in place.items():
            target = normalise(canonical, limit=None, places=False)
            spelling[target] = target
            for variant in variants:
                spelling[normalise(variant, limit=None, places=False)] = target
    alternatives = []
    for written in sorted(spelling, key=len, reverse=True):
        escaped = re.escape(written)
        # Latin spellings are whole words ("wuzen", not the inside of another word).
        alternatives.append(rf"(?<![0-9a-z]){escaped}(?![0-9a-z])" if written[0].isascii() else escaped)
    return re.compile("|".join(alternatives)), spelling


def place_names(text: str) -> str:
    """``text`` (normalised) with place names in the knowledge base's spelling."""
    pattern, spelling = _place_pattern()
    return pattern.sub(lambda m: spelling[m.group()], text)
