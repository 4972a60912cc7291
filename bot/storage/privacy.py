"""Schema step for the privacy feature (see :data:`bot.storage.database.MIGRATIONS`).

Its tables and the queries on them live here, beside the step that creates them. Questions are kept
for a limited time (``QUESTION_RETENTION_DAYS``); each purge is recorded, so a bot that restarts often
still purges once a day and an operator can see when it last ran. Questions are found by age through
the ``questions_by_time`` index (schema step 2); their feedback goes with them (``ON DELETE CASCADE``),
and so do settled outbox rows (the messages sent) and chats' last topics of the same age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.sql import time_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE purges (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        purged_at TEXT NOT NULL,
        cutoff    TEXT NOT NULL,
        questions INTEGER NOT NULL
    )""",
)


@dataclass(frozen=True)
class Purge:
    """One purge: when it ran, the age limit it applied, and how many questions it deleted."""

    purged_at: datetime
    cutoff: datetime
    questions: int


_text = time_text


class PrivacyRepository:
    """Deleting questions past their retention time, and the record of purges."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def purge(self, cutoff: datetime, now: datetime) -> Purge:
        """Delete every question asked before ``cutoff`` (with its feedback) and record the purge."""
        async with self._db.transaction() as tx:
            await tx.rows("DELETE FROM questions WHERE asked_at < ?", (_text(cutoff),))
            deleted = (await tx.rows("SELECT changes()"))[0][0]
            # Messages already settled (sent, failed, ...) hold the same texts: they go after the same time.
            await tx.rows("DELETE FROM outbox WHERE state != 'pending' AND created_at < ?", (_text(cutoff),))
            # A chat's last topic keeps the question it came from; it is only read for a few minutes.
            await tx.rows("DELETE FROM chat_topics WHERE at < ?", (_text(cutoff),))
            await tx.rows(
                "INSERT INTO purges (purged_at, cutoff, questions) VALUES (?, ?, ?)",
                (_text(now), _text(cutoff), deleted),
            )
        return Purge(now, cutoff, deleted)

    async def last_purge(self) -> Purge | None:
        rows = await self._db.rows("SELECT purged_at, cutoff, questions FROM purges ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        purged_at, cutoff, questions = rows[0]
        return Purge(datetime.fromisoformat(purged_at), datetime.fromisoformat(cutoff), questions)
