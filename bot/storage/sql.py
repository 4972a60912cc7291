"""What the feature modules of :mod:`bot.storage` share without importing the database module itself
(which imports their schema steps): the stored time format and the transaction handle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite


def time_text(moment: datetime) -> str:
    """A time as every table stores it: ISO 8601 in UTC to the microsecond, ``+00:00`` written out
    (``2023-11-08T01:30:00.000000+00:00``), so that text order is time order. A time without a zone is
    taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now_text() -> str:
    """The current time as stored (see :func:`time_text`)."""
    return time_text(datetime.now(UTC))


TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("first_seen", "last_seen"),
    "questions": ("asked_at",),
    "feedback": ("at",),
    "outbox": ("created_at", "expires_at", "settled_at"),
    "inbox": ("received_at", "handled_at"),
    "announcements": ("due_at", "created_at", "started_at", "finished_at"),
    "bookmarks": ("created_at",),
    "reminders": ("starts_at", "due_at", "settled_at"),
    "agenda_snapshot": ("seen_at",),
    "knowledge_proposals": ("created_at", "decided_at"),
    "knowledge_activations": ("at",),
    "chat_topics": ("at",),
    "purges": ("purged_at", "cutoff"),
    "calendar_feeds": ("created_at",),
}
"""Every stored time, by table (schema version 11)."""

_D = "[0-9]"
_STORED = f"{_D * 4}-{_D * 2}-{_D * 2}T{_D * 2}:{_D * 2}:{_D * 2}.{_D * 6}+00:00"
"""A GLOB pattern of the stored form."""


def times_in_one_form() -> tuple[str, ...]:
    """Migration statements that rewrite every stored time not yet in the form of :func:`time_text`
    (to the second, with another offset, without a zone, ``Z``...) into it, in UTC (to the
    millisecond, what SQLite's date functions keep)."""
    return tuple(
        f"""UPDATE {table} SET {column} =
               strftime('%Y-%m-%dT%H:%M:', {column}) || strftime('%f', {column}) || '000+00:00'
           WHERE {column} IS NOT NULL AND {column} NOT GLOB '{_STORED}'
             AND strftime('%f', {column}) IS NOT NULL"""
        for table, columns in TIME_COLUMNS.items()
        for column in columns
    )


class Transaction:
    """Statements inside :meth:`Database.transaction`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, params)


class Connection(Protocol):
    """What a feature module's repository needs of :class:`bot.storage.database.Database`: statements
    committed one by one, and transactions."""

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
