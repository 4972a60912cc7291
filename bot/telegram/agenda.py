"""/agenda: days as buttons, then a day's sessions, then a session card, each with a back button.

Browsing edits the one agenda message in place. Callback data (:mod:`bot.telegram.callbacks`):
:class:`AgendaDay` with an empty day (the days) or a day (its sessions), :class:`Session` (a card).
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackContext, CallbackQueryHandler, CommandHandler

from bot.services import Services
from bot.telegram.callbacks import AgendaDay, CallbackData, Session, fits, parse
from bot.telegram.common import keyboard, language, reply_html, send_html, services
from bot.telegram.formatting import MAX_MESSAGE, escape, split_html
from index.types import Lang

View = tuple[str, InlineKeyboardMarkup | None]

DAYS_PER_ROW = 2


def _data(item: CallbackData) -> str | None:
    """The button's data, or None (no button) when a key is too long for Telegram's 64 bytes."""
    return item.encode() if fits(item) else None


def days_view(svc: Services, lang: Lang) -> View:
    days = [(item.label, _data(AgendaDay(item.key))) for item in svc.catalogue.days(lang)]
    if not days and not svc.catalogue.has_undated:
        return svc.texts(lang, "agenda_empty"), None
    rows = [days[i : i + DAYS_PER_ROW] for i in range(0, len(days), DAYS_PER_ROW)]
    if svc.catalogue.has_undated:
        rows.append([(svc.texts(lang, "agenda_undated"), _data(AgendaDay(svc.catalogue.UNDATED)))])
    return svc.texts(lang, "agenda_days"), keyboard(rows)


def day_view(svc: Services, key: str, lang: Lang) -> View | None:
    sessions = svc.catalogue.sessions(key, lang)
    if sessions is None:
        return None
    label = svc.catalogue.day_label(key, lang) or svc.texts(lang, "agenda_undated")
    rows = [[(item.label, _data(Session(item.key)))] for item in sessions]
    rows.append([(svc.texts(lang, "back"), _data(AgendaDay("")))])
    return svc.texts(lang, "agenda_day", day=label), keyboard(rows)


def session_view(svc: Services, session_id: str, lang: Lang) -> View | None:
    card = svc.catalogue.entry(session_id, lang)
    day = svc.catalogue.session_day(session_id)
    if card is None or day is None:
        return None
    return escape(card), keyboard([[(svc.texts(lang, "back"), _data(AgendaDay(day)))]])


async def agenda(update: Update, context: CallbackContext) -> None:
    """/agenda: the days with sessions."""
    lang = await language(update, context)
    text, markup = days_view(services(context), lang)
    await reply_html(update.effective_message, text, markup)


async def browse(update: Update, context: CallbackContext) -> None:
    """An agenda button: show the days, a day's sessions or a session card in the same message."""
    query = update.callback_query
    lang = await language(update, context)
    svc = services(context)
    pressed = parse(query.data)
    if isinstance(pressed, Session):
        view = session_view(svc, pressed.key, lang)
    elif isinstance(pressed, AgendaDay) and pressed.day:
        view = day_view(svc, pressed.day, lang)
    elif isinstance(pressed, AgendaDay):
        view = days_view(svc, lang)
    else:
        view = None
    await query.answer(None if view else svc.texts(lang, "entry_unknown"))
    if view is None or query.message is None:
        return
    text, markup = view
    if len(split_html(text, MAX_MESSAGE)) > 1:
        await send_html(context.bot, query.message.chat.id, text, markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("agenda", agenda),
        CallbackQueryHandler(browse, pattern=AgendaDay.pattern()),
        CallbackQueryHandler(browse, pattern=Session.pattern()),
    ]
