"""/stats: usage totals for the people listed in ADMIN_IDS or ORGANISER_IDS, in a private chat only.

In a group the command only gets a short note to ask in a private chat, whoever sends it: figures for
the organisers are never posted to a group.
"""

from __future__ import annotations

from telegram import Chat, Update
from telegram.ext import BaseHandler, CallbackContext, CommandHandler

from bot.telegram.common import language, reply_html, services


async def stats(update: Update, context: CallbackContext) -> None:
    """Users, questions answered and feedback so far; refused to anyone who is not staff."""
    lang = await language(update, context)
    svc = services(context)
    user = update.effective_user
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE:
        await reply_html(update.effective_message, svc.texts(lang, "private_only"))
        return
    if user is None or user.id not in svc.settings.staff_ids:
        await reply_html(update.effective_message, svc.texts(lang, "stats_denied"))
        return
    usage = await svc.users.usage()
    text = svc.texts(
        lang,
        "stats",
        users=usage.users,
        blocked=usage.blocked_users,
        questions=usage.questions,
        answered=usage.answered,
        up=usage.helpful,
        down=usage.unhelpful,
    )
    await reply_html(update.effective_message, text)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("stats", stats)]
