"""👍/👎 buttons under answers: callback data ``fb:<question id>:<1 or 0>``."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackContext, CallbackQueryHandler

from bot.telegram.common import language, services


async def rate(update: Update, context: CallbackContext) -> None:
    """Store the rating and thank the user with a short notice (answerCallbackQuery)."""
    query = update.callback_query
    lang = await language(update, context)
    svc = services(context)
    question_id, _, value = (query.data or "").removeprefix("fb:").partition(":")
    helpful = value == "1"
    stored = question_id.isdigit() and await svc.feedback.rate(int(question_id), query.from_user.id, helpful)
    await query.answer(svc.texts(lang, "feedback_thanks" if stored else "feedback_unknown"))


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(rate, pattern=r"^fb:\d+:[01]$")]
