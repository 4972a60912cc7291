"""The admins' knowledge tools: their schema step (see :data:`bot.storage.database.MIGRATIONS`) and queries.

Its tables and the queries on them live here, beside the step that creates them:

* ``knowledge_proposals``: a validated set of knowledge files waiting for an admin's Apply or Cancel
  (an upload or a ``/reload``), with the content hash of the knowledge it was compared against, so an
  Apply after someone else's change is refused instead of silently undoing it;
* ``knowledge_activations``: every time a version went live (applied or rolled back to), by whom and
  how long it took. The files of each version live in the data directory (see
  :mod:`bot.storage.knowledge_versions`).

The staff's read-only views over questions and feedback are in :mod:`bot.storage.insights`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.sql import now_text

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
