"""What attendees asked, read only: the queries behind ``/stats``, ``/unanswered``, ``/feedback`` and the
``stats`` and ``export`` commands, over the users, questions and feedback tables (created by their own
modules' schema steps)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.sql import time_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

_at = time_text


@dataclass(frozen=True)
class MissedQuestion:
    id: int
    text: str
    language: str
    asked_at: datetime


@dataclass(frozen=True)
class Disliked:
    """An answer that got 👎: its question, the entries it was built from, and the votes on it."""

    question_id: int
    text: str
    language: str
    sources: tuple[str, ...]
    down: int
    up: int
    asked_at: datetime


@dataclass(frozen=True)
class DayCount:
    day: str
    language: str
    questions: int
    answered: int


@dataclass(frozen=True)
class Totals:
    users: int
    blocked: int
    subscribers: int
    questions: int
    answered: int
    up: int
    down: int


class InsightsRepository:
    """Read-only queries over users, questions and feedback."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def missed(self, since: datetime, limit: int) -> list[MissedQuestion]:
        """Questions the bot could not answer since ``since``, newest first."""
        rows = await self._db.rows(
            """SELECT id, text, language, asked_at FROM questions
               WHERE asked_at >= ?
                 AND outcome IN ('decline', 'clarify', 'gap')
               ORDER BY id DESC LIMIT ?""",
            (_at(since), limit),
        )
        return [MissedQuestion(i, t, lang, datetime.fromisoformat(at)) for i, t, lang, at in rows]

    async def disliked(self, limit: int) -> list[Disliked]:
        """Answers with at least one 👎, the most recent vote first."""
        rows = await self._db.rows(
            """SELECT q.id, q.text, q.language, q.sources,
                      sum(f.helpful = 0), sum(f.helpful = 1), q.asked_at
               FROM questions q JOIN feedback f ON f.question_id = q.id
               GROUP BY q.id HAVING sum(f.helpful = 0) > 0
               ORDER BY max(CASE WHEN f.helpful = 0 THEN f.at END) DESC LIMIT ?""",
            (limit,),
        )
        return [
            Disliked(i, t, lang, tuple(json.loads(s)), down, up, datetime.fromisoformat(at))
            for i, t, lang, s, down, up, at in rows
        ]

    async def totals(self) -> Totals:
        rows = await self._db.rows(
            """SELECT (SELECT count(*) FROM users),
                      (SELECT count(*) FROM users WHERE blocked = 1),
                      (SELECT count(*) FROM users WHERE subscribed = 1 AND blocked = 0),
                      (SELECT count(*) FROM questions),
                      (SELECT count(*) FROM questions WHERE outcome = 'answer'),
                      (SELECT count(*) FROM feedback WHERE helpful = 1),
                      (SELECT count(*) FROM feedback WHERE helpful = 0)"""
        )
        return Totals(*rows[0])

    async def users_by_language(self) -> dict[str, int]:
        rows = await self._db.rows(
            """SELECT coalesce(language, telegram_language, 'en') AS lang, count(*) FROM users
               GROUP BY lang ORDER BY count(*) DESC, lang"""
        )
        return {lang: n for lang, n in rows}

    async def per_day(self, since: datetime) -> list[DayCount]:
        """Questions and answered questions per UTC day and language since ``since``."""
        rows = await self._db.rows(
            """SELECT substr(asked_at, 1, 10) AS day, language, count(*), sum(outcome = 'answer')
               FROM questions WHERE asked_at >= ? GROUP BY day, language ORDER BY day, language""",
            (_at(since),),
        )
        return [DayCount(day, lang, n, answered) for day, lang, n, answered in rows]

    async def export_rows(self, since: datetime) -> AsyncIterator[tuple]:
        """Questions asked since ``since`` with their votes, oldest first, in pages."""
        last = 0
        while True:
            rows = await self._db.rows(
                """SELECT q.id, q.asked_at, q.language, q.outcome = 'answer', q.score, q.sources, q.text,
                          (SELECT count(*) FROM feedback f WHERE f.question_id = q.id AND f.helpful = 1),
                          (SELECT count(*) FROM feedback f WHERE f.question_id = q.id AND f.helpful = 0)
                   FROM questions q WHERE q.asked_at >= ? AND q.id > ? ORDER BY q.id LIMIT 1000""",
                (_at(since), last),
            )
            if not rows:
                return
            for row in rows:
                yield tuple(row)
            last = rows[-1][0]
