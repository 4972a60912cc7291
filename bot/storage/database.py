"""The bot's SQLite database: one connection, the schema migrations, a health probe, and one repository
per feature on that connection (``db.users``, ``db.questions``, ``db.agenda``...).

One aiosqlite connection serves the whole bot. It runs in autocommit mode and every operation is a
single SQL statement executed (and its rows fetched) in one job on aiosqlite's thread, or several in
:meth:`Database.transaction`, so operations from concurrent handlers never interleave inside each other.
Each feature's module in :mod:`bot.storage` keeps its schema step and its queries together, and reaches
the connection only through :class:`bot.storage.sql.Connection` (:meth:`Database.rows` and
:meth:`Database.transaction`).

The schema version is SQLite's ``PRAGMA user_version``: migration step *n* (1-based) in
:data:`MIGRATIONS` brings a version *n-1* database to version *n*, inside one transaction together
with the version bump. Opening an older database upgrades it; a database from a newer release of the
bot is refused with :class:`SchemaVersionError` rather than being misread. All timestamps are stored
as ISO 8601 text in UTC (see :func:`bot.storage.sql.time_text`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage import (
    agenda,
    announcements,
    calendar_feeds,
    conversation,
    delivery,
    feedback,
    insights,
    knowledge,
    privacy,
    questions,
    users,
)
from bot.storage.sql import Transaction, times_in_one_form

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (*users.CREATE, *questions.CREATE, *feedback.CREATE),  # 1: users, their questions, feedback on answers
    (*users.TELEGRAM_LANGUAGE, *questions.INDEXES),  # 2: Telegram's language; the organisers' indexes
    delivery.MIGRATION,  # 3: durable inbox and outbox of the one sender
    announcements.MIGRATION,  # 4: organisers' announcements
    agenda.MIGRATION,  # 5: bookmarks, reminders
    knowledge.MIGRATION,  # 6: applied knowledge versions
    conversation.MIGRATION,  # 7: answer outcomes, follow-up context
    privacy.MIGRATION,  # 8: retention
    calendar_feeds.MIGRATION,  # 9: personal calendar feeds
    questions.ORIGIN,  # 10: each question counted once, also when handled again after a crash
    questions.ONE_OUTCOME,  # 11: one column says how a question was answered
    times_in_one_form(),  # 12: every stored time in one form, UTC to the microsecond
)
"""Each step written beside its feature's queries, in that feature's module."""

CURRENT_VERSION = len(MIGRATIONS)


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the bot than this one."""


class Database:
    """Async access to the bot's SQLite file. Create with :meth:`open`, finish with :meth:`close`."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self._lock = asyncio.Lock()
        self.path = path
        self.users = users.UserRepository(self)
        self.questions = questions.QuestionRepository(self)
        self.feedback = feedback.FeedbackRepository(self)
        self.conversation = conversation.ConversationRepository(self)
        self.agenda = agenda.AgendaRepository(self)
        self.announcements = announcements.AnnouncementRepository(self)
        self.calendar_feeds = calendar_feeds.CalendarFeedRepository(self)
        self.outbox = delivery.Outbox(self)
        self.inbox = delivery.Inbox(self)
        self.knowledge = knowledge.KnowledgeRepository(self)
        self.insights = insights.InsightsRepository(self)
        self.privacy = privacy.PrivacyRepository(self)

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating it and its directory if needed) and migrate the database at ``path``.

        Raises :class:`SchemaVersionError` when the file comes from a newer version of the bot.
        """
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Private from the first byte: SQLite gives its -wal and -shm files the same permissions.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA busy_timeout = 5000")
            await _migrate(conn, path)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        return await _user_version(self._conn)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement on its own (committed at once) and return its rows, fetched in a single job
        on the connection's thread: for the repositories in :mod:`bot.storage`."""
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def probe(self) -> None:
        """Prove that the database can be read and could be written now, writing nothing: a statement
        that would write (and matches no row) inside a transaction that is rolled back. Raises the
        database's error otherwise (a read-only file, a full disk, a lock held too long)."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.execute("DELETE FROM users WHERE 0")
            finally:
                await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Several statements committed together (``BEGIN IMMEDIATE`` ... ``COMMIT``), or none of them.

        No other statement of this connection runs in between; another process writing the same file
        waits (``busy_timeout``) until the commit.
        """
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")


class FileProblem(Exception):
    """A database file that cannot be used: ``kind`` is ``locked``, ``unreadable`` or ``damaged``."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def check_file(path: Path) -> int:
    """Check an existing database file before the bot opens it (SQLite's quick check), writing nothing;
    its schema version. Raises :class:`FileProblem`."""
    try:
        conn = sqlite3.connect(path, timeout=5)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise FileProblem("locked", str(exc)) from None
        raise FileProblem("unreadable", str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise FileProblem("damaged", str(exc)) from None
    if problems != ["ok"]:
        raise FileProblem("damaged", problems[0])
    return version


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return next(iter(rows))[0]


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    """Apply the migration steps the database lacks, each in its own transaction."""
    version = await _user_version(conn)
    if version > CURRENT_VERSION:
        raise SchemaVersionError(
            f"The database {path} has schema version {version}, but this version of summit-bot only "
            f"knows versions up to {CURRENT_VERSION}: it was written by a newer release. Upgrade the bot, "
            "or point it at another data directory."
        )
    for number in range(version + 1, CURRENT_VERSION + 1):
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1]:
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
