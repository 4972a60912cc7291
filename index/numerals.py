"""Numbers and place names as people type them, rewritten into the form the knowledge base uses.

* Chinese numerals become digits when they are clearly numbers: ``三千`` -> ``3000``,
  ``一千八百`` -> ``1800``, ``十号`` -> ``10号``, ``十一月八日`` -> ``11月8日``, ``二〇二三年`` ->
  ``2023年``. A run with a unit (十, 百, 千, 万) is a number unless it is part of a word that only looks
  like one (``十分`` "very", ``千万`` "by all means", ``万维网``); a lone digit character is a number
  only before a counter or date word (``八号``, ``三天``), so ``一下``, ``一起``, ``统一`` stay words.
* Place names written another way (``Wu zhen``, ``Wuzen``, ``乌真``, ``อู่เจิ้น``) become the spelling
  of the knowledge base (``wuzhen``, ``乌镇``, ``อูเจิ้น``). The variants are data: ``place_names.yaml``.

Both functions expect text already normalised (NFKC, casefolded, Simplified Chinese, Thai marks in
order): they are the last steps of :func:`index.textproc.normalise`, so questions and passages agree.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from index.files import read_yaml

PLACE_NAMES_FILE = Path(__file__).with_name("place_names.yaml")

_DIGIT = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_COUNTERS = (
    "号",
    "日",
    "月",
    "年",
    "点",
    "时",
    "天",
    "晚",
    "人",
    "位",
    "名",
    "场",
    "届",
    "公里",
    "千米",
    "分钟",
    "小时",
    "个小时",
    "元",
    "块",
    "次",
    "周",
    "层",
    "楼",
    "站",
    "家",
    "国",
    "座",
)
"""Words after which a lone digit character is a number (``八号``, ``三天``, ``五公里``)."""
_PICKING = frozenset("哪这那同某唯统")
"""Characters before which ``一`` picks one thing out ("哪一年", "这一天", "同一天") instead of counting."""
_NOT_NUMBERS = ("十分", "千万", "万一", "万维网", "百度", "十足", "百姓", "万物", "百科", "万达", "一点")
"""Words that start like a number but are not one ("十分重要", "快一点"); ``十分钟`` is still 10 minutes."""


def _value(run: str) -> int | None:
    """The value of a run of Chinese numerals, or None when it is not a well-formed number."""
    if not any(ch in _UNIT for ch in run):
        return int("".join(str(_DIGIT[ch]) for ch in run))
    total = section = 0
    digit: int | None = None
    last_unit = 1
    zero_seen = False
    for ch in run:
        if ch in _DIGIT:
            if digit and _DIGIT[ch] != 0:
                return None  # two digits in a row inside a number with units: "三四十" (thirty or forty)
            digit = _DIGIT[ch]
            zero_seen = zero_seen or digit == 0
        else:
            unit = _UNIT[ch]
            if unit == 10_000:
                total += (section + (digit or 0)) * unit
                section = 0
            else:
                section += (1 if digit is None else digit) * unit
            digit = None
            last_unit = unit
    if digit is not None:
        # "一千八" is colloquial for 1800, "一万二" for 12000; "一千零八" is 1008.
        section += digit if zero_seen or last_unit <= 10 else digit * last_unit // 10
    return total + section


def _is_number(text: str, start: int, end: int) -> bool:
    run = text[start:end]
    after = text[end : end + 3]
    for word in _NOT_NUMBERS:
        if text.startswith(word, start) and not (word == "十分" and text.startswith("钟", start + 2)):
            return False
    if any(ch in _UNIT for ch in run):
        return True
    if len(run) >= 2 and after.startswith("年"):
        return True  # a year written digit by digit: 二〇二三年
    if run == "一" and text[start - 1 : start] in _PICKING:
        return False  # "哪一年" is which year, "同一天" the same day: no count of one
    return len(run) == 1 and after.startswith(_COUNTERS)


def chinese_numerals(text: str) -> str:
    """``text`` with Chinese numerals that are clearly numbers written as digits."""
    if not _RUN.search(text):
        return text

    def convert(match: re.Match[str]) -> str:
        if not _is_number(text, match.start(), match.end()):
            return match.group()
        value = _value(match.group())
        return match.group() if value is None else str(value)

    return _RUN.sub(convert, text)


def canonical_places() -> list[str]:
    """The spellings the knowledge base uses for the places of ``place_names.yaml``, in every script."""
    data = read_yaml(PLACE_NAMES_FILE)
    return [canonical for place in data["places"] for canonical in place]


_THAI_MONTHS = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
]
_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAY_OF_MONTH = {
    "en": re.compile(
        r"\b(?:the|on|by|until|till)\s+(\d{1,2})(?:st|nd|rd|th)?\b"
        r"(?!\s*(?:year|edition|anniversary|summit|session|time|conference|forum|world"
        r"|of (?!nov)|[:.]\d|%|people|km))",
        re.IGNORECASE,
    ),
    "zh": re.compile(r"(?<![月\d年第])(\d{1,2})(?:号|日)"),
    "th": re.compile(r"วันที่\s*(\d{1,2})(?!\s*\d)(?!\s*(?:พ|ม\.|ก\.|ต\.|ธ\.|มี|เม|มิ|ส\.|กัน|กุม|ตุล|ธัน))"),
}


_WEEKDAYS = {
    "en": [
        re.compile(rf"\b{name}s?\b", re.IGNORECASE)
        for name in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
    "zh": [
        re.compile(rf"(?:周|星期|礼拜|禮拜){day}") for day in ("一", "二", "三", "四", "五", "六", "[日天]")
    ],
    "th": [re.compile(f"วัน{day}") for day in ("จันทร์", "อังคาร", "พุธ", "พฤหัส", "ศุกร์", "เสาร์", "อาทิตย์")],
}
"""Names of the days of the week (Monday first, as ``date.weekday()``)."""


def days_of_month(text: str, lang: str) -> list[tuple[int, int, int]]:
    """Each bare day of the month written in ``text`` ("on the 9th", "11号", "วันที่9"), as (start, end,
    day): the span of the day as written (in English without its preposition: "the 9th") and the day."""
    pattern = _DAY_OF_MONTH.get(lang)
    if pattern is None:
        return []
    found = []
    for m in pattern.finditer(text):
        start = m.start(1)
        if lang == "en" and text[:start].endswith("the "):
            start -= len("the ")
        found.append((start if lang == "en" else m.start(), m.end(), int(m.group(1))))
    return found


def event_days(text: str, lang: str, first: dt.date, last: dt.date) -> str:
    """``text`` with the month added after a bare day of the month that falls on the event's days or
    the day before ("on the 10th" -> "on the 10th 10 November", "10号" -> "10号 11月10日",
    "วันที่10" -> "วันที่10 10 พฤศจิกายน"), or a day of the week that does ("friday" -> "friday
    (10 November)"), so the question reads as a date of the event it means. Nothing is added for days
    outside the event or when the text already names a month."""
    pattern = _DAY_OF_MONTH.get(lang)
    if pattern is None or first.month != last.month:
        return text
    days = range(first.day - 1, last.day + 1)
    # A day of the week names the event's day that falls on it ("till friday", "周五", "วันศุกร์").
    named = {
        (first + dt.timedelta(days=offset)).day
        for offset in range(-1, (last - first).days + 1)
        if _WEEKDAYS[lang][(first + dt.timedelta(days=offset)).weekday()].search(text)
    }
    found = sorted(({int(m.group(1)) for m in pattern.finditer(text)} & set(days)) | named)
    if not found:
        return text
    month = first.month
    if lang == "en":
        extra = [f"{d} {_EN_MONTHS[month - 1]}" for d in found]
    elif lang == "zh":
        extra = [f"{month}月{d}日" for d in found]
    else:
        extra = [f"{d} {_THAI_MONTHS[month - 1]}" for d in found]
    return f"{text} ({', '.join(extra)})"
