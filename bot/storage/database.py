"""The bot's SQLite database: schema migrations and the queries the services need.

One aiosqlite connection serves the whole bot. It runs in autocommit mode and every operation is a
single SQL statement executed (and its rows fetched) in one job on aiosqlite's thread, so operations
from concurrent handlers never interleave inside each other and each one is committed on its own.

The schema version is SQLite's ``PRAGMA user_version``: migration step *n* (1-based) in
:data:`MIGRATIONS` brings a version *n-1* database to version *n*, inside one transaction together
with the version bump. Opening an older database upgrades it; a database from a newer release of the
bot is refused with :class:`SchemaVersionError` rather than being misread.

Users are subscribed to announcements by default (organisers' news is opt-out): whoever started the
bot came for the summit; :meth:`Database.set_subscribed` records an opt-out. All timestamps are stored
as ISO 8601 text in UTC.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage import (
    agenda_schema,
    announcements_schema,
    calendar_feed_schema,
    conversation_schema,
    delivery_schema,
    knowledge_schema,
    privacy_schema,
    usage_schema,
)
from bot.storage.sql import Transaction, now_text, times_in_one_form

MAX_QUESTION_CHARS = 4000
"""Longer question texts are cut to this many characters when stored."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: users, their questions and feedback on the answers.
    (
        """CREATE TABLE users (
            user_id    INTEGER PRIMARY KEY,
            language   TEXT,
            subscribed INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
            blocked    INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
            first_seen TEXT NOT NULL,
            last_seen  TEXT NOT NULL
        )""",
        """CREATE TABLE questions (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id  INTEGER NOT NULL,
            chat_id  INTEGER NOT NULL,
            text     TEXT NOT NULL,
            language TEXT NOT NULL,
            answered INTEGER NOT NULL CHECK (answered IN (0, 1)),
            score    REAL NOT NULL,
            sources  TEXT NOT NULL DEFAULT '[]',
            asked_at TEXT NOT NULL
        )""",
        """CREATE TABLE feedback (
            question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
            user_id     INTEGER NOT NULL,
            helpful     INTEGER NOT NULL CHECK (helpful IN (0, 1)),
            at          TEXT NOT NULL,
            PRIMARY KEY (question_id, user_id)
        ) WITHOUT ROWID""",
    ),
    # 2: keep the language reported by Telegram apart from the one the user chose (``language``),
    # so that a user who never chose follows their Telegram setting; indexes for the organisers' views.
    (
        "ALTER TABLE users ADD COLUMN telegram_language TEXT",
        "CREATE INDEX questions_by_time ON questions (asked_at)",
        "CREATE INDEX questions_by_user ON questions (user_id)",
    ),
    # 3 and on: one step per feature, each written beside that feature's queries.
    delivery_schema.MIGRATION,  # 3: durable inbox and outbox of the one sender
    announcements_schema.MIGRATION,  # 4: organisers' announcements
    agenda_schema.MIGRATION,  # 5: bookmarks, reminders
    knowledge_schema.MIGRATION,  # 6: applied knowledge versions
    conversation_schema.MIGRATION,  # 7: answer outcomes, follow-up context
    privacy_schema.MIGRATION,  # 8: retention
    calendar_feed_schema.MIGRATION,  # 9: personal calendar feeds
    usage_schema.MIGRATION,  # 10: each question counted once, also when handled again after a crash
    # 11: one column says how a question was answered, ``outcome``: ``answered`` (answered means the
    # outcome ``answer``) goes, with the trigger that derived an outcome for inserts that named none.
    (
        "DROP TRIGGER IF EXISTS questions_default_outcome",
        """UPDATE questions SET outcome = CASE answered WHEN 1 THEN 'answer' ELSE 'decline' END
           WHERE outcome IS NULL""",
        "ALTER TABLE questions DROP COLUMN answered",
    ),
    # 12: every stored time in one form, UTC to the microsecond (see bot.storage.sql.time_text).
    times_in_one_form(),
)

CURRENT_VERSION = len(MIGRATIONS)

