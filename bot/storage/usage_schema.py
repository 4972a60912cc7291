"""Schema step for counting each question once (see :data:`bot.storage.database.MIGRATIONS`).

``questions.origin`` names the Telegram update a question came from (``update:<update id>``). An update
handled again after a crash (see :mod:`bot.delivery.inbox`) finds its question already stored and
reuses that row, so the usage figures count it once. Questions stored without an origin (older rows,
the terminal chat) are never merged.
"""

from __future__ import annotations

MIGRATION: tuple[str, ...] = (
    "ALTER TABLE questions ADD COLUMN origin TEXT",
    "CREATE UNIQUE INDEX questions_by_origin ON questions (origin) WHERE origin IS NOT NULL",
)
