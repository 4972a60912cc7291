"""Free-text questions (and edits of them), and the topic buttons offered with a decline or a
clarification ("Did you mean …?"); pressing one answers with that topic at once.

Small-talk replies and clarifications carry no 👍/👎: there is no answer to rate.

An edited question is answered again when the edit comes within ``EDIT_WINDOW`` (in
:mod:`bot.telegram.common`) of the original message; later edits are ignored (they are usually
corrections of old messages, not new questions).
A message without content (empty, only emoji or punctuation, only @mentions) gets a short hint and is
not stored.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.delivery.inbox import HANDLING
from bot.services import Services
from bot.services.answering import Reply
from bot.services.privacy import has_content
from bot.telegram.agenda import star_answer, star_markup
from bot.telegram.callbacks import Entry, Feedback, fits
from bot.telegram.common import (
    addressed_text,
    answer_button,
    is_group,
    is_stale_edit,
    keyboard,
    reply_html,
    send_html,
)
from bot.telegram.context import BotContext
from bot.telegram.formatting import escape
from bot.telegram.venues import send_venue
from index.engine import SUGGESTIONS, Suggestion
from index.types import LANGS, Lang


def _data(item: Entry | Feedback) -> str | None:
    """The button's data, or None (no button) when it cannot be written, e.g. an id too long."""
    return item.encode() if fits(item) else None


CLARIFY_TOPICS = SUGGESTIONS
"""At most this many topic buttons go with "Did you mean …?" (as many as the engine offers)."""


def feedback_row(question_id: int) -> list[tuple[str, str | None]]:
    return [("👍", _data(Feedback(question_id, True))), ("👎", _data(Feedback(question_id, False)))]


def topic_rows(suggestions: list[Suggestion], lang: Lang) -> list[list[tuple[str, str | None]]]:
    """One button per suggested topic; pressing it shows that entry in ``lang``."""
    buttons = ((s.title, Entry(lang, s.entry_id)) for s in suggestions)
    return [[(title, data.encode() if fits(data) else None)] for title, data in buttons]


def render(reply: Reply, svc: Services) -> tuple[str, InlineKeyboardMarkup | None]:
    """The HTML text and buttons for an answer.

    Small talk: the reply alone. A clarification: the engine's "Did you mean …?" (its wording is the
    engine's, the same as on the command line) with a button per suggested topic. Otherwise the answer
    (or decline, with topic buttons when it has suggestions) and 👍/👎.
    """
    answer = reply.answer
    lang = answer.language
    if answer.outcome == "smalltalk":
        return escape(answer.text), None
    if answer.outcome == "clarify" and answer.suggestions:
        return escape(answer.text), keyboard(topic_rows(answer.suggestions[:CLARIFY_TOPICS], lang))
    text = escape(answer.text)
    rows: list[list[tuple[str, str | None]]] = []
    if answer.suggestions:
        text += "\n\n" + svc.texts(lang, "suggestions")
        rows = topic_rows(answer.suggestions, lang)
    return text, keyboard([*rows, feedback_row(reply.question_id)])


async def ask(update: Update, context: BotContext) -> None:
    """Answer a question in the language it is written in; in groups only when addressed to the bot."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or is_stale_edit(update):
        return
    question = addressed_text(message, context.bot) if is_group(message.chat) else message.text
    if question is None:
        return
    lang = context.user_lang
    svc = context.services
    if not has_content(question):
        await reply_html(context.sender, message, svc.texts(lang, "empty_question"))
        return
    handling = HANDLING.get()  # the stored update being handled: a question is counted once per update
    origin = f"update:{handling.update_id}" if handling is not None else None
    reply = await svc.answering.answer(user.id, message.chat_id, question, lang, origin=origin)
    text, markup = render(reply, svc)
    markup = await star_answer(svc, user.id, reply.answer, markup)
    await reply_html(context.sender, message, text, markup, ref=f"q:{reply.question_id}")


async def show_entry(update: Update, context: BotContext) -> None:
    """A topic button: send that entry's text at once (and its map pin for a venue with a known
    position); the entry becomes the chat's topic for follow-up questions."""
    query = update.callback_query
    data = Entry.parse(query.data)
    entry_id = data.entry_id if data is not None else ""
    if data is not None and data.lang in LANGS:
        lang: Lang = data.lang  # type: ignore[assignment]
    else:
        lang = context.user_lang
    svc = context.services
    text = svc.catalogue.entry(entry_id, lang) if entry_id else None
    await answer_button(query, None if text else svc.texts(lang, "entry_unknown"))
    if text is None or query.message is None:
        return
    chat_id = query.message.chat.id
    await svc.answering.choose(chat_id, entry_id, lang)
    await send_html(
        context.sender, chat_id, escape(text), await star_markup(svc, query.from_user.id, entry_id, lang)
    )
    venue = svc.catalogue.venue(entry_id, lang)
    if venue is not None:
        await send_venue(context.sender, chat_id, venue)


def handlers() -> list[BaseHandler]:
    text = filters.TEXT & ~filters.COMMAND
    return [
        MessageHandler(text & filters.UpdateType.MESSAGES, ask),
        CallbackQueryHandler(show_entry, pattern=Entry.pattern()),
    ]