_USER_COLUMNS = "user_id, language, telegram_language, subscribed, blocked, first_seen, last_seen"
_QUESTION_COLUMNS = "id, user_id, chat_id, text, language, outcome = 'answer', score, sources, asked_at"


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the bot than this one."""


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


@dataclass(frozen=True)
class QuestionRecord:
    """A question as stored, with how it was answered."""

    id: int
    user_id: int
    chat_id: int
    text: str
    language: str
    answered: bool
    score: float
    sources: tuple[str, ...]
    asked_at: datetime


@dataclass(frozen=True)
class Usage:
    """Totals for organisers: how many people use the bot and how well it answers."""

    users: int
    blocked_users: int
    questions: int
    answered: int
    helpful: int
    unhelpful: int


_now = now_text


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


def _question(row: sqlite3.Row | tuple[Any, ...]) -> QuestionRecord:
    qid, user_id, chat_id, text, language, answered, score, sources, asked_at = row
    return QuestionRecord(
        id=qid,
        user_id=user_id,
        chat_id=chat_id,
        text=text,
        language=language,
        answered=bool(answered),
        score=score,
        sources=tuple(json.loads(sources)),
        asked_at=datetime.fromisoformat(asked_at),
    )


class Database:
    """Async access to the bot's SQLite file. Create with :meth:`open`, finish with :meth:`close`."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self._lock = asyncio.Lock()
        self.path = path

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

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement and fetch its rows in a single job on the connection's thread."""
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement on its own (committed at once) and return its rows.

        For the feature modules in :mod:`bot.storage` that keep their queries beside their schema.
        """
        return await self._rows(sql, params)

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

    async def touch_user(self, user_id: int, telegram_language: str | None = None) -> UserRecord:
        """Note that the user wrote to the bot now; create them on first contact.

        ``first_seen`` is kept, ``last_seen`` updated, and the user is no longer marked as having blocked
        the bot (they could not have written otherwise). ``telegram_language`` (None: unknown, keep the
        previous one) is what Telegram reports; it is the user's language until they choose one.
        """
        now = _now()
        rows = await self._rows(
            f"""INSERT INTO users (user_id, telegram_language, first_seen, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    last_seen = excluded.last_seen,
                    blocked = 0,
                    telegram_language = coalesce(excluded.telegram_language, users.telegram_language)
                RETURNING {_USER_COLUMNS}""",
            (user_id, telegram_language, now, now),
        )
        return _user(rows[0])

    async def get_user(self, user_id: int) -> UserRecord | None:
        rows = await self._rows(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    async def _update_user(self, user_id: int, column: str, value: object) -> None:
        """Set one column, creating the user first if they are not stored yet."""
        now = _now()
        await self._rows(
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
        rows = await self._rows(
            "SELECT user_id FROM users WHERE subscribed = 1 AND blocked = 0 ORDER BY first_seen, user_id"
        )
        return [row[0] for row in rows]

    async def record_question(
        self,
        *,
        user_id: int,
        chat_id: int,
        text: str,
        language: str,
        outcome: str,
        score: float,
        sources: Sequence[str],
        origin: str | None = None,
    ) -> int:
        """Store a question (cut to :data:`MAX_QUESTION_CHARS`) and its outcome (see
        :data:`index.types.Outcome`; only ``answer`` counts as answered); return its id.

        A question with an ``origin`` already stored (its update handled again) is not stored twice: the
        stored row's id is returned.
        """
        if outcome not in conversation_schema.OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        rows = await self._rows(
            """INSERT INTO questions
                   (user_id, chat_id, text, language, score, sources, asked_at, outcome, origin)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (origin) WHERE origin IS NOT NULL DO NOTHING RETURNING id""",
            (
                user_id,
                chat_id,
                text[:MAX_QUESTION_CHARS],
                language,
                float(score),
                json.dumps(list(sources), ensure_ascii=False),
                _now(),
                outcome,
                origin,
            ),
        )
        if rows:
            return rows[0][0]
        known = await self.question_from(origin) if origin is not None else None
        if known is None:  # cannot happen: only a stored origin conflicts
            raise RuntimeError(f"question from {origin} was neither stored nor found")
        return known

    async def question_from(self, origin: str) -> int | None:
        """The id of the question stored from ``origin`` (see :mod:`bot.storage.usage_schema`), if any."""
        rows = await self._rows("SELECT id FROM questions WHERE origin = ?", (origin,))
        return rows[0][0] if rows else None

    async def get_question(self, question_id: int) -> QuestionRecord | None:
        rows = await self._rows(f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE id = ?", (question_id,))
        return _question(rows[0]) if rows else None

    async def recent_questions(self, limit: int = 50) -> list[QuestionRecord]:
        """The latest ``limit`` questions, newest first."""
        rows = await self._rows(
            f"SELECT {_QUESTION_COLUMNS} FROM questions ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_question(row) for row in rows]

    async def record_feedback(self, question_id: int, user_id: int, helpful: bool) -> bool:
        """Store the user's vote on an answer, replacing their earlier vote on it.

        Returns False (and stores nothing) when no question has that id.
        """
        try:
            await self._rows(
                """INSERT INTO feedback (question_id, user_id, helpful, at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (question_id, user_id)
                   DO UPDATE SET helpful = excluded.helpful, at = excluded.at""",
                (question_id, user_id, int(helpful), _now()),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    async def feedback_for(self, question_id: int) -> list[tuple[int, bool]]:
        """``(user_id, helpful)`` for every vote on the question, by user id."""
        rows = await self._rows(
            "SELECT user_id, helpful FROM feedback WHERE question_id = ? ORDER BY user_id", (question_id,)
        )
        return [(user_id, bool(helpful)) for user_id, helpful in rows]

    async def usage(self) -> Usage:
        rows = await self._rows(
            """SELECT (SELECT count(*) FROM users),
                      (SELECT count(*) FROM users WHERE blocked = 1),
                      (SELECT count(*) FROM questions),
                      (SELECT count(*) FROM questions WHERE outcome = 'answer'),
                      (SELECT count(*) FROM feedback WHERE helpful = 1),
                      (SELECT count(*) FROM feedback WHERE helpful = 0)"""
        )
        return Usage(*rows[0])


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
