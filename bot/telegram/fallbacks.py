"""What no other handler took: unknown /commands get a hint, unknown buttons are still acknowledged.

Register these last (after every other module) so that every real command and button wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.telegram.common import answer_button, is_group, reply_html
from bot.telegram.context import BotContext


def _for_this_bot(command: str, context: BotContext) -> bool:
    """In a group, ``/foo`` may be meant for another bot: only ``/foo@thisbot`` is ours."""
    _, _, target = command.partition("@")
    return target.lower() == (context.bot.username or "").lower()


def unknown_command_handler(commands: Sequence[str]) -> BaseHandler:
    listed = " ".join(f"/{name}" for name in commands)

    async def unknown_command(update: Update, context: BotContext) -> None:
        """A /command no handler knows: list the real ones."""
        message = update.effective_message
        command = (message.text or "").split(maxsplit=1)[0]
        if is_group(message.chat) and not _for_this_bot(command, context):
            return
        lang = context.user_lang
        await reply_html(
            context.sender, message, context.services.texts(lang, "unknown_command", commands=listed)
        )

    return MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command)


async def unknown_button(update: Update, context: BotContext) -> None:
    """Callback data no handler matches (an old or forged button): answer it so the spinner stops."""
    lang = context.user_lang
    await answer_button(update.callback_query, context.services.texts(lang, "button_unknown"))


def handlers(commands: Sequence[str]) -> list[BaseHandler]:
    """The hint for unknown commands (listing ``commands``) and the catch-all for buttons."""
    return [unknown_command_handler(commands), CallbackQueryHandler(unknown_button)]
