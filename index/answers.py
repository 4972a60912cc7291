"""What the engine returns and what a chat remembers: :class:`Answer`, :class:`Suggestion`, :class:`Topic`.

These types live apart from the engine so that the services, the follow-up reader and the evaluation
can use them without importing the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from index.files import read_yaml
from index.types import Lang, Outcome

if TYPE_CHECKING:
    from index.gate import Signals

FOLLOWUP_FILE = Path(__file__).with_name("followup.yaml")
"""The words of follow-up questions (:mod:`index.followup`) and how long a chat's topic stays in mind."""


@cache
def topic_window() -> timedelta:
    """How long a chat's topic stays in mind (``window_minutes`` in ``followup.yaml``)."""
    data = read_yaml(FOLLOWUP_FILE)
    return timedelta(minutes=float(data["window_minutes"]))


@dataclass(frozen=True)
class Suggestion:
    """A nearby topic offered with a decline: an entry id and its title in the asker's language."""

    entry_id: str
    title: str


@dataclass(frozen=True)
class Answer:
    """What the engine says to one question. ``text`` is plain text, exactly what the user receives."""

    question: str
    language: Lang
    answered: bool
    text: str
    sources: list[str]
    score: float
    suggestions: list[Suggestion] = field(default_factory=list)
    reason: str = ""
    best: str | None = None
    """The best-ranked entry, whether or not the gate let it through (for evaluation and calibration)."""
    signals: Signals | None = None
    outcome: Outcome | None = None
    """What the engine did (see :data:`index.types.Outcome`); when not given, ``answer`` or ``decline``
    from ``answered``."""
    rule: str | None = None
    """The first rule (see :mod:`index.rules`) that objected to answering with the best entry, if one
    did; its objection is one of the signals the decision weighed."""

    def __post_init__(self) -> None:
        if self.outcome is None:
            object.__setattr__(self, "outcome", "answer" if self.answered else "decline")


@dataclass(frozen=True)
class Topic:
    """What a chat was last answered about."""

    entry_id: str
    language: Lang
    question: str
    at: datetime

    def fresh(self, now: datetime) -> bool:
        """Whether the topic is recent enough at ``now`` for a follow-up to lean on it."""
        return timedelta(0) <= now - self.at <= topic_window()
