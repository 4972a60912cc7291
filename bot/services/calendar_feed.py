"""Personal calendar feeds: an unguessable, revocable link per attendee to their bookmarked sessions.

A calendar app subscribes to ``<PUBLIC_URL>/calendar/<token>.ics`` and fetches it again from time to
time, so a moved session shows its new time there too. The token is 32 random bytes (URL-safe base64);
a wrong or revoked one is refused. The feed is the same iCalendar file as the one sent in the chat
(:func:`bot.services.agenda.calendar_file`), in the attendee's language.
"""

from __future__ import annotations

import re
import secrets

from bot.services.agenda import AgendaService, CalendarFile
from bot.storage.database import Database
from index.types import LANGS, Lang

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""What a token looks like (``secrets.token_urlsafe(32)``); anything else is refused unread."""


class CalendarFeeds:
    def __init__(self, db: Database, agenda: AgendaService) -> None:
        self.store = db.calendar_feeds
        self._users = db.users
        self._agenda = agenda

    async def token(self, user_id: int) -> str:
        """The user's feed token, made on first use."""
        found = await self.store.token(user_id)
        if found is not None:
            return found
        token = secrets.token_urlsafe(32)
        await self.store.set_token(user_id, token)
        return token

    async def renew(self, user_id: int) -> str:
        """A new token for the user; the old link stops working."""
        token = secrets.token_urlsafe(32)
        await self.store.set_token(user_id, token)
        return token

    async def revoke(self, user_id: int) -> bool:
        """The user's link stops working; False when they had none."""
        return await self.store.revoke(user_id)

    async def feed(self, token: str) -> CalendarFile | None:
        """The calendar of the token's owner, or None for a malformed, unknown or revoked token."""
        if not TOKEN.match(token):
            return None
        user_id = await self.store.owner(token)
        if user_id is None:
            return None
        user = await self._users.get_user(user_id)
        lang: Lang = user.language if user is not None and user.language in LANGS else "en"  # type: ignore[assignment]
        return await self._agenda.calendar(user_id, lang)


def feed_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/calendar/{token}.ics"
