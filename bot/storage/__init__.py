"""Persistent bot state in SQLite: :class:`Database` (the connection, migrations, the health probe) and
one repository per feature on it (users, questions, feedback, conversation, agenda, announcements,
calendar feeds, the outbox and inbox, knowledge, insights, privacy)."""

from bot.storage.database import CURRENT_VERSION, Database, SchemaVersionError
from bot.storage.questions import MAX_QUESTION_CHARS, QuestionRecord, Usage
from bot.storage.users import UserRecord

__all__ = [
    "CURRENT_VERSION",
    "MAX_QUESTION_CHARS",
    "Database",
    "QuestionRecord",
    "SchemaVersionError",
    "Usage",
    "UserRecord",
]
