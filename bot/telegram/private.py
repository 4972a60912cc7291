"""Staff commands and buttons work only in a private chat with the bot: the one filter for all of them.

Registered in :data:`GROUP` (after the gate, before everything else), so no staff handler ever sees an
update from a group or a channel:

- a staff command (:data:`STAFF_COMMANDS`) in a group gets one short reply, "use this in a private chat",
  with no content, whoever sent it; the update stops there (no preview, listing or figures is posted);
- a press on a staff button (announcements, knowledge changes) under a message in a group is answered
  with the same note as a small pop-up and goes no further.

Who may use the staff handlers is decided by :class:`Staff`, the filters built once from ADMIN_IDS and
ORGANISER_IDS and applied where those handlers are registered.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
)
from telegram.ext import filters as tg_filters

from bot.config import Settings
from bot.telegram import knowledge, stats
from bot.telegram.callbacks import AnnounceAction, KnowledgeApply, KnowledgeCancel, KnowledgeRollback
from bot.telegram.common import answer_button, reply_html
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staff:
    """The filters for staff handlers, built once for the application (:meth:`of`) and handed to each
    staff module's ``handlers``: organisers and admins, or admins alone, in a private chat."""

    members: tg_filters.BaseFilter
    """ORGANISER_IDS and ADMIN_IDS: announcements and figures."""
    admins: tg_filters.BaseFilter
    """ADMIN_IDS: changing the knowledge and the programme."""

    @classmethod
    def of(cls, settings: Settings) -> Staff:
        private = tg_filters.ChatType.PRIVATE
        return cls(
            members=tg_filters.User(user_id=settings.staff_ids) & private,
            admins=tg_filters.User(user_id=settings.admin_ids) & private,
        )


GROUP = -1
"""Handler group: after the gate (-2); registered before the announcement follow-ups of the same group."""
ANNOUNCE_COMMANDS = ("announce", "announcements")
STAFF_COMMANDS: tuple[str, ...] = (*stats.COMMANDS, *knowledge.COMMANDS, *ANNOUNCE_COMMANDS)
"""Every command for organisers and admins."""
STAFF_BUTTONS = (AnnounceAction, KnowledgeApply, KnowledgeCancel, KnowledgeRollback)
"""Every kind of button only staff press."""


async def command_in_group(update: Update, context: BotContext) -> None:
    """A staff command outside a private chat: one short note, nothing else."""
    message = update.effective_message
    user = update.effective_user
    log.info(
        "staff command %s from user %s in chat %s answered with 'private chat only'",
        (message.text or "").split(maxsplit=1)[0][:40] if message else "?",
        user.id if user else None,
        message.chat_id if message else None,
    )
    lang = context.user_lang
    await reply_html(context.sender, message, context.services.texts(lang, "private_only"))
    raise ApplicationHandlerStop


async def button_in_group(update: Update, context: BotContext) -> None:
    """A staff button pressed under a message outside a private chat: a pop-up note, nothing else."""
    query = update.callback_query
    message = query.message
    if message is None or message.chat.type == message.chat.PRIVATE:
        return  # the staff handlers of group 0 take it
    lang = context.user_lang
    await answer_button(query, context.services.texts(lang, "private_only"), show_alert=True)
    raise ApplicationHandlerStop


def _staff_button_pattern() -> str:
    return "|".join(f"(?:{kind.pattern()})" for kind in STAFF_BUTTONS)


def handlers() -> list[BaseHandler]:
    """Register with ``application.add_handlers(private.handlers(), group=private.GROUP)`` before any
    other handler of that group."""
    return [
        CommandHandler(list(STAFF_COMMANDS), command_in_group, filters=~tg_filters.ChatType.PRIVATE),
        CallbackQueryHandler(button_in_group, pattern=re.compile(_staff_button_pattern())),
    ]
