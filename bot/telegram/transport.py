"""/transport: the routes to Wuzhen and around it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackContext, CommandHandler

from bot.telegram.common import language, reply_html, services
from bot.telegram.formatting import escape


async def transport(update: Update, context: CallbackContext) -> None:
    """/transport: every route, with duration, distance and cost where known."""
    lang = await language(update, context)
    svc = services(context)
    routes = svc.catalogue.routes(lang)
    if not routes:
        await reply_html(update.effective_message, svc.texts(lang, "transport_empty"))
        return
    body = "\n\n".join(escape(route) for route in routes)
    await reply_html(update.effective_message, f"{svc.texts(lang, 'transport_title')}\n\n{body}")


def handlers() -> list[BaseHandler]:
    return [CommandHandler("transport", transport)]
