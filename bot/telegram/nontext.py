"""Stickers, photos, voice and other non-text messages: a short hint to type the question instead.

In groups the hint is only given to messages that reply to the bot.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.telegram.common import is_group, replies_to_bot, reply_html
from bot.telegram.context import BotContext

NON_TEXT = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.Document.ALL
    | filters.ANIMATION
    | filters.LOCATION
    | filters.CONTACT
)


async def hint(update: Update, context: BotContext) -> None:
    """Tell the user the bot reads text only."""
    message = update.effective_message
    if is_group(message.chat) and not replies_to_bot(message, context.bot):
        return
    lang = context.user_lang
    await reply_html(context.sender, message, context.services.texts(lang, "non_text"))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE & NON_TEXT
    group_reply = filters.ChatType.GROUPS & NON_TEXT & filters.REPLY
    return [MessageHandler(filters.UpdateType.MESSAGE & (private | group_reply), hint)]
