"""What the feature modules of :mod:`bot.storage` share without importing the database module itself
(which imports their schema steps): the stored time format and the transaction handle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite


def now_text() -> str:
    """The current time as stored: ISO 8601 in UTC, to the microsecond."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


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
