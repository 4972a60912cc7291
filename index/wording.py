"""Dates, clock times, durations and fixed phrases in each language (``texts.yaml``).

What the composer and the session templates write around the knowledge's own words; nothing here
knows the knowledge base.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from index.files import read_yaml
from index.schema import Range
from index.types import Lang

TEXTS_FILE = Path(__file__).with_name("texts.yaml")


@cache
def _texts() -> dict[str, Any]:
    return read_yaml(TEXTS_FILE)


def phrase(key: str, lang: Lang, **values: object) -> str:
    """A phrase from ``texts.yaml`` in ``lang``, with placeholders filled in."""
    return _texts()[key][lang].format(**values)


def topics(lang: Lang) -> list[str]:
    """What the assistant can help with, for a decline message."""
    return list(_texts()["topics"][lang])


def month_names(lang: Lang) -> list[str]:
    """The names of the months in ``lang``, January first."""
    return list(_texts()["months"][lang])


def format_date(day: dt.date, lang: Lang) -> str:
    month = _texts()["months"][lang][day.month - 1]
    return phrase("date", lang, day=day.day, month=month, year=day.year)


def format_date_range(start: dt.date, end: dt.date, lang: Lang) -> str:
    if start == end:
        return format_date(start, lang)
    if (start.year, start.month) == (end.year, end.month):
        month = _texts()["months"][lang][start.month - 1]
        return phrase(
            "date_range_same_month", lang, day1=start.day, day2=end.day, month=month, year=start.year
        )
    return f"{format_date(start, lang)} – {format_date(end, lang)}"


def format_day_label(day: dt.date, lang: Lang) -> str:
    """A short label for a day button, e.g. "Wed 8 November"."""
    weekday = _texts()["weekdays"][lang][day.weekday()]
    month = _texts()["months"][lang][day.month - 1]
    if lang == "zh":
        return f"{month}{day.day}日 {weekday}"
    return f"{weekday} {day.day} {month}"


def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def _range(value: Range, unit: str, lang: Lang, approximate: bool) -> str:
    text = _number(value.min) if value.max is None else f"{_number(value.min)}–{_number(value.max)}"
    text = phrase(unit, lang, x=text)
    return phrase("about", lang, x=text) if approximate or value.max is None else text


def _duration(value: Range, lang: Lang, approximate: bool) -> str:
    if value.min >= 60 and (value.max or value.min) >= 90:
        hours = Range(min=value.min / 60, max=None if value.max is None else value.max / 60)
        return _range(hours, "hours", lang, approximate)
    return _range(value, "minutes", lang, approximate)


def utc_offset(moment: dt.datetime) -> str:
    """``UTC+8``, ``UTC-3:30``, ``UTC`` for the offset of an aware datetime."""
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(timezone: str, day: dt.date, start: str) -> str:
    """The UTC offset of the event's zone at a local date and time (``UTC+8``)."""
    moment = dt.datetime.combine(day, dt.time.fromisoformat(start), ZoneInfo(timezone))
    return utc_offset(moment)


def clock_text(start: str | None, end: str | None, lang: Lang) -> str:
    """``09:30–11:00``, ``from 09:30`` or "time not published", in ``lang``."""
    if start and end:
        return phrase("time_range", lang, start=start, end=end)
    if start:
        return phrase("time_single", lang, start=start)
    return phrase("time_not_published", lang)


def when_text(
    day: dt.date | None,
    start: str | None,
    end: str | None,
    timezone: str,
    lang: Lang,
    *,
    with_day: bool = True,
) -> str:
    """A session's time with its zone, and its day first (``with_day``): ``8 November 2023, 09:30–11:00
    (UTC+8)``. What is not published is said to be."""
    if day is None:
        return phrase("date_not_published", lang)
    clock = clock_text(start, end, lang)
    if start:
        clock = phrase("time_with_zone", lang, time=clock, zone=zone_label(timezone, day, start))
    return phrase("day_and_time", lang, day=format_date(day, lang), time=clock) if with_day else clock
