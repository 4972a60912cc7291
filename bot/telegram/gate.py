"""What happens to every update before any handler (handler group -1).

The sender is recorded once per update (created on first contact, ``last_seen`` updated, no longer
marked as blocking the bot) and their language is kept on the context for every handler of the update
(:func:`bot.telegram.common.language` reads it). Then the per-user question rate is applied: a
question over the rate gets one "slow down" (the first time) and no other handler sees it.

Messages in a group that are not for the bot (no command, no mention, no reply to the bot) are left
alone: their senders are not recorded and nothing is counted. A ``my_chat_member`` update (the user
blocked or unblocked the bot) is not contact either: its handler records what it says.

Only questions count toward the rate: text and media messages, and edits of them. Commands and buttons
are cheap (no engine time) and are not counted; staff are counted like everyone else.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackContext, TypeHandler

from bot.services.ratelimit import Verdict
from bot.telegram.common import (
    addressed_text,
    is_command,
    is_group,
    is_stale_edit,
    remember_language,
    reply_html,
    services,
)

log = logging.getLogger(__name__)

GROUP = -2
"""The handler group the gate runs in: before every other handler (the organisers' follow-up messages
are read in group -1, after the user is seen)."""


def _for_bot(message: Message, context: CallbackContext) -> bool:
    if not is_group(message.chat) or is_command(message):
        return True
    return addressed_text(message, context.bot) is not None


async def before_handlers(update: Update, context: CallbackContext) -> None:
    """Record the sender and their language; stop a question over the sender's rate."""
    user = update.effective_user
    if user is None or user.is_bot or update.my_chat_member is not None:
        return
    message = None if update.callback_query is not None else update.effective_message
    if message is not None and not _for_bot(message, context):
        return
    svc = services(context)
    lang = await svc.users.seen(user.id, user.language_code)
    remember_language(context, lang)
    if message is None or is_command(message) or is_stale_edit(update):
        return
    verdict = svc.question_rate.check(user.id, (message.chat_id, message.message_id))
    if verdict is Verdict.ANSWER:
        return
    if verdict is Verdict.SLOW_DOWN:
        log.info("user %s is over the question rate; further questions wait for the window", user.id)
        try:
            seconds = round(svc.question_rate.window.total_seconds())
            await reply_html(message, svc.texts(lang, "slow_down", seconds=seconds))
        except TelegramError as exc:
            log.info("user %s: the slow-down notice was not delivered: %s", user.id, exc)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:
    """Register with ``application.add_handlers(gate.handlers(), group=gate.GROUP)``."""
    return [TypeHandler(Update, before_handlers)]
