"""Feedback: attendees' 👍/👎 on answers, one vote per user and question (the ``feedback`` table of
schema step 1; a question's votes go when the question does)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from bot.storage.sql import now_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

CREATE: tuple[str, ...] = (
    """CREATE TABLE feedback (
        question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        user_id     INTEGER NOT NULL,
        helpful     INTEGER NOT NULL CHECK (helpful IN (0, 1)),
        at          TEXT NOT NULL,
        PRIMARY KEY (question_id, user_id)
    ) WITHOUT ROWID""",
)
"""Part of schema step 1."""


class FeedbackRepository:
    """The ``feedback`` table."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def record_feedback(self, question_id: int, user_id: int, helpful: bool) -> bool:
        """Store the user's vote on an answer, replacing their earlier vote on it.

        Returns False (and stores nothing) when no question has that id.
        """
        try:
            await self._db.rows(
                """INSERT INTO feedback (question_id, user_id, helpful, at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (question_id, user_id)
                   DO UPDATE SET helpful = excluded.helpful, at = excluded.at""",
                (question_id, user_id, int(helpful), now_text()),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    async def feedback_for(self, question_id: int) -> list[tuple[int, bool]]:
        """``(user_id, helpful)`` for every vote on the question, by user id."""
        rows = await self._db.rows(
            "SELECT user_id, helpful FROM feedback WHERE question_id = ? ORDER BY user_id", (question_id,)
        )
        return [(user_id, bool(helpful)) for user_id, helpful in rows]
