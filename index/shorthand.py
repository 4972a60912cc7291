"""Chat shorthand in questions ("u", "pls", "tmrw", "govt", "intl conf", "咋", "รึเปล่า") written out.

The pairs are data (``shorthand.yaml``). Shorthand is expanded in the normalised question before typo
correction and search, so "whats the theme this yr" is searched as "what is the theme this year". The
knowledge is never rewritten: its text is not chat.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

SHORTHAND_FILE = Path(__file__).with_name("shorthand.yaml")
_BEFORE = r"(?<![\w'’&./-])"
_AFTER = r"(?![\w'’&/@-])(?!\.\w)"
"""A Latin shorthand is a whole word: not part of "u.s.", "r&d", "u-turn", "info@" or a longer word."""


@cache
def _table() -> tuple[re.Pattern[str], dict[str, str]]:
    raw = yaml.safe_load(SHORTHAND_FILE.read_text(encoding="utf-8")) or {}
    spelling: dict[str, str] = {}
    for items in raw.values():
        for item in items:
            for full, written in item.items():
                for short in written:
                    spelling[str(short).casefold()] = str(full)
    alternatives = []
    for short in sorted(spelling, key=len, reverse=True):
        escaped = re.escape(short)
        alternatives.append(f"{_BEFORE}{escaped}{_AFTER}" if short[0].isascii() else escaped)
    return re.compile("|".join(alternatives)), spelling


def expand_shorthand(text: str) -> str:
    """``text`` (normalised: lower case, Simplified Chinese) with chat shorthand written out."""
    pattern, spelling = _table()
    return pattern.sub(lambda m: spelling[m.group()], text)
