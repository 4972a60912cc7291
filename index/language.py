"""Guessing the language of a question from the scripts it is written in.

The rule, applied to letters only (digits, punctuation, emoji and spaces carry no language):

* Thai letters (U+0E00–U+0E7F, without Thai digits and the baht sign) count 1 each, Latin letters
  (ASCII, Latin-1 and Latin Extended-A/B, full-width A–Z) count 1 each, Han ideographs (CJK Unified,
  Extension A and B–F, compatibility ideographs) count 3 each, because one ideograph carries about as
  much as a short Latin or Thai word. Kana and Hangul do not count.
* ``th`` when the Thai weight is at least 30 % of the total: a Thai question that names "Wang Shu" or
  "K282" is still Thai. Thai is checked before Chinese, so a Thai question quoting "乌镇" stays Thai.
* otherwise ``th`` for text mixing Thai and Latin letters when its Thai words include function words or
  particles ("มี", "กี่", "ไหม", "ครับ"): the question is put in Thai, about things named in English
  ("Special Contributorsมีกี่ราย", "Light of Internet Expo Center อยู่ไหน"), whose English "of" or
  "the" belongs to the names. A bare Thai name in an English question carries no Thai grammar.
* otherwise, for text mixing Han and Latin letters, the grammar decides: English function words
  ("the", "is", "when", "how") with no Chinese function characters ("的", "吗", "几", "怎么") make it
  ``en`` (an English question quoting "乌镇峰会"), and the reverse makes it ``zh`` (a Chinese question
  naming the "Wuzhen Summit"); when both or neither occur, the weights below decide.
* otherwise ``zh`` when the Han weight is at least 30 % of the total (Chinese with "K282" or "5G").
* otherwise ``en`` when there are at least two Latin letters; a lone letter ("5G", "A1") says nothing.
* otherwise the caller's ``fallback`` (empty text, emoji, digits, other scripts).
"""

from __future__ import annotations

import re

from index.types import Lang

THAI_SCRIPT = re.compile(r"[\u0e00-\u0e7f]")
"""Any character of the Thai block: the one test of "is there Thai in this text" for every module."""
HAN_SCRIPT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
"""A Chinese character (the unified ideographs, their extensions and the compatibility block)."""
_THAI = re.compile(r"[\u0e01-\u0e3a\u0e40-\u0e4e]")
"""Thai letters and marks only (not Thai digits or the baht sign): what counts towards the language."""
_LATIN = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\uff21-\uff3a\uff41-\uff5a]")

HAN_WEIGHT = 3
MIN_SHARE = 0.3
MIN_LATIN = 2
_EN_FUNCTION = re.compile(
    r"\b(?:the|a|an|is|are|was|were|do|does|did|of|to|in|on|at|for|from|with|and|or|this|that|"
    r"what|when|where|who|which|how|why|can|could|will|there|it|i|my|you)\b",
    re.IGNORECASE,
)
_ZH_FUNCTION = re.compile(r"[的了吗呢吧么是在几什么怎哪谁请]")
_TH_FUNCTION = re.compile(
    r"มี|ไหม|มั้ย|กี่|อะไร|ไหน|ยังไง|อย่างไร|เมื่อไ|ใคร|ครับ|ค่ะ|คะ|หน่อย|ของ|ที่|และ|หรือ|เป็น|ได้|จะ|ไป"
)
_SCAN_CHARS = 2000
"""Only the start of the text is scanned: a 10,000-character message is decided by its first part."""


def detect_language(text: str, fallback: Lang = "en") -> Lang:
    """Return the language ``text`` is written in, or ``fallback`` when its letters do not tell."""
    head = text[:_SCAN_CHARS]
    thai = len(_THAI.findall(head))
    han = len(HAN_SCRIPT.findall(head)) * HAN_WEIGHT
    latin = len(_LATIN.findall(head))
    total = thai + han + latin
    if total == 0:
        return fallback
    if thai and thai >= MIN_SHARE * total:
        return "th"
    if thai and latin and not han and _TH_FUNCTION.search(head):
        return "th"
    if han and latin:
        english, chinese = bool(_EN_FUNCTION.search(head)), bool(_ZH_FUNCTION.search(head))
        if english != chinese:
            return "en" if english else "zh"
    if han and han >= MIN_SHARE * total:
        return "zh"
    if latin >= MIN_LATIN:
        return "en"
    return fallback
