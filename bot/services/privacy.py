"""What the bot keeps about people, and for how long.

Questions are deleted ``retention`` after they were asked (a daily purge, and ``summit-bot purge``).
Messages without content (empty, only emoji or punctuation, only @mentions) are not questions: they
are never stored, the user gets a short hint instead.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.storage.database import Database
from bot.storage.privacy import Purge

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)
_MENTION = re.compile(r"(?<!\w)@\w{1,64}")


def has_content(text: str | None) -> bool:
    """Whether ``text`` holds anything to answer: a letter or a digit outside @mentions.

    Emoji, punctuation, symbols, spaces and invisible format characters (zero-width spaces, bidi
    controls) are not content.
    """
    if not text:
        return False
    remaining = _MENTION.sub(" ", text)
    return any(unicodedata.category(char)[0] in "LN" for char in remaining)


class PrivacyService:
    """Applies the question retention time."""

    def __init__(
        self,
        db: Database,
        retention: timedelta = timedelta(days=90),
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = db.privacy
        self.retention = retention
        self._now = now

    async def purge(self, retention: timedelta | None = None) -> Purge:
        """Delete the questions older than ``retention`` (the configured time by default) now."""
        now = self._now()
        done = await self._repo.purge(now - (retention or self.retention), now)
        log.info("privacy purge: %d question(s) asked before %s deleted", done.questions, done.cutoff)
        return done

    async def purge_if_due(self) -> Purge | None:
        """Purge when the last purge (by any process) is a day old or there was none; else None."""
        last = await self._repo.last_purge()
        if last is not None and self._now() - last.purged_at < PURGE_EVERY:
            return None
        return await self.purge()

    async def last_purge(self) -> Purge | None:
        return await self._repo.last_purge()
