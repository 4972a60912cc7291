"""Schema step for the admins' tools (see :data:`bot.storage.database.MIGRATIONS`).

Its tables and the queries on them live here, beside the step that creates them:

* ``knowledge_proposals``: a validated set of knowledge files waiting for an admin's Apply or Cancel
  (an upload or a ``/reload``), with the content hash of the knowledge it was compared against, so an
  Apply after someone else's change is refused instead of silently undoing it;
* ``knowledge_activations``: every time a version went live (applied or rolled back to), by whom and
  how long it took. The files of each version live in the data directory (see
  :mod:`bot.storage.knowledge_versions`).

:class:`InsightsRepository` holds the read-only queries behind ``/stats``, ``/unanswered``,
``/feedback`` and the ``stats`` and ``export`` commands.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.sql import now_text, time_text

if TYPE_CHECKING:  # database.py imports this module for its migration step
    from bot.storage.sql import Connection

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE knowledge_proposals (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        admin_id   INTEGER NOT NULL,
        source     TEXT NOT NULL CHECK (source IN ('upload', 'reload')),
        note       TEXT NOT NULL DEFAULT '',
        base_hash  TEXT NOT NULL,
        files      TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'applied', 'cancelled', 'stale', 'failed')),
        created_at TEXT NOT NULL,
        decided_at TEXT
    )""",
    """CREATE TABLE knowledge_activations (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        version  TEXT NOT NULL,
        action   TEXT NOT NULL CHECK (action IN ('apply', 'rollback')),
        admin_id INTEGER,
        at       TEXT NOT NULL,
        seconds  REAL NOT NULL
    )""",
)


@dataclass(frozen=True)
class Proposal:
    """A whole set of knowledge files an admin may apply."""

    id: int
    admin_id: int
    source: str
    note: str
    base_hash: str
    files: dict[str, str]
    state: str
    created_at: datetime


@dataclass(frozen=True)
class Activation:
    version: str
    action: str
    admin_id: int | None
    at: datetime
    seconds: float


_at = time_text


class KnowledgeRepository:
    """Proposals and the log of versions going live."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add_proposal(
        self, admin_id: int, source: str, note: str, base_hash: str, files: dict[str, str]
    ) -> int:
        rows = await self._db.rows(
            """INSERT INTO knowledge_proposals (admin_id, source, note, base_hash, files, created_at)
               VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
            (admin_id, source, note, base_hash, json.dumps(files, ensure_ascii=False), now_text()),
        )
        return rows[0][0]

    async def proposal(self, proposal_id: int) -> Proposal | None:
        rows = await self._db.rows(
            """SELECT id, admin_id, source, note, base_hash, files, state, created_at
               FROM knowledge_proposals WHERE id = ?""",
            (proposal_id,),
        )
        if not rows:
            return None
        pid, admin_id, source, note, base_hash, files, state, created_at = rows[0]
        return Proposal(
            pid,
            admin_id,
            source,
            note,
            base_hash,
            json.loads(files),
            state,
            datetime.fromisoformat(created_at),
        )

    async def decide(self, proposal_id: int, state: str) -> bool:
        """Move a pending proposal to ``state``; False when it was no longer pending."""
        rows = await self._db.rows(
            """UPDATE knowledge_proposals SET state = ?, decided_at = ?
               WHERE id = ? AND state = 'pending' RETURNING id""",
            (state, now_text(), proposal_id),
        )
        return bool(rows)

    async def log_activation(self, version: str, action: str, admin_id: int | None, seconds: float) -> None:
        await self._db.rows(
            """INSERT INTO knowledge_activations (version, action, admin_id, at, seconds)
               VALUES (?, ?, ?, ?, ?)""",
            (version, action, admin_id, now_text(), seconds),
        )

    async def activations(self, limit: int = 20) -> list[Activation]:
        rows = await self._db.rows(
            """SELECT version, action, admin_id, at, seconds FROM knowledge_activations
               ORDER BY id DESC LIMIT ?""",
            (limit,),
        )
        return [Activation(v, a, who, datetime.fromisoformat(at), s) for v, a, who, at, s in rows]


# --- What attendees asked: the queries behind the staff's views and the CLI -------------------------


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
