"""The context every handler and job of the bot gets (PTB's ``ContextTypes``): the services, the sender
and the user's language, without helper calls at the top of each handler.

:mod:`bot.telegram.gate` (handler group -2, before every other handler) records the user once per update
and keeps their language in ``user_data``; :attr:`BotContext.user_lang` reads it.
"""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.delivery.sender import Sender
from bot.services import Services
from index.types import Lang

SERVICES_KEY = "services"
"""``bot_data`` key of the running bot's :class:`Services`."""
LANGUAGE_KEY = "language"
"""``user_data`` key of the user's language, set once per update by :mod:`bot.telegram.gate`."""


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """PTB's callback context with the bot's services, its one sender and the user's language."""

    def __init__(
        self, application: Application, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        """The services of the running bot, built by :mod:`bot.app_context`."""
        return self.application.bot_data[SERVICES_KEY]

    @property
    def sender(self) -> Sender:
        """The one sender of everything the bot sends or edits."""
        return self.services.sender

    @property
    def user_lang(self) -> Lang:
        """The language to talk to the user in, as the gate found it for this update ("en" without a
        user)."""
        data = self.user_data
        lang = data.get(LANGUAGE_KEY) if data is not None else None
        return lang or "en"


CONTEXT_TYPES = ContextTypes(context=BotContext)
