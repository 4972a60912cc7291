"""Schema step for the conversation feature (see :data:`bot.storage.database.MIGRATIONS`).

* ``questions.outcome``: what the engine did with each question (``answer``, ``clarify``, ``decline``,
  ``gap``, ``smalltalk``), so the organisers can list what attendees could not find. Rows stored before
  this step get ``answer`` or ``decline`` from ``answered`` (a column dropped since, in step 11, with the
  trigger this step made for inserts without an outcome).
* ``chat_topics``: per chat, the knowledge entry its last answer came from, the question, its language
  and when it was asked, so a follow-up ("and from Shanghai?") still finds it after a restart.

Its queries live here too, in :class:`ConversationStore`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, get_args

from bot.storage.sql import Connection, time_text
from index.types import LANGS, Outcome

if TYPE_CHECKING:  # the engine's modules load late
    from index.followup import Topic

OUTCOMES: tuple[str, ...] = get_args(Outcome)
_OUTCOME_CHECK = "outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")"

MIGRATION: tuple[str, ...] = (
    f"ALTER TABLE questions ADD COLUMN outcome TEXT CHECK (outcome IS NULL OR {_OUTCOME_CHECK})",
    "UPDATE questions SET outcome = CASE answered WHEN 1 THEN 'answer' ELSE 'decline' END",
    """CREATE TRIGGER questions_default_outcome AFTER INSERT ON questions
       FOR EACH ROW WHEN NEW.outcome IS NULL
       BEGIN
           UPDATE questions SET outcome = CASE NEW.answered WHEN 1 THEN 'answer' ELSE 'decline' END
           WHERE id = NEW.id;
       END""",
    "CREATE INDEX questions_by_outcome ON questions (outcome, asked_at)",
    """CREATE TABLE chat_topics (
        chat_id  INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL,
        language TEXT NOT NULL,
        question TEXT NOT NULL,
        at       TEXT NOT NULL
    )""",
)

TOPIC_QUESTION_CHARS = 500
"""The previous question is kept only this long (a follow-up needs its question words, not an essay)."""


@dataclass(frozen=True)
class OutcomeRecord:
    """A stored question with what the engine did with it."""

    id: int
    user_id: int
    chat_id: int
    text: str
    language: str
    outcome: str
    score: float
    sources: tuple[str, ...]
    asked_at: datetime


class _Questions(Connection, Protocol):
    """The database with its question log (:meth:`bot.storage.database.Database.record_question`)."""

    async def question_from(self, origin: str) -> int | None: ...


class ConversationStore:
    """Question outcomes and each chat's last topic (questions are stored by
    :meth:`bot.storage.database.Database.record_question`)."""

    def __init__(self, db: _Questions) -> None:
        self._db = db

    async def question_from(self, origin: str) -> int | None:
        """The id of the question stored from ``origin``, if any."""
        return await self._db.question_from(origin)

    async def outcome(self, question_id: int) -> str | None:
        rows = await self._db.rows("SELECT outcome FROM questions WHERE id = ?", (question_id,))
        return rows[0][0] if rows else None

    async def questions_with_outcome(
        self, outcomes: Sequence[str] = ("decline", "clarify"), limit: int = 50
    ) -> list[OutcomeRecord]:
        """The latest ``limit`` questions with one of ``outcomes``, newest first (what attendees could
        not find: declined and clarified questions by default)."""
        unknown = set(outcomes) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"unknown outcomes {sorted(unknown)}")
        marks = ", ".join("?" for _ in outcomes)
        rows = await self._db.rows(
            f"""SELECT id, user_id, chat_id, text, language, outcome, score, sources, asked_at
                FROM questions WHERE outcome IN ({marks}) ORDER BY id DESC LIMIT ?""",
            (*outcomes, limit),
        )
        return [
            OutcomeRecord(
                id=row[0],
                user_id=row[1],
                chat_id=row[2],
                text=row[3],
                language=row[4],
                outcome=row[5],
                score=row[6],
                sources=tuple(json.loads(row[7])),
                asked_at=datetime.fromisoformat(row[8]),
            )
            for row in rows
        ]

    async def outcome_counts(self) -> dict[str, int]:
        """How many stored questions had each outcome."""
        rows = await self._db.rows("SELECT outcome, count(*) FROM questions GROUP BY outcome")
        return {outcome: count for outcome, count in rows if outcome is not None}

    async def topic(self, chat_id: int) -> Topic | None:
        """The chat's last topic, however old (the caller decides whether it is still fresh)."""
        rows = await self._db.rows(
            "SELECT entry_id, language, question, at FROM chat_topics WHERE chat_id = ?", (chat_id,)
        )
        if not rows:
            return None
        from index.followup import Topic

        entry_id, language, question, at = rows[0]
        if language not in LANGS:
            return None
        return Topic(entry_id, language, question, datetime.fromisoformat(at))

    async def set_topic(self, chat_id: int, topic: Topic) -> None:
        await self._db.rows(
            """INSERT INTO chat_topics (chat_id, entry_id, language, question, at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE SET entry_id = excluded.entry_id,
                   language = excluded.language, question = excluded.question, at = excluded.at""",
            (
                chat_id,
                topic.entry_id,
                topic.language,
                topic.question[:TOPIC_QUESTION_CHARS],
                time_text(topic.at),
            ),
        )

    async def forget_topic(self, chat_id: int) -> None:
        await self._db.rows("DELETE FROM chat_topics WHERE chat_id = ?", (chat_id,))
