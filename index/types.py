"""Small shared types used across the indexing and query pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "zh", "th"]
LANGS: tuple[Lang, ...] = ("en", "zh", "th")
Outcome = Literal["answer", "clarify", "decline", "gap", "smalltalk"]
"""What the engine did with a question: answered it; asked which of a few topics was meant; declined
(nothing in the knowledge answers it); gave an entry that says the fact is not published; replied to
small talk. Only ``answer`` counts as answered."""


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
