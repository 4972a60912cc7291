"""Persistent bot state in SQLite: users, the questions they asked and their feedback on answers."""

from bot.storage.database import (
    CURRENT_VERSION,
    MAX_QUESTION_CHARS,
    Database,
    QuestionRecord,
    SchemaVersionError,
    Usage,
    UserRecord,
)

__all__ = [
    "CURRENT_VERSION",
    "MAX_QUESTION_CHARS",
    "Database",
    "QuestionRecord",
    "SchemaVersionError",
    "Usage",
    "UserRecord",
]
