"""Free-text questions (and edits of them), and the topic buttons offered with a decline.

An edited question is answered again when the edit comes within ``EDIT_WINDOW`` (in
:mod:`bot.telegram.common`) of the original message; later edits are ignored (they are usually
corrections of old messages, not new questions).
A message without content (empty, only emoji or punctuation, only @mentions) gets a short hint and is
not stored.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackContext, CallbackQueryHandler, MessageHandler, filters

from bot.services import Services
from bot.services.answering import Reply
from bot.services.privacy import has_content
from bot.telegram.callbacks import Entry, Feedback, fits
from bot.telegram.common import (
    addressed_text,
    is_group,
    is_stale_edit,
    keyboard,
    language,
    reply_html,
    send_html,
    services,
)
from bot.telegram.formatting import escape
from bot.telegram.venues import send_venue
from index.types import LANGS, Lang


def _data(item: Entry | Feedback) -> str | None:
    """The button's data, or None (no button) when it cannot be written, e.g. an id too long."""
    return item.encode() if fits(item) else None


def feedback_row(question_id: int) -> list[tuple[str, str | None]]:
    return [("👍", _data(Feedback(question_id, True))), ("👎", _data(Feedback(question_id, False)))]


def render(reply: Reply, svc: Services) -> tuple[str, InlineKeyboardMarkup | None]:
    """The HTML text and buttons for an answer: topic buttons on a decline, then 👍/👎."""
    answer = reply.answer
    text = escape(answer.text)
    rows: list[list[tuple[str, str | None]]] = []
    if answer.suggestions:
        text += "\n\n" + svc.texts(answer.language, "suggestions")
        rows = [[(s.title, _data(Entry(answer.language, s.entry_id)))] for s in answer.suggestions]
    return text, keyboard([*rows, feedback_row(reply.question_id)])


async def ask(update: Update, context: CallbackContext) -> None:
    """Answer a question in the language it is written in; in groups only when addressed to the bot."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or is_stale_edit(update):
        return
    question = addressed_text(message, context.bot) if is_group(message.chat) else message.text
    if question is None:
        return
    lang = await language(update, context)
    svc = services(context)
    if not has_content(question):
        await reply_html(message, svc.texts(lang, "empty_question"))
        return
    reply = await svc.answering.answer(user.id, message.chat_id, question, lang)
    text, markup = render(reply, svc)
    await reply_html(message, text, markup)


async def show_entry(update: Update, context: CallbackContext) -> None:
    """A topic button: send that entry's text (and its map pin for a venue with a known position)."""
    query = update.callback_query
    pressed = Entry.parse(query.data)
    entry_id = pressed.entry_id if pressed is not None else ""
    if pressed is not None and pressed.lang in LANGS:
        lang: Lang = pressed.lang  # type: ignore[assignment]
    else:
        lang = await language(update, context)
    svc = services(context)
    text = svc.catalogue.entry(entry_id, lang) if entry_id else None
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
        CallbackQueryHandler(show_entry, pattern=Entry.pattern()),
    ]
