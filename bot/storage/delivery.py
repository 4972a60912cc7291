"""Schema step 3 and the queries of the inbox and the outbox.

The inbox holds every update from Telegram, stored before Telegram is told it arrived; ``handled_at``
is set once the bot's handlers finished with it. At start-up the updates not handled yet are handled
first. Handled updates are kept :data:`INBOX_KEEP` (to recognise one Telegram delivers again), then
deleted, and so are replies settled that long ago.

The outbox holds every outgoing message, kept until Telegram accepts it.

A row is written (``pending``) before the message is first sent and updated once when it is settled:
``sent`` (with Telegram's message id), ``failed`` (refused for good), ``blocked`` (the user blocked the
bot), ``cancelled`` (an organiser stopped it) or ``expired`` (a reply that could not be sent in time).
After a crash the ``pending`` rows are what is still to send. ``ref`` ties a row to what it belongs to
(``ann:<id>`` for an announcement, ``q:<id>`` for the answer to a question, ...), for progress counts
and cancelling.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.storage.sql import Transaction, now_text, time_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id    INTEGER NOT NULL,
        user_id    INTEGER,
        kind       TEXT NOT NULL,
        method     TEXT NOT NULL,
        params     TEXT NOT NULL,
        ref        TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        attempts   INTEGER NOT NULL DEFAULT 0,
        state      TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'sent', 'failed', 'blocked', 'cancelled', 'expired')),
        settled_at TEXT,
        message_id INTEGER,
        error      TEXT
    )""",
    "CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending'",
    "CREATE INDEX outbox_by_ref ON outbox (ref, state)",
    # The inbox, and which update (and which of its handler's sends) each outgoing message came from.
    """CREATE TABLE inbox (
        update_id   INTEGER PRIMARY KEY,
        payload     TEXT NOT NULL,
        received_at TEXT NOT NULL,
        handled_at  TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX inbox_unhandled ON inbox (update_id) WHERE handled_at IS NULL",
    "CREATE INDEX inbox_by_handled ON inbox (handled_at) WHERE handled_at IS NOT NULL",
    "ALTER TABLE outbox ADD COLUMN origin TEXT",
    "CREATE INDEX outbox_by_origin ON outbox (origin) WHERE origin IS NOT NULL",
)

STATES = ("pending", "sent", "failed", "blocked", "cancelled", "expired")


@dataclass(frozen=True)
class OutboxRow:
    """A message as stored in the outbox."""

    id: int
    chat_id: int
    user_id: int | None
    kind: str
    method: str
    params: dict[str, Any]
    ref: str | None
    created_at: datetime
    expires_at: datetime | None
    attempts: int


@dataclass(frozen=True)
class NewMessage:
    """A message to store: where it goes, the Bot API method and its parameters."""

    chat_id: int
    kind: str
    method: str
    params: dict[str, Any]
    ref: str | None = None
    user_id: int | None = None
    expires_at: datetime | None = None
    origin: str | None = None
    """``<update id>:<n>``: the n-th send of the handler of that update (see :mod:`bot.delivery.inbox`)."""


_COLUMNS = "id, chat_id, user_id, kind, method, params, ref, created_at, expires_at, attempts"


def _row(row: Sequence[Any]) -> OutboxRow:
    oid, chat_id, user_id, kind, method, params, ref, created, expires, attempts = row
    return OutboxRow(
        id=oid,
        chat_id=chat_id,
        user_id=user_id,
        kind=kind,
        method=method,
        params=json.loads(params),
        ref=ref,
        created_at=datetime.fromisoformat(created),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        attempts=attempts,
    )


class Outbox:
    """The outbox queries. Writes are one statement each, or one transaction for a batch."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(
        self,
        messages: Sequence[NewMessage],
        also: Callable[[Transaction], Awaitable[None]] | None = None,
    ) -> list[int]:
        """Store ``messages`` (and whatever ``also`` writes) in one transaction; their ids, in order."""
        async with self._db.transaction() as tx:
            if also is not None:
                await also(tx)
            if not messages:
                return []
            before = (await tx.rows("SELECT coalesce(max(id), 0) FROM outbox"))[0][0]
            now = now_text()
            await tx.executemany(
                """INSERT INTO outbox
                       (chat_id, user_id, kind, method, params, ref, created_at, expires_at, origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        m.chat_id,
                        m.user_id,
                        m.kind,
                        m.method,
                        json.dumps(m.params, ensure_ascii=False),
                        m.ref,
                        now,
                        time_text(m.expires_at) if m.expires_at else None,
                        m.origin,
                    )
                    for m in messages
                ],
            )
            rows = await tx.rows("SELECT id FROM outbox WHERE id > ? ORDER BY id", (before,))
        return [row[0] for row in rows]

    async def pending(self, ref: str | None = None, ids: Sequence[int] | None = None) -> list[OutboxRow]:
        """Pending messages, oldest first: all of them, those of ``ref``, or those with ``ids``."""
        if ids is not None:
            found: list[OutboxRow] = []
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = await self._db.rows(
                    f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND id IN ({marks}) ORDER BY id",
                    chunk,
                )
                found.extend(_row(r) for r in rows)
            return found
        if ref is not None:
            rows = await self._db.rows(
                f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND ref = ? ORDER BY id", (ref,)
            )
        else:
            rows = await self._db.rows(f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY id")
        return [_row(r) for r in rows]

    async def settle(
        self, ids: Sequence[int], state: str, *, message_id: int | None = None, error: str | None = None
    ) -> None:
        """Record how pending messages ended (rows already settled are left as they are)."""
        now = now_text()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            await self._db.rows(
                f"""UPDATE outbox SET state = ?, settled_at = ?, message_id = ?, error = ?
                    WHERE state = 'pending' AND id IN ({marks})""",
                (state, now, message_id, error, *chunk),
            )

    async def count_attempt(self, outbox_id: int) -> None:
        await self._db.rows("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (outbox_id,))

    async def cancel(self, ref: str) -> int:
        """Cancel the pending messages of ``ref``; how many there were."""
        rows = await self._db.rows(
            """UPDATE outbox SET state = 'cancelled', settled_at = ?
               WHERE state = 'pending' AND ref = ? RETURNING id""",
            (now_text(), ref),
        )
        return len(rows)

    async def counts(self, ref: str) -> dict[str, int]:
        """How many messages of ``ref`` are in each state (every state present, zero if none)."""
        rows = await self._db.rows("SELECT state, count(*) FROM outbox WHERE ref = ? GROUP BY state", (ref,))
        counts = dict.fromkeys(STATES, 0)
        counts.update({state: n for state, n in rows})
        return counts

    async def message_id(self, outbox_id: int) -> int | None:
        rows = await self._db.rows("SELECT message_id FROM outbox WHERE id = ?", (outbox_id,))
        return rows[0][0] if rows else None

    async def outcome(self, outbox_id: int) -> tuple[str, int | None, str | None]:
        """The message's state, Telegram's message id and the error, if any."""
        rows = await self._db.rows("SELECT state, message_id, error FROM outbox WHERE id = ?", (outbox_id,))
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else ("failed", None, "unknown message")

    async def by_origin(self, origin: str) -> list[int]:
        """Ids of the messages an update's handler stored as its send ``origin`` (see :class:`NewMessage`)."""
        rows = await self._db.rows("SELECT id FROM outbox WHERE origin = ? ORDER BY id", (origin,))
        return [row[0] for row in rows]


INBOX_KEEP = timedelta(days=1)
"""How long a handled update is kept: Telegram keeps an unconfirmed update for 24 hours."""
MAX_HANDLING_ATTEMPTS = 3
"""An update whose handling was cut short (by a crash) this many times is not tried again."""


@dataclass(frozen=True)
class StoredUpdate:
    """An update as stored in the inbox: Telegram's JSON, and how many times its handling began."""

    update_id: int
    payload: dict[str, Any]
    attempts: int


class Inbox:
    """The inbox queries."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def store(self, updates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store ``updates`` (Telegram's JSON) in one transaction; those not stored before, in order.

        An update already in the inbox (Telegram delivered it again) is left as it is and not returned.
        """
        if not updates:
            return []
        rows = await self._db.rows(  # one statement: committed at once, all of them or none
            """INSERT INTO inbox (update_id, payload, received_at)
               SELECT json_extract(value, '$.update_id'), value, ? FROM json_each(?) WHERE true
               ON CONFLICT (update_id) DO NOTHING RETURNING update_id""",
            (now_text(), json.dumps(list(updates), ensure_ascii=False)),
        )
        new = {row[0] for row in rows}
        return [update for update in updates if update["update_id"] in new]

    async def mark_handled(self, update_ids: Sequence[int]) -> None:
        now = now_text()
        for start in range(0, len(update_ids), 500):
            chunk = list(update_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            await self._db.rows(
                f"UPDATE inbox SET handled_at = ? WHERE handled_at IS NULL AND update_id IN ({marks})",
                (now, *chunk),
            )

    async def resume(self) -> tuple[list[StoredUpdate], list[int]]:
        """The updates not handled yet, oldest first, each counted as one more attempt; and the ids of
        those given up on (tried :data:`MAX_HANDLING_ATTEMPTS` times already), now marked handled."""
        async with self._db.transaction() as tx:
            given_up = await tx.rows(
                """UPDATE inbox SET handled_at = ?
                   WHERE handled_at IS NULL AND attempts >= ? RETURNING update_id""",
                (now_text(), MAX_HANDLING_ATTEMPTS),
            )
            rows = await tx.rows(
                """UPDATE inbox SET attempts = attempts + 1 WHERE handled_at IS NULL
                   RETURNING update_id, payload, attempts"""
            )
        stored = sorted(
            (StoredUpdate(uid, json.loads(payload), attempts) for uid, payload, attempts in rows),
            key=lambda u: u.update_id,
        )
        return stored, sorted(row[0] for row in given_up)

    async def purge(self, now: datetime, keep: timedelta = INBOX_KEEP) -> tuple[int, int]:
        """Delete the updates handled, and the replies settled, more than ``keep`` before ``now``; how
        many of each. (Other outgoing messages stay: announcements are counted by their rows.)"""
        before = time_text(now - keep)
        async with self._db.transaction() as tx:
            updates = await tx.rows(
                "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ? RETURNING update_id",
                (before,),
            )
            replies = await tx.rows(
                """DELETE FROM outbox WHERE kind = 'reply' AND state != 'pending' AND settled_at < ?
                   RETURNING id""",
                (before,),
            )
        return len(updates), len(replies)

    async def state(self, update_id: int) -> tuple[bool, int] | None:
        """Whether the update was handled and its attempts, or None when it is not in the inbox."""
        rows = await self._db.rows("SELECT handled_at, attempts FROM inbox WHERE update_id = ?", (update_id,))
        return (rows[0][0] is not None, rows[0][1]) if rows else None
