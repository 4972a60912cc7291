"""/transport: the routes to Wuzhen and around it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.telegram.common import reply_html
from bot.telegram.context import BotContext
from bot.telegram.formatting import escape


async def transport(update: Update, context: BotContext) -> None:
    """/transport: every route, with duration, distance and cost where known."""
    lang = context.user_lang
    svc = context.services
    routes = svc.catalogue.routes(lang)
    if not routes:
        await reply_html(context.sender, update.effective_message, svc.texts(lang, "transport_empty"))
        return
    body = "\n\n".join(escape(route) for route in routes)
    await reply_html(
        context.sender, update.effective_message, f"{svc.texts(lang, 'transport_title')}\n\n{body}"
    )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("transport", transport)]
