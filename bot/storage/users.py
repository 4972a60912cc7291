"""Users: who wrote to the bot, the language they chose, whether they take announcements.

Users are subscribed to announcements by default (organisers' news is opt-out): whoever started the bot
came for the summit; :meth:`UserRepository.set_subscribed` records an opt-out. The ``users`` table is
made by schema steps 1 and 2 (:data:`bot.storage.database.MIGRATIONS`), written here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.storage.sql import now_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

CREATE: tuple[str, ...] = (
    """CREATE TABLE users (
        user_id    INTEGER PRIMARY KEY,
        language   TEXT,
        subscribed INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
        blocked    INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
        first_seen TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    )""",
)
"""Part of schema step 1."""

TELEGRAM_LANGUAGE: tuple[str, ...] = ("ALTER TABLE users ADD COLUMN telegram_language TEXT",)
"""Part of schema step 2: the language reported by Telegram, kept apart from the one the user chose
(``language``), so that a user who never chose follows their Telegram setting."""

_COLUMNS = "user_id, language, telegram_language, subscribed, blocked, first_seen, last_seen"


@dataclass(frozen=True)
class UserRecord:
    """A user as stored. ``language`` is the one they chose, else the one their Telegram reports."""

    user_id: int
    language: str | None
    subscribed: bool
    blocked: bool
    first_seen: datetime
    last_seen: datetime
    language_chosen: bool
    """Whether ``language`` was chosen by the user rather than taken from their Telegram settings."""


def _user(row: sqlite3.Row | tuple[Any, ...]) -> UserRecord:
    user_id, chosen, reported, subscribed, blocked, first_seen, last_seen = row
    return UserRecord(
        user_id=user_id,
        language=chosen or reported,
        subscribed=bool(subscribed),
        blocked=bool(blocked),
        first_seen=datetime.fromisoformat(first_seen),
        last_seen=datetime.fromisoformat(last_seen),
        language_chosen=chosen is not None,
    )


class UserRepository:
    """The ``users`` table."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def touch_user(self, user_id: int, telegram_language: str | None = None) -> UserRecord:
        """Note that the user wrote to the bot now; create them on first contact.

        ``first_seen`` is kept, ``last_seen`` updated, and the user is no longer marked as having blocked
        the bot (they could not have written otherwise). ``telegram_language`` (None: unknown, keep the
        previous one) is what Telegram reports; it is the user's language until they choose one.
        """
        now = now_text()
        rows = await self._db.rows(
            f"""INSERT INTO users (user_id, telegram_language, first_seen, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    last_seen = excluded.last_seen,
                    blocked = 0,
                    telegram_language = coalesce(excluded.telegram_language, users.telegram_language)
                RETURNING {_COLUMNS}""",
            (user_id, telegram_language, now, now),
        )
        return _user(rows[0])

    async def get_user(self, user_id: int) -> UserRecord | None:
        rows = await self._db.rows(f"SELECT {_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    async def _update_user(self, user_id: int, column: str, value: object) -> None:
        """Set one column, creating the user first if they are not stored yet."""
        now = now_text()
        await self._db.rows(
            f"""INSERT INTO users (user_id, {column}, first_seen, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET {column} = excluded.{column}""",
            (user_id, value, now, now),
        )

    async def set_language(self, user_id: int, language: str) -> None:
        """Store the language the user chose; it wins over their Telegram setting from now on."""
        await self._update_user(user_id, "language", language)

    async def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        await self._update_user(user_id, "subscribed", int(subscribed))

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        await self._update_user(user_id, "blocked", int(blocked))

    async def subscribers(self) -> list[int]:
        """Users to send announcements to: subscribed and not blocking the bot, oldest first."""
        rows = await self._db.rows(
            "SELECT user_id FROM users WHERE subscribed = 1 AND blocked = 0 ORDER BY first_seen, user_id"
        )
        return [row[0] for row in rows]
