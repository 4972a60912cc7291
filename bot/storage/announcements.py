"""Schema step 4 and the queries of organisers' announcements.

An announcement is one row here; its deliveries are outbox rows with ``ref = 'ann:<id>'`` (and the
messages that report its progress to the organiser, ``ref = 'annp:<id>'``). Its life:

- ``draft``: written in the chat, previewed, not confirmed yet;
- ``scheduled``: to be sent at ``due_at`` ("send now" is scheduled for now, so a crash right after the
  press still sends it);
- ``sending``: its deliveries are in the outbox. The change to ``sending`` and the deliveries are
  committed in one transaction, so after a crash an announcement is either not started (and will be)
  or fully queued;
- ``stopping``: someone asked (e.g. from the command line) to stop it; the running bot does;
- ``done``, ``cancelled`` (never sent), ``stopped`` (stopped while sending).

A second process (the command line) may insert and cancel rows while the bot runs: every write here is
one short statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.storage.sql import Transaction, now_text, time_text

if TYPE_CHECKING:
    from bot.storage.sql import Connection

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE announcements (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        author_id   INTEGER,
        chat_id     INTEGER,
        language    TEXT NOT NULL DEFAULT 'en',
        versions    TEXT NOT NULL,
        state       TEXT NOT NULL
                    CHECK (state IN ('draft', 'scheduled', 'sending', 'stopping', 'done', 'cancelled',
                                     'stopped')),
        due_at      TEXT,
        created_at  TEXT NOT NULL,
        started_at  TEXT,
        finished_at TEXT,
        recipients  INTEGER
    )""",
    "CREATE INDEX announcements_due ON announcements (due_at) WHERE state = 'scheduled'",
    "CREATE INDEX announcements_active ON announcements (state) WHERE state IN ('sending', 'stopping')",
)

STATES = ("draft", "scheduled", "sending", "stopping", "done", "cancelled", "stopped")
OPEN = ("draft", "scheduled")
"""States from which an announcement can still be sent or cancelled."""


@dataclass(frozen=True)
class Version:
    """One language's text of an announcement (HTML). ``lang`` None: written without a marker."""

    lang: str | None
    html: str


@dataclass(frozen=True)
class AnnouncementRow:
    """An announcement as stored."""

    id: int
    author_id: int | None
    chat_id: int | None
    """Where the author follows its progress (None when it came from the command line)."""
    language: str
    """The author's language, for the progress messages."""
    versions: tuple[Version, ...]
    state: str
    due_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    recipients: int | None

    @property
    def ref(self) -> str:
        return ref(self.id)


def ref(announcement_id: int) -> str:
    """The outbox ``ref`` of an announcement's deliveries."""
    return f"ann:{announcement_id}"


def progress_ref(announcement_id: int) -> str:
    """The outbox ``ref`` of the messages telling the author how its delivery goes."""
    return f"annp:{announcement_id}"


_COLUMNS = (
    "id, author_id, chat_id, language, versions, state, due_at, created_at, started_at, finished_at, "
    "recipients"
)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _text(at: datetime | None) -> str:
    return time_text(at) if at is not None else now_text()


def _row(row: Sequence[Any]) -> AnnouncementRow:
    aid, author, chat, language, versions, state, due, created, started, finished, recipients = row
    return AnnouncementRow(
        id=aid,
        author_id=author,
        chat_id=chat,
        language=language,
        versions=tuple(Version(lang, text) for lang, text in json.loads(versions)),
        state=state,
        due_at=_time(due),
        created_at=datetime.fromisoformat(created),
        started_at=_time(started),
        finished_at=_time(finished),
        recipients=recipients,
    )


class NotOpen(RuntimeError):
    """The announcement was already started, cancelled or stopped (e.g. by another process)."""


