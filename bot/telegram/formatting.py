"""HTML message helpers: escaping knowledge text and splitting long messages for Telegram.

Telegram refuses messages over 4096 characters (counted in UTF-16 code units). :func:`split_html` cuts
at paragraph breaks first, then line breaks, then spaces, and only as a last resort inside a long word;
it never cuts inside a tag or an entity, and closes tags open at a cut and reopens them in the next part.
"""

from __future__ import annotations

import html
import re

MAX_MESSAGE = 4096
_TAG_ROOM = 128
"""Space kept free in each part for tags closed and reopened around a cut."""
_LONG_WORD = 64
_UNITS = re.compile(rf"<[^>]*>|&#?\w+;|\n\n+|\n|[ \t]+|[^<&\n \t]{{1,{_LONG_WORD}}}|[<&]")
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")


def escape(text: str) -> str:
    """Escape plain text (a user's question, a knowledge answer) for HTML parse mode."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def _priority(unit: str) -> int:
    """How good a place right after ``unit`` is for a cut: paragraph 3, line 2, space 1, else 0."""
    if unit.startswith("\n\n"):
        return 3
    if unit == "\n":
        return 2
    return 1 if unit[0] in " \t" else 0


def _best_cut(units: list[str], budget: int) -> int:
    """Where to end a full part: the best break in its second half (or anywhere), else at its end."""
    breaks: list[tuple[bool, int, int]] = []
    filled = 0
    for i, unit in enumerate(units):
        filled += utf16_len(unit)
        if priority := _priority(unit):
            breaks.append((filled >= budget // 2, priority, i))
    return max(breaks, default=(False, 0, len(units) - 1))[2] + 1


def _cut(units: list[str], budget: int) -> list[list[str]]:
    parts: list[list[str]] = []
    current: list[str] = []
    size = 0
    for unit in units:
        length = utf16_len(unit)
        if current and size + length > budget:
            cut = _best_cut(current, budget)
            parts.append(current[:cut])
            current = current[cut:]
            size = sum(utf16_len(u) for u in current)
        current.append(unit)
        size += length
    if current:
        parts.append(current)
    return parts


def _balance(parts: list[list[str]]) -> list[str]:
    """Close tags left open at the end of a part and reopen them at the start of the next."""
    out: list[str] = []
    open_tags: list[tuple[str, str]] = []
    for units in parts:
        prefix = "".join(tag for _, tag in open_tags)
        for unit in units:
            match = _TAG.fullmatch(unit)
            if not match:
                continue
            closing, name = match.group(1), match.group(2).lower()
            if not closing:
                open_tags.append((name, unit))
            elif open_tags and open_tags[-1][0] == name:
                open_tags.pop()
        suffix = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        text = (prefix + "".join(units).strip() + suffix).strip()
        if text and text != prefix + suffix:
            out.append(text)
    return out


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split an HTML message into parts of at most ``limit`` UTF-16 units each (one part if it fits)."""
    if utf16_len(text) <= limit:
        return [text]
    return _balance(_cut(_UNITS.findall(text), limit - _TAG_ROOM))
