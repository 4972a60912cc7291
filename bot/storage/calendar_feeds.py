"""Schema step for personal calendar feeds (see :data:`bot.storage.database.MIGRATIONS`).

``calendar_feeds`` holds one secret token per attendee: the link ``/calendar/<token>.ics`` serves their
bookmarked sessions to any calendar app that subscribes to it. Revoking deletes the row (the old link then
answers 404); a new link gets a new token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.storage.sql import now_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE calendar_feeds (
        user_id    INTEGER PRIMARY KEY,
        token      TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    )""",
)


class CalendarFeedRepository:
    """The tokens of the personal calendar feeds."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def token(self, user_id: int) -> str | None:
        rows = await self._db.rows("SELECT token FROM calendar_feeds WHERE user_id = ?", (user_id,))
        return rows[0][0] if rows else None

    async def set_token(self, user_id: int, token: str) -> None:
        """Give the user ``token``, replacing (and so revoking) any earlier one."""
        await self._db.rows(
            "INSERT INTO calendar_feeds (user_id, token, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at",
            (user_id, token, now_text()),
        )

    async def revoke(self, user_id: int) -> bool:
        rows = await self._db.rows(
            "DELETE FROM calendar_feeds WHERE user_id = ? RETURNING user_id", (user_id,)
        )
        return bool(rows)

    async def owner(self, token: str) -> int | None:
        rows = await self._db.rows("SELECT user_id FROM calendar_feeds WHERE token = ?", (token,))
        return rows[0][0] if rows else None
