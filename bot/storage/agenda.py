"""Schema step 5 and the queries of attendees' personal agendas: bookmarks, reminders, change tracking.

- ``bookmarks``: the sessions each user picked.
- ``reminder_settings``: how many minutes before a session a user wants to be reminded (0: never);
  users without a row get :data:`DEFAULT_REMINDER_MINUTES`.
- ``reminders``: one row per reminder to send, with the session start and the due time (UTC). It stays
  ``waiting`` until it is due, then becomes ``queued`` in the same transaction that puts the message in
  the outbox (so a restart neither loses nor repeats it), or ``skipped`` when it can no longer be sent
  usefully (the session already started, the user blocked the bot). At most one reminder per user,
  session and start time: a reminder already queued is never made again for the same start.
- ``agenda_snapshot``: each bookmarked session's date, times and place as last seen, to tell what
  changed when new knowledge is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.sql import Transaction, now_text, time_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

DEFAULT_REMINDER_MINUTES = 15

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE bookmarks (
        user_id    INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (user_id, session_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX bookmarks_by_session ON bookmarks (session_id, user_id)",
    """CREATE TABLE reminder_settings (
        user_id INTEGER PRIMARY KEY,
        minutes INTEGER NOT NULL CHECK (minutes >= 0)
    )""",
    """CREATE TABLE reminders (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id    INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        starts_at  TEXT NOT NULL,
        due_at     TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'queued', 'skipped')),
        settled_at TEXT,
        UNIQUE (user_id, session_id, starts_at)
    )""",
    "CREATE INDEX reminders_due ON reminders (due_at) WHERE state = 'waiting'",
    """CREATE TABLE agenda_snapshot (
        session_id TEXT PRIMARY KEY,
        details    TEXT NOT NULL,
        seen_at    TEXT NOT NULL
    ) WITHOUT ROWID""",
)


@dataclass(frozen=True)
class DueReminder:
    """A waiting reminder whose time has come, with what is needed to word it."""

    id: int
    user_id: int
    session_id: str
    starts_at: datetime
    due_at: datetime
    language: str | None
    blocked: bool


@dataclass(frozen=True)
class NewReminder:
    user_id: int
    session_id: str
    starts_at: datetime
    due_at: datetime


_text = time_text
"""A moment as stored (see :func:`bot.storage.sql.time_text`)."""


class AgendaRepository:
    """The agenda queries. Every change that must hold together is one transaction."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    # ----------------------------------------------------------------- bookmarks

    async def add_bookmark(
        self,
        user_id: int,
        session_id: str,
        details: str,
        reminder: NewReminder | None,
    ) -> bool:
        """Bookmark a session (with its reminder, and its snapshot if none is kept yet); False if it was."""
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                """INSERT INTO bookmarks (user_id, session_id, created_at) VALUES (?, ?, ?)
                   ON CONFLICT DO NOTHING RETURNING user_id""",
                (user_id, session_id, now_text()),
            )
            await tx.rows(
                "INSERT INTO agenda_snapshot (session_id, details, seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (session_id, details, now_text()),
            )
            if reminder is not None:
                await insert_reminders(tx, [reminder])
        return bool(rows)

    async def remove_bookmark(self, user_id: int, session_id: str) -> bool:
        """Drop a bookmark and its waiting reminder; False if there was none."""
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                "DELETE FROM bookmarks WHERE user_id = ? AND session_id = ? RETURNING user_id",
                (user_id, session_id),
            )
            await tx.rows(
                "DELETE FROM reminders WHERE user_id = ? AND session_id = ? AND state = 'waiting'",
                (user_id, session_id),
            )
            await tx.rows(  # nobody follows it any more: the next bookmark starts from what it is then
                """DELETE FROM agenda_snapshot WHERE session_id = ?
                   AND NOT EXISTS (SELECT 1 FROM bookmarks WHERE session_id = ?)""",
                (session_id, session_id),
            )
        return bool(rows)

    async def bookmarks(self, user_id: int) -> list[str]:
        """The session ids the user bookmarked, oldest first."""
        rows = await self._db.rows(
            "SELECT session_id FROM bookmarks WHERE user_id = ? ORDER BY created_at, session_id", (user_id,)
        )
        return [row[0] for row in rows]

    async def is_bookmarked(self, user_id: int, session_ids: Sequence[str]) -> set[str]:
        """Which of ``session_ids`` the user bookmarked."""
        if not session_ids:
            return set()
        marks = ",".join("?" * len(session_ids))
        rows = await self._db.rows(
            f"SELECT session_id FROM bookmarks WHERE user_id = ? AND session_id IN ({marks})",
            (user_id, *session_ids),
        )
        return {row[0] for row in rows}

    async def followers(self, session_id: str) -> list[tuple[int, str | None, bool]]:
        """``(user_id, language, blocked)`` of everyone who bookmarked the session."""
        rows = await self._db.rows(
            """SELECT b.user_id, coalesce(u.language, u.telegram_language), coalesce(u.blocked, 0)
               FROM bookmarks b LEFT JOIN users u ON u.user_id = b.user_id
               WHERE b.session_id = ? ORDER BY b.user_id""",
            (session_id,),
        )
        return [(user_id, lang, bool(blocked)) for user_id, lang, blocked in rows]

    # ----------------------------------------------------------------- reminder settings

    async def reminder_minutes(self, user_id: int) -> int:
        """Minutes before a session to remind the user (0: reminders off)."""
        rows = await self._db.rows("SELECT minutes FROM reminder_settings WHERE user_id = ?", (user_id,))
        return rows[0][0] if rows else DEFAULT_REMINDER_MINUTES

    async def set_reminder_minutes(
        self, user_id: int, minutes: int, reminders: Sequence[NewReminder]
    ) -> None:
        """Store the user's choice and replace their waiting reminders with ``reminders``.

        Reminders already queued are kept and are not made again for the same session start.
        """
        async with self._db.transaction() as tx:
            await tx.rows(
                """INSERT INTO reminder_settings (user_id, minutes) VALUES (?, ?)
                   ON CONFLICT (user_id) DO UPDATE SET minutes = excluded.minutes""",
                (user_id, minutes),
            )
            await tx.rows("DELETE FROM reminders WHERE user_id = ? AND state = 'waiting'", (user_id,))
            await insert_reminders(tx, reminders)

    # ----------------------------------------------------------------- reminders

    async def due(self, now: datetime, limit: int = 500) -> list[DueReminder]:
        """Waiting reminders due at ``now``, earliest first."""
        rows = await self._db.rows(
            """SELECT r.id, r.user_id, r.session_id, r.starts_at, r.due_at,
                      coalesce(u.language, u.telegram_language), coalesce(u.blocked, 0)
               FROM reminders r LEFT JOIN users u ON u.user_id = r.user_id
               WHERE r.state = 'waiting' AND r.due_at <= ? ORDER BY r.due_at, r.id LIMIT ?""",
            (_text(now), limit),
        )
        return [
            DueReminder(
                id=rid,
                user_id=user_id,
                session_id=session_id,
                starts_at=datetime.fromisoformat(starts),
                due_at=datetime.fromisoformat(due),
                language=lang,
                blocked=bool(blocked),
            )
            for rid, user_id, session_id, starts, due, lang, blocked in rows
        ]

    async def count_unsent(self, now: datetime) -> int:
        """Reminders due and not sent yet: waiting past their time, or queued and still in the outbox."""
        rows = await self._db.rows(
            """SELECT (SELECT count(*) FROM reminders WHERE state = 'waiting' AND due_at <= ?)
                    + (SELECT count(*) FROM outbox WHERE kind = 'reminder' AND state = 'pending')""",
            (_text(now),),
        )
        return rows[0][0]

    async def skip(self, ids: Sequence[int]) -> None:
        if ids:
            async with self._db.transaction() as tx:
                await mark_reminders(tx, ids, "skipped")

    async def reminder_states(self, user_id: int) -> list[tuple[str, datetime, datetime, str]]:
        """``(session_id, starts_at, due_at, state)`` of the user's reminders (for inspection and tests)."""
        rows = await self._db.rows(
            "SELECT session_id, starts_at, due_at, state FROM reminders WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
        return [(s, datetime.fromisoformat(a), datetime.fromisoformat(d), st) for s, a, d, st in rows]

    # ----------------------------------------------------------------- change tracking

    async def snapshots(self) -> dict[str, str]:
        """The last seen details of every bookmarked session."""
        rows = await self._db.rows(
            """SELECT s.session_id, s.details FROM agenda_snapshot s
               WHERE EXISTS (SELECT 1 FROM bookmarks b WHERE b.session_id = s.session_id)"""
        )
        return dict(rows)

    async def update_snapshot(self, session_id: str, details: str) -> None:
        """Keep a session's new wording (a renamed title or venue) without telling anyone."""
        await self._db.rows(
            "UPDATE agenda_snapshot SET details = ?, seen_at = ? WHERE session_id = ?",
            (details, now_text(), session_id),
        )

    async def forget_unbookmarked(self) -> None:
        await self._db.rows(
            """DELETE FROM agenda_snapshot WHERE NOT EXISTS
               (SELECT 1 FROM bookmarks b WHERE b.session_id = agenda_snapshot.session_id)"""
        )


async def insert_reminders(tx: Transaction, reminders: Sequence[NewReminder]) -> None:
    """Add reminders; one that exists for the same user, session and start is left as it is."""
    await tx.executemany(
        """INSERT INTO reminders (user_id, session_id, starts_at, due_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (user_id, session_id, starts_at) DO NOTHING""",
        [(r.user_id, r.session_id, _text(r.starts_at), _text(r.due_at)) for r in reminders],
    )


async def mark_reminders(tx: Transaction, ids: Sequence[int], state: str) -> None:
    now = now_text()
    await tx.executemany(
        "UPDATE reminders SET state = ?, settled_at = ? WHERE id = ? AND state = 'waiting'",
        [(state, now, rid) for rid in ids],
    )


async def session_changed(
    tx: Transaction,
    session_id: str,
    details: str | None,
    reminders: Sequence[NewReminder],
) -> None:
    """Record a bookmarked session's new state (``None``: removed) together with its new reminders.

    Waiting reminders for the old start are dropped; a removed session loses its bookmarks too.
    """
    await tx.rows("DELETE FROM reminders WHERE session_id = ? AND state = 'waiting'", (session_id,))
    if details is None:
        await tx.rows("DELETE FROM bookmarks WHERE session_id = ?", (session_id,))
        await tx.rows("DELETE FROM agenda_snapshot WHERE session_id = ?", (session_id,))
        return
    await tx.rows(
        """INSERT INTO agenda_snapshot (session_id, details, seen_at) VALUES (?, ?, ?)
           ON CONFLICT (session_id) DO UPDATE SET details = excluded.details, seen_at = excluded.seen_at""",
        (session_id, details, now_text()),
    )
    await insert_reminders(tx, reminders)


async def bookmarkers_with_minutes(tx: Transaction, session_id: str) -> list[tuple[int, int]]:
    """``(user_id, reminder minutes)`` of everyone who bookmarked the session."""
    rows = await tx.rows(
        f"""SELECT b.user_id, coalesce(r.minutes, {DEFAULT_REMINDER_MINUTES})
            FROM bookmarks b LEFT JOIN reminder_settings r ON r.user_id = b.user_id
            WHERE b.session_id = ?""",
        (session_id,),
    )
    return [(user_id, minutes) for user_id, minutes in rows]
