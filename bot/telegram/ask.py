"""Free-text questions (and edits of them), and the topic buttons offered with a decline.

An edited question is answered again when the edit comes within :data:`EDIT_WINDOW` of the original
message; later edits are ignored (they are usually corrections of old messages, not new questions).
"""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackContext, CallbackQueryHandler, MessageHandler, filters

from bot.services import Services
from bot.services.answering import Reply
from bot.telegram.common import (
    addressed_text,
    callback,
    is_group,
    keyboard,
    language,
    reply_html,
    send_html,
    services,
)
from bot.telegram.formatting import escape
from bot.telegram.venues import send_venue
from index.types import LANGS, Lang

EDIT_WINDOW = dt.timedelta(minutes=10)


def feedback_row(question_id: int) -> list[tuple[str, str | None]]:
    return [("👍", callback("fb", f"{question_id}:1")), ("👎", callback("fb", f"{question_id}:0"))]


def render(reply: Reply, svc: Services) -> tuple[str, InlineKeyboardMarkup | None]:
    """The HTML text and buttons for an answer: topic buttons on a decline, then 👍/👎."""
    answer = reply.answer
    text = escape(answer.text)
    rows: list[list[tuple[str, str | None]]] = []
    if answer.suggestions:
        text += "\n\n" + svc.texts(answer.language, "suggestions")
        rows = [[(s.title, callback("e", f"{answer.language}:{s.entry_id}"))] for s in answer.suggestions]
    return text, keyboard([*rows, feedback_row(reply.question_id)])


def _stale_edit(update: Update) -> bool:
    message = update.edited_message
    if message is None or message.edit_date is None:
        return False
    return message.edit_date - message.date > EDIT_WINDOW


async def ask(update: Update, context: CallbackContext) -> None:
    """Answer a question in the language it is written in; in groups only when addressed to the bot."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or _stale_edit(update):
        return
    question = addressed_text(message, context.bot) if is_group(message.chat) else message.text
    if question is None:
        return
    lang = await language(update, context)
    svc = services(context)
    reply = await svc.answering.answer(user.id, message.chat_id, question, lang)
    text, markup = render(reply, svc)
    await reply_html(message, text, markup, ref=f"q:{reply.question_id}")


async def show_entry(update: Update, context: CallbackContext) -> None:
    """A topic button: send that entry's text (and its map pin for a venue with a known position)."""
    query = update.callback_query
    lang_code, _, entry_id = (query.data or "").removeprefix("e:").partition(":")
    lang: Lang = lang_code if lang_code in LANGS else await language(update, context)  # type: ignore[assignment]
    svc = services(context)
    text = svc.catalogue.entry(entry_id, lang)
    await query.answer(None if text else svc.texts(lang, "entry_unknown"))
    if text is None or query.message is None:
        return
    chat_id = query.message.chat.id
    await send_html(context.bot, chat_id, escape(text))
    venue = svc.catalogue.venue(entry_id, lang)
    if venue is not None:
        await send_venue(context.bot, chat_id, venue)


def handlers() -> list[BaseHandler]:
    text = filters.TEXT & ~filters.COMMAND
    return [
        MessageHandler(text & filters.UpdateType.MESSAGES, ask),
        CallbackQueryHandler(show_entry, pattern=r"^e:"),
    ]
