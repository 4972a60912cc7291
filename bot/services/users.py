"""Who is talking to the bot: first and last seen, chosen language, whether they blocked the bot."""

from __future__ import annotations

from bot.storage.database import Database
from bot.storage.questions import Usage
from bot.storage.users import UserRecord
from index.types import LANGS, Lang


def language_from_code(code: str | None) -> Lang:
    """The interface language for a Telegram ``language_code`` ("zh-hans" → zh); English otherwise."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGS else "en"  # type: ignore[return-value]


def _language(user: UserRecord) -> Lang:
    return user.language if user.language in LANGS else "en"  # type: ignore[return-value]


class UserService:
    """Keeps the user table current and remembers each user's language in memory."""

    def __init__(self, db: Database) -> None:
        self._users = db.users
        self._questions = db.questions
        self._languages: dict[int, Lang] = {}

    async def seen(self, user_id: int, language_code: str | None) -> Lang:
        """Record that the user wrote to the bot (so they no longer block it); return their language.

        Until a user chooses a language, it follows their Telegram setting (English when that is
        neither Thai nor Chinese).
        """
        reported = language_from_code(language_code) if language_code else None
        lang = _language(await self._users.touch_user(user_id, reported))
        self._languages[user_id] = lang
        return lang

    async def language(self, user_id: int, language_code: str | None = None) -> Lang:
        """The user's language: remembered, stored, or else from their Telegram settings."""
        if user_id not in self._languages:
            user = await self._users.get_user(user_id)
            if user is None or user.language is None:
                return language_from_code(language_code)
            self._languages[user_id] = _language(user)
        return self._languages[user_id]

    async def set_language(self, user_id: int, lang: Lang) -> None:
        await self._users.set_language(user_id, lang)
        self._languages[user_id] = lang

    async def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        """Opt in to (or out of) organisers' announcements; everyone who starts the bot is in."""
        await self._users.set_subscribed(user_id, subscribed)

    async def mark_blocked(self, user_id: int, blocked: bool = True) -> None:
        """The user blocked (or unblocked) the bot: sending to them fails until they write again."""
        await self._users.set_blocked(user_id, blocked)

    async def usage(self) -> Usage:
        """Totals for the organisers."""
        return await self._questions.usage()
