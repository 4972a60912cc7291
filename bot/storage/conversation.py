"""The conversation feature: its schema step (see :data:`bot.storage.database.MIGRATIONS`) and each
chat's last topic.

* ``questions.outcome``: what the engine did with each question (``answer``, ``clarify``, ``decline``,
  ``gap``, ``smalltalk``), so the organisers can list what attendees could not find. Rows stored before
  this step get ``answer`` or ``decline`` from ``answered`` (a column dropped since, in step 11, with the
  trigger this step made for inserts without an outcome).
* ``chat_topics``: per chat, the knowledge entry its last answer came from, the question, its language
  and when it was asked, so a follow-up ("and from Shanghai?") still finds it after a restart.

The topics' queries live here, in :class:`ConversationRepository`; the outcomes' in
:class:`bot.storage.questions.QuestionRepository`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.questions import OUTCOMES
from bot.storage.sql import time_text
from index.types import LANGS

if TYPE_CHECKING:  # the engine's modules load late
    from bot.storage.sql import Connection
    from index.followup import Topic

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


class ConversationRepository:
    """Each chat's last topic, for follow-up questions (the questions themselves, with their outcomes,
    are in :mod:`bot.storage.questions`)."""

    def __init__(self, db: Connection) -> None:
        self._db = db

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
