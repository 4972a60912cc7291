"""Questions: what attendees asked, in which language, and what the engine did with it (its outcome).

The ``questions`` table is made by schema step 1 and changed by later ones, written here: indexes for
the organisers' views (2), the outcome (7, with the conversation feature), the origin (10) and one
outcome column (11).

``origin`` names the Telegram update a question came from (``update:<update id>``). An update handled
again after a crash (see :mod:`bot.delivery.inbox`) finds its question already stored and reuses that row,
so the usage figures count it once. Questions stored without an origin (older rows, the terminal chat)
are never merged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from bot.storage.sql import now_text
from index.types import Outcome

if TYPE_CHECKING:
    from bot.storage.sql import Connection

MAX_QUESTION_CHARS = 4000
"""Longer question texts are cut to this many characters when stored."""

OUTCOMES: tuple[str, ...] = get_args(Outcome)
"""What the engine can do with a question (see :data:`index.types.Outcome`)."""

CREATE: tuple[str, ...] = (
    """CREATE TABLE questions (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id  INTEGER NOT NULL,
        chat_id  INTEGER NOT NULL,
        text     TEXT NOT NULL,
        language TEXT NOT NULL,
        answered INTEGER NOT NULL CHECK (answered IN (0, 1)),
        score    REAL NOT NULL,
        sources  TEXT NOT NULL DEFAULT '[]',
        asked_at TEXT NOT NULL
    )""",
)
"""Part of schema step 1."""

INDEXES: tuple[str, ...] = (
    "CREATE INDEX questions_by_time ON questions (asked_at)",
    "CREATE INDEX questions_by_user ON questions (user_id)",
)
"""Part of schema step 2."""

ORIGIN: tuple[str, ...] = (
    "ALTER TABLE questions ADD COLUMN origin TEXT",
    "CREATE UNIQUE INDEX questions_by_origin ON questions (origin) WHERE origin IS NOT NULL",
)
"""Schema step 10: each question counted once, also when its update is handled again after a crash."""

ONE_OUTCOME: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS questions_default_outcome",
    """UPDATE questions SET outcome = CASE answered WHEN 1 THEN 'answer' ELSE 'decline' END
       WHERE outcome IS NULL""",
    "ALTER TABLE questions DROP COLUMN answered",
)
"""Schema step 11: one column says how a question was answered, ``outcome``: ``answered`` (answered means
the outcome ``answer``) goes, with the trigger that derived an outcome for inserts that named none."""

_COLUMNS = "id, user_id, chat_id, text, language, outcome, score, sources, asked_at"


@dataclass(frozen=True)
class QuestionRecord:
    """A question as stored, with what the engine did with it (only ``answer`` counts as answered)."""

    id: int
    user_id: int
    chat_id: int
    text: str
    language: str
    outcome: str
    score: float
    sources: tuple[str, ...]
    asked_at: datetime

    @property
    def answered(self) -> bool:
        return self.outcome == "answer"


@dataclass(frozen=True)
class Usage:
    """Totals for organisers: how many people use the bot and how well it answers."""

    users: int
    blocked_users: int
    questions: int
    answered: int
    helpful: int
    unhelpful: int


def _question(row: sqlite3.Row | tuple[Any, ...]) -> QuestionRecord:
    qid, user_id, chat_id, text, language, outcome, score, sources, asked_at = row
    return QuestionRecord(
        id=qid,
        user_id=user_id,
        chat_id=chat_id,
        text=text,
        language=language,
        outcome=outcome,
        score=score,
        sources=tuple(json.loads(sources)),
        asked_at=datetime.fromisoformat(asked_at),
    )


class QuestionRepository:
    """The ``questions`` table: the question log, outcomes, and the usage totals."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def record_question(
        self,
        *,
        user_id: int,
        chat_id: int,
        text: str,
        language: str,
        outcome: str,
        score: float,
        sources: Sequence[str],
        origin: str | None = None,
    ) -> int:
        """Store a question (cut to :data:`MAX_QUESTION_CHARS`) and its outcome (see
        :data:`index.types.Outcome`; only ``answer`` counts as answered); return its id.

        A question with an ``origin`` already stored (its update handled again) is not stored twice: the
        stored row's id is returned.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        rows = await self._db.rows(
            """INSERT INTO questions
                   (user_id, chat_id, text, language, score, sources, asked_at, outcome, origin)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (origin) WHERE origin IS NOT NULL DO NOTHING RETURNING id""",
            (
                user_id,
                chat_id,
                text[:MAX_QUESTION_CHARS],
                language,
                float(score),
                json.dumps(list(sources), ensure_ascii=False),
                now_text(),
                outcome,
                origin,
            ),
        )
        if rows:
            return rows[0][0]
        known = await self.question_from(origin) if origin is not None else None
        if known is None:  # cannot happen: only a stored origin conflicts
            raise RuntimeError(f"question from {origin} was neither stored nor found")
        return known

    async def question_from(self, origin: str) -> int | None:
        """The id of the question stored from ``origin``, if any."""
        rows = await self._db.rows("SELECT id FROM questions WHERE origin = ?", (origin,))
        return rows[0][0] if rows else None

    async def get_question(self, question_id: int) -> QuestionRecord | None:
        rows = await self._db.rows(f"SELECT {_COLUMNS} FROM questions WHERE id = ?", (question_id,))
        return _question(rows[0]) if rows else None

    async def recent_questions(self, limit: int = 50) -> list[QuestionRecord]:
        """The latest ``limit`` questions, newest first."""
        rows = await self._db.rows(f"SELECT {_COLUMNS} FROM questions ORDER BY id DESC LIMIT ?", (limit,))
        return [_question(row) for row in rows]

    async def outcome(self, question_id: int) -> str | None:
        rows = await self._db.rows("SELECT outcome FROM questions WHERE id = ?", (question_id,))
        return rows[0][0] if rows else None

    async def questions_with_outcome(
        self, outcomes: Sequence[str] = ("decline", "clarify"), limit: int = 50
    ) -> list[QuestionRecord]:
        """The latest ``limit`` questions with one of ``outcomes``, newest first (what attendees could
        not find: declined and clarified questions by default)."""
        unknown = set(outcomes) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"unknown outcomes {sorted(unknown)}")
        marks = ", ".join("?" for _ in outcomes)
        rows = await self._db.rows(
            f"SELECT {_COLUMNS} FROM questions WHERE outcome IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*outcomes, limit),
        )
        return [_question(row) for row in rows]

    async def outcome_counts(self) -> dict[str, int]:
        """How many stored questions had each outcome."""
        rows = await self._db.rows("SELECT outcome, count(*) FROM questions GROUP BY outcome")
        return {outcome: count for outcome, count in rows if outcome is not None}

    async def usage(self) -> Usage:
        """The organisers' totals over users, questions and their feedback."""
        rows = await self._db.rows(
            """SELECT (SELECT count(*) FROM users),
                      (SELECT count(*) FROM users WHERE blocked = 1),
                      (SELECT count(*) FROM questions),
                      (SELECT count(*) FROM questions WHERE outcome = 'answer'),
                      (SELECT count(*) FROM feedback WHERE helpful = 1),
                      (SELECT count(*) FROM feedback WHERE helpful = 0)"""
        )
        return Usage(*rows[0])
