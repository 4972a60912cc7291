"""👍/👎 buttons under answers (:class:`bot.telegram.callbacks.Feedback`).

Only the person who asked may rate an answer. Anyone else, a question that no longer exists and data
that does not parse all get the same neutral reply, so a press tells nothing about other people's
questions.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.telegram.callbacks import Feedback
from bot.telegram.common import answer_button
from bot.telegram.context import BotContext


async def rate(update: Update, context: BotContext) -> None:
    """Store the rating and thank the user with a short notice (answerCallbackQuery)."""
    query = update.callback_query
    lang = context.user_lang
    svc = context.services
    pressed = Feedback.parse(query.data)
    stored = pressed is not None and await svc.feedback.rate(
        pressed.question_id, query.from_user.id, pressed.helpful
    )
    await answer_button(query, svc.texts(lang, "feedback_thanks" if stored else "feedback_unknown"))


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(rate, pattern=Feedback.pattern())]
