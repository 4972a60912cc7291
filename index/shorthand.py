"""Chat shorthand in questions ("u", "pls", "tmrw", "govt", "intl conf", "咋", "รึเปล่า") written out.

The pairs are data (``shorthand.yaml``). Shorthand is expanded in the normalised question before typo
correction and search, so "whats the theme this yr" is searched as "what is the theme this year". The
knowledge is never rewritten: its text is not chat.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from index.files import read_yaml

SHORTHAND_FILE = Path(__file__).with_name("shorthand.yaml")
_BEFORE = r"(?<![\w'’&./-])"
_AFTER = r"(?![\w'’&/@-])(?!\.\w)"
"""A Latin shorthand is a whole word: not part of "u.s.", "r&d", "u-turn", "info@" or a longer word."""


@cache
def _table() -> tuple[re.Pattern[str], dict[str, str]]:
    raw = read_yaml(SHORTHAND_FILE) or {}
    spelling: dict[str, str] = {}
    for items in raw.values():
        for item in items:
            for full, written in item.items():
                for short in written:
                    spelling[str(short).casefold()] = str(full)
    ordered = sorted(spelling, key=len, reverse=True)  # longest first: "w/o" before "w/"
    latin = "|".join(re.escape(short) for short in ordered if short[0].isascii())
    other = "|".join(re.escape(short) for short in ordered if not short[0].isascii())
    # One look-around for all the Latin words: the pattern is tried at every position of a question.
    parts = [f"{_BEFORE}(?:{latin}){_AFTER}" if latin else "", other]
    return re.compile("|".join(part for part in parts if part)), spelling


def expand_shorthand(text: str) -> str:
    """``text`` (normalised: lower case, Simplified Chinese) with chat shorthand written out."""
    pattern, spelling = _table()
    return pattern.sub(lambda m: spelling[m.group()], text)
