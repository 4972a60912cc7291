"""Text normalisation and word tokenisation for Thai, Chinese and English.

Segmentation goes by script, whatever the text's language: Thai runs go to PyThaiNLP's ``newmm``,
Han runs to jieba (search mode, which adds the parts of compound words, e.g. ``全体会议`` also gives
``会议``), and runs of Latin letters and digits become their own tokens (``k282``, ``5g``, ``2023``).
So names and codes inside a Thai or Chinese question match the same tokens in any passage.

Stopwords are dropped, but words that tell one question from another are kept: question words
("how", "many", "กี่", "几", "多少") and, for Thai, the content words PyThaiNLP's long stopword list
would remove ("ใกล้" near, "สูง" high, "เปิด" open, "ย่อย" sub-).

Everything here is a pure function of the text; tokenisation of the same short text is cached.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cache, lru_cache

import jieba
import zhconv
from pythainlp.corpus import thai_stopwords
from pythainlp.tokenize import word_tokenize
from pythainlp.util import normalize as thai_normalize

from index.types import Lang

QUERY_LIMIT = 1000
"""Characters of a question that are kept after normalisation: hostile input stays cheap."""

_RAW_FACTOR = 4
"""Normalisation reads at most ``limit * _RAW_FACTOR`` raw characters (control characters may go)."""

_THAI_CHAR = re.compile(r"[\u0e00-\u0e7f]")
_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SPACES = re.compile(r"\s+")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ZERO_WIDTH_SPACE = "\u200b"

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
        let know want about any some also just very into over under up out get got"""
    )
    - QUESTION_WORDS
)
_STOPWORDS_ZH = (
    _words(
        """的 了 吗 嘛 呢 吧 啊 呀 哦 么 是 在 和 与 及 跟 也 都 就 还 又 这 那 这个 那个 这些 那些 一个
        有 我 你 您 他 她 它 我们 你们 他们 请问 请 能 可以 要 想 知道 告诉 一下 什么 之 其 被 把 对 为 着
        过 得 地 所 以 或 而 并"""
    )
    - QUESTION_WORDS
)
_KEEP_TH = QUESTION_WORDS | _words(
    """ใกล้ ไกล นาน ระยะ ห่าง สูง สูงสุด เร็ว รวดเร็ว ใหญ่ เล็ก ใหม่ ยาว สั้น กว้าง ย่อย ที่สุด ล่าสุด
    เปิด ปิด เริ่ม จัด จัดงาน ร่วม ร่วมมือ แสดง เสร็จ สิ้น เข้า ออก ส่ง รับ ใช้ เปลี่ยน ผ่าน พบ
    วัน ช่วง ก่อน หลัง ภายใน ภายนอก ใต้ บน ระหว่าง กลุ่ม ชาว คำ ภาค"""
)
"""Thai words PyThaiNLP lists as stopwords that matter here: question words and domain content words."""


@cache
def _stopwords_th() -> frozenset[str]:
    return frozenset(thai_stopwords()) - _KEEP_TH


@cache
def _jieba() -> jieba.Tokenizer:
    """A private jieba tokenizer, loaded once on first use (about a second) with its logging silenced."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _drop_invisible(text: str) -> str:
    """Remove control, format, private-use and unassigned characters; whitespace is kept for later."""
    if text.isprintable():
        return text
    return "".join(c for c in text if c.isprintable() or c.isspace())


def normalise(text: str, limit: int | None = QUERY_LIMIT) -> str:
    """Return ``text`` in the canonical form every match and index uses.

    NFKC (full-width letters and digits become ASCII), Thai vowel and tone marks put back in
    canonical order (NFKC splits SARA AM), Thai digits as ASCII digits, invisible characters removed
    (a zero-width space, which Thai text uses as a word break, becomes a space), casefolded,
    Traditional Chinese converted to Simplified, whitespace collapsed. With ``limit`` (the default for
    questions) only that many characters are kept; pass ``None`` for passages.
    """
    if limit is not None:
        text = text[: limit * _RAW_FACTOR]
    text = unicodedata.normalize("NFKC", text).replace(_ZERO_WIDTH_SPACE, " ")
    text = _drop_invisible(text).casefold()
    if _THAI_CHAR.search(text):
        text = thai_normalize(text.translate(_THAI_DIGITS))
    if _HAN_CHAR.search(text):
        text = zhconv.convert(text, "zh-cn")
    text = _SPACES.sub(" ", text).strip()
    return text if limit is None else text[:limit]


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem_en(word: str) -> str:
    """Harman's "S" stemmer: fold English plurals (guests → guest, cities → city, routes → route)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


def _latin_tokens(run: str, lang: Lang) -> list[str]:
    word = _strip_accents(run)
    if word in _STOPWORDS_EN or (len(word) == 1 and not word.isdigit()):
        return []
    return [stem_en(word) if lang == "en" else word]


def _thai_tokens(run: str) -> list[str]:
    stop = _stopwords_th()
    return [w for w in word_tokenize(run, engine="newmm", keep_whitespace=False) if w not in stop]


def _han_tokens(run: str) -> list[str]:
    return [w for w in _jieba().lcut_for_search(run) if w not in _STOPWORDS_ZH]


@lru_cache(maxsize=1024)
def _tokenize(text: str, lang: Lang, limit: int | None) -> tuple[str, ...]:
    text = _THOUSANDS.sub("", normalise(text, limit))
    tokens: list[str] = []
    for match in _RUNS.finditer(text):
        kind, run = match.lastgroup, match.group()
        if kind == "th":
            tokens.extend(_thai_tokens(run))
        elif kind == "han":
            tokens.extend(_han_tokens(run))
        else:
            tokens.extend(_latin_tokens(run, lang))
    return tuple(tokens)


def tokenize(text: str, lang: Lang, limit: int | None = QUERY_LIMIT) -> list[str]:
    """Split ``text`` (raw or normalised) into index terms, in order, duplicates kept.

    ``lang`` is the language the text is in; it decides whether English plurals are folded, which
    is done only for English text (Latin words inside Thai or Chinese text are names and codes).
    ``limit`` caps the normalised length as in :func:`normalise`; pass ``None`` for passages.
    """
    if limit is not None:
        text = text[: limit * _RAW_FACTOR]
    return list(_tokenize(text, lang, limit))
