"""/whoami: the user's numeric Telegram id, which ADMIN_IDS and ORGANISER_IDS are made of.

Anyone may ask, in a private chat (in a group the bot only says to ask in private, so nobody's id is
posted to a group). Staff also read which role the running bot gives them, a quick check of the
settings after a restart.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.telegram.common import reply_html
from bot.telegram.context import BotContext


async def whoami(update: Update, context: BotContext) -> None:
    """Reply with the user's id and, for staff, their role."""
    lang = context.user_lang
    svc = context.services
    user = update.effective_user
    if user is None:  # a channel post has no user: nothing to tell
        return
    lines = [svc.texts(lang, "whoami.id", id=user.id)]
    if user.id in svc.settings.admin_ids:
        lines.append(svc.texts(lang, "whoami.admin"))
    elif user.id in svc.settings.organiser_ids:
        lines.append(svc.texts(lang, "whoami.organiser"))
    else:
        lines.append(svc.texts(lang, "whoami.attendee"))
    await reply_html(context.sender, update.effective_message, "\n".join(lines))


async def private_only(update: Update, context: BotContext) -> None:
    lang = context.user_lang
    await reply_html(context.sender, update.effective_message, context.services.texts(lang, "private_only"))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("whoami", whoami, filters=filters.ChatType.PRIVATE),
        CommandHandler("whoami", private_only, filters=~filters.ChatType.PRIVATE),
    ]