class AnnouncementRepository:
    """The queries on announcements; each write is one statement (or part of the sender's transaction)."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def create(
        self,
        versions: Sequence[Version],
        *,
        state: str = "draft",
        due_at: datetime | None = None,
        author_id: int | None = None,
        chat_id: int | None = None,
        language: str = "en",
    ) -> AnnouncementRow:
        rows = await self._db.rows(
            f"""INSERT INTO announcements (author_id, chat_id, language, versions, state, due_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}""",
            (
                author_id,
                chat_id,
                language,
                json.dumps([[v.lang, v.html] for v in versions], ensure_ascii=False),
                state,
                time_text(due_at) if due_at else None,
                now_text(),
            ),
        )
        return _row(rows[0])

    async def get(self, announcement_id: int) -> AnnouncementRow | None:
        rows = await self._db.rows(f"SELECT {_COLUMNS} FROM announcements WHERE id = ?", (announcement_id,))
        return _row(rows[0]) if rows else None

    async def schedule(self, announcement_id: int, due_at: datetime) -> bool:
        """Set (or move) the time of a draft or scheduled announcement; False if it is past that."""
        rows = await self._db.rows(
            """UPDATE announcements SET state = 'scheduled', due_at = ?
               WHERE id = ? AND state IN ('draft', 'scheduled') RETURNING id""",
            (time_text(due_at), announcement_id),
        )
        return bool(rows)

    async def cancel(self, announcement_id: int, at: datetime | None = None) -> bool:
        """Cancel a draft or scheduled announcement; False if it is not (or no longer) one."""
        rows = await self._db.rows(
            """UPDATE announcements SET state = 'cancelled', finished_at = ?
               WHERE id = ? AND state IN ('draft', 'scheduled') RETURNING id""",
            (_text(at), announcement_id),
        )
        return bool(rows)

    async def request_stop(self, announcement_id: int) -> bool:
        """Ask the running bot to stop an announcement being sent; False if it is not being sent."""
        rows = await self._db.rows(
            "UPDATE announcements SET state = 'stopping' WHERE id = ? AND state = 'sending' RETURNING id",
            (announcement_id,),
        )
        return bool(rows)

    async def finish(self, announcement_id: int, state: str, at: datetime | None = None) -> bool:
        """``sending`` or ``stopping`` → ``done`` or ``stopped``; False if it was not in either."""
        rows = await self._db.rows(
            """UPDATE announcements SET state = ?, finished_at = ?
               WHERE id = ? AND state IN ('sending', 'stopping') RETURNING id""",
            (state, _text(at), announcement_id),
        )
        return bool(rows)

    @staticmethod
    async def mark_sending(
        tx: Transaction, announcement_id: int, recipients: int, at: datetime | None = None
    ) -> None:
        """Inside the transaction that stores the deliveries: draft or scheduled → sending.

        Raises :class:`NotOpen` (rolling the whole transaction back) when it was started or cancelled
        meanwhile, so an announcement is never queued twice.
        """
        rows = await tx.rows(
            """UPDATE announcements SET state = 'sending', started_at = ?, recipients = ?
               WHERE id = ? AND state IN ('draft', 'scheduled') RETURNING id""",
            (_text(at), recipients, announcement_id),
        )
        if not rows:
            raise NotOpen(f"announcement {announcement_id} is no longer waiting to be sent")

    async def due(self, now: datetime) -> list[AnnouncementRow]:
        """Scheduled announcements whose time has come, oldest first."""
        rows = await self._db.rows(
            f"""SELECT {_COLUMNS} FROM announcements WHERE state = 'scheduled' AND due_at <= ?
                ORDER BY due_at, id""",
            (time_text(now),),
        )
        return [_row(r) for r in rows]

    async def active(self) -> list[AnnouncementRow]:
        """Announcements being sent or asked to stop."""
        rows = await self._db.rows(
            f"SELECT {_COLUMNS} FROM announcements WHERE state IN ('sending', 'stopping') ORDER BY id"
        )
        return [_row(r) for r in rows]

    async def listing(self, recent: int = 10) -> list[AnnouncementRow]:
        """Every scheduled or active announcement, and the latest ``recent`` others; newest first."""
        rows = await self._db.rows(
            f"""SELECT {_COLUMNS} FROM announcements
                WHERE state IN ('scheduled', 'sending', 'stopping')
                   OR id IN (SELECT id FROM announcements WHERE state NOT IN ('draft')
                             ORDER BY id DESC LIMIT ?)
                ORDER BY id DESC""",
            (recent,),
        )
        return [_row(r) for r in rows]

    async def recipients(self) -> list[tuple[int, str | None]]:
        """``(user_id, language)`` of everyone to send to: subscribed and not blocking the bot."""
        rows = await self._db.rows(
            """SELECT user_id, coalesce(language, telegram_language) FROM users
               WHERE subscribed = 1 AND blocked = 0 ORDER BY first_seen, user_id"""
        )
        return [(user_id, lang) for user_id, lang in rows]

    async def progress_message(self, announcement_id: int) -> int | None:
        """Telegram's id of the message that shows the author the progress, once it was sent."""
        rows = await self._db.rows(
            """SELECT message_id FROM outbox
               WHERE ref = ? AND method = 'sendMessage' AND state = 'sent' AND message_id IS NOT NULL
               ORDER BY id LIMIT 1""",
            (progress_ref(announcement_id),),
        )
        return rows[0][0] if rows else None

    async def counts(self, refs: Sequence[str]) -> dict[str, dict[str, int]]:
        """Outbox rows by state for several refs at once (every state present, zero if none)."""
        found: dict[str, dict[str, int]] = {
            r: dict.fromkeys(("pending", "sent", "failed", "blocked", "cancelled", "expired"), 0)
            for r in refs
        }
        if not refs:
            return found
        marks = ",".join("?" * len(refs))
        rows = await self._db.rows(
            f"SELECT ref, state, count(*) FROM outbox WHERE ref IN ({marks}) GROUP BY ref, state", list(refs)
        )
        for r, state, n in rows:
            found[r][state] = n
        return found
