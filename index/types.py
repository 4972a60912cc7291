"""Small shared types used across the indexing and query pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "zh", "th"]
LANGS: tuple[Lang, ...] = ("en", "zh", "th")


@dataclass(frozen=True, slots=True)
class Passage:
    """One searchable piece of text taken from a knowledge entry in one language.

    ``kind`` says what part of the entry the text comes from: ``name`` (a title, venue
    name or alias), ``question`` (an FAQ phrasing), ``body`` (the entry's text).
    """

    passage_id: str
    entry_id: str
    lang: Lang
    kind: Literal["name", "question", "body"]
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A ranked search result: a position in the passage list and a raw score."""

    index: int
    score: float
