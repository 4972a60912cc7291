"""The one error handler: log with context (never the token) and tell the user something went wrong.

Replies go through the one sender, which handles rate limits and refusals itself; errors that still
reach this handler come from direct calls (callback answers, edits). A Forbidden error in a private
chat means the user blocked the bot: they are marked blocked and nothing more is sent.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.telegram.common import answer_button, send_html
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the error with the update and user ids, then apologise to the user in their language."""
    error = context.error
    update = update if isinstance(update, Update) else None
    update_id = update.update_id if update else None
    user = update.effective_user if update else None
    chat = update.effective_chat if update else None
    user_id = user.id if user else None
    if isinstance(error, Forbidden):
        log.info("update %s: user %s blocked the bot (%s)", update_id, user_id, error.message)
        if user is not None and chat is not None and chat.type == Chat.PRIVATE:
            await context.services.users.mark_blocked(user.id)
        return
    if isinstance(error, RetryAfter):
        log.warning("update %s, user %s: still rate limited after a retry (%s)", update_id, user_id, error)
    elif isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        log.warning("update %s, user %s: network problem: %s", update_id, user_id, error)
    else:
        log.error("update %s, user %s: %s", update_id, user_id, type(error).__name__, exc_info=error)
    if update is not None and update.callback_query is not None:
        try:  # every button press is acknowledged, even when its handler failed
            await answer_button(update.callback_query)
        except TelegramError as exc:
            log.debug("update %s: the button press could not be acknowledged: %s", update_id, exc)
    if chat is None:
        return
    lang = await context.services.users.language(user_id, user.language_code) if user else "en"
    try:
        await send_html(context.sender, chat.id, context.services.texts(lang, "error"))
    except TelegramError as exc:
        log.warning("update %s: could not tell the user about the error: %s", update_id, exc)
