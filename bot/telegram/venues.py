"""/venues: a button per venue; a venue's card, and a map pin where its position is known."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.delivery.sender import Sender
from bot.services.catalogue import VenueView
from bot.telegram.callbacks import Venue, fits
from bot.telegram.common import (
    answer_button,
    keyboard,
    reply_html,
    send_html,
    send_to_chat,
)
from bot.telegram.context import BotContext
from bot.telegram.formatting import escape


async def send_venue(sender: Sender, chat_id: int, venue: VenueView) -> None:
    """Send the venue's map pin (sendVenue) when the knowledge base has its coordinates."""
    if venue.latitude is None or venue.longitude is None:
        return
    params = {
        "latitude": venue.latitude,
        "longitude": venue.longitude,
        "title": venue.title,
        "address": venue.address or venue.title,
    }
    await send_to_chat(sender, chat_id, "sendVenue", params)


async def venues(update: Update, context: BotContext) -> None:
    """/venues: list the venues as buttons."""
    lang = context.user_lang
    svc = context.services
    items = svc.catalogue.venues(lang)
    if not items:
        await reply_html(context.sender, update.effective_message, svc.texts(lang, "venues_empty"))
        return
    rows = [[(v.title, Venue(v.key).encode() if fits(Venue(v.key)) else None)] for v in items]
    await reply_html(
        context.sender, update.effective_message, svc.texts(lang, "venues_title"), keyboard(rows)
    )


async def venue_chosen(update: Update, context: BotContext) -> None:
    """A venue button: its card, then its map pin."""
    query = update.callback_query
    lang = context.user_lang
    svc = context.services
    pressed = Venue.parse(query.data)
    venue = svc.catalogue.venue(pressed.key, lang) if pressed is not None else None
    await answer_button(query, None if venue else svc.texts(lang, "entry_unknown"))
    if venue is None or query.message is None:
        return
    await send_html(context.sender, query.message.chat.id, escape(venue.text))
    await send_venue(context.sender, query.message.chat.id, venue)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("venues", venues), CallbackQueryHandler(venue_chosen, pattern=Venue.pattern())]
