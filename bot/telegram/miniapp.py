"""The programme Mini App in Telegram: its routes on the bot's web server, the "Programme" button under
/agenda and /myagenda, the chat's menu button, and "ask the bot about this" (the page and its API are in
:mod:`bot.webapp`).

All of it is on only when PUBLIC_URL is set; without it nothing here adds a button or a route.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import (
    Bot,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.services import Services
from bot.services.ratelimit import QuestionRateLimiter
from bot.telegram.common import SERVICES_KEY, send_html
from bot.telegram.formatting import escape
from bot.telegram.webserver import Routes
from bot.webapp.programme import text
from bot.webapp.server import Ask, MiniApp
from index.types import Lang

log = logging.getLogger(__name__)


StarMarkup = Callable[[Services, int, str, Lang], Awaitable[InlineKeyboardMarkup | None]]
"""The ⭐ under a session card (:func:`bot.telegram.agenda.star_markup`, handed in by the wiring: the
agenda handlers import this module for its button)."""


def _asker(application: Application, star_markup: StarMarkup) -> Ask:
    async def ask(user_id: int, session_id: str, lang: Lang) -> None:
        """The session's card in the user's private chat, with its ⭐; the session becomes the chat's
        topic, so "where is it?" or "who speaks?" right after is about it."""
        svc: Services = application.bot_data[SERVICES_KEY]
        card = svc.catalogue.entry(session_id, lang)
        if card is None:
            return
        await svc.answering.choose(user_id, session_id, lang)
        markup = await star_markup(svc, user_id, session_id, lang)
        await send_html(svc.sender, user_id, escape(card), markup)

    return ask


def mini_app(application: Application, settings: Settings, star_markup: StarMarkup) -> MiniApp | None:
    """The Mini App of a built application, or None when PUBLIC_URL is not set."""
    if not settings.public_url:
        return None
    return MiniApp(
        prefix=settings.webapp_path,
        token=settings.require_token(),
        services=lambda: application.bot_data.get(SERVICES_KEY),
        max_age=settings.webapp_max_age,
        rate=QuestionRateLimiter(
            settings.webapp_rate_limit, timedelta(seconds=settings.question_rate_window)
        ),
        ask=_asker(application, star_markup),
    )


def routes(application: Application, settings: Settings, star_markup: StarMarkup) -> list[Routes]:
    """What the web server adds for the Mini App (nothing when it is off)."""
    app = mini_app(application, settings, star_markup)
    return [app.add_routes] if app is not None else []


def button(settings: Settings, lang: Lang, chat: Chat | None) -> InlineKeyboardButton | None:
    """The "Programme" button that opens the Mini App; only in private chats (Telegram allows Mini App
    buttons only there) and only when it is on."""
    url = settings.webapp_url
    if url is None or chat is None or chat.type != Chat.PRIVATE:
        return None
    return InlineKeyboardButton(text("button", lang), web_app=WebAppInfo(url))


def with_button(
    markup: InlineKeyboardMarkup | None, settings: Settings, lang: Lang, chat: Chat | None
) -> InlineKeyboardMarkup | None:
    """``markup`` with the "Programme" button as its first row (``markup`` itself when there is none)."""
    first = button(settings, lang, chat)
    if first is None:
        return markup
    return InlineKeyboardMarkup([[first], *(markup.inline_keyboard if markup else ())])


async def set_menu_button(application: Application, settings: Settings) -> None:
    """Make the Mini App every private chat's menu button when it is on; otherwise put back Telegram's
    default menu (the command list), so a button left from an earlier run does not open a dead page."""
    url = settings.webapp_url
    menu = MenuButtonWebApp(text("menu", "en"), WebAppInfo(url)) if url else MenuButtonDefault()
    try:
        await application.bot.set_chat_menu_button(menu_button=menu)
    except TelegramError as exc:
        log.warning("the chat menu button could not be set: %s", exc)
        return
    if url:
        log.info("programme Mini App at %s (the chats' menu button opens it)", url)


async def localise_menu(bot: Bot, settings: Settings, chat: Chat | None, lang: Lang) -> None:
    """Label the menu button of a user's private chat in their language (the bot-wide one is English;
    an English chat goes back to it). Called when the user starts the bot or chooses a language."""
    url = settings.webapp_url
    if url is None or chat is None or chat.type != Chat.PRIVATE:
        return
    menu = MenuButtonDefault() if lang == "en" else MenuButtonWebApp(text("menu", lang), WebAppInfo(url))
    try:
        await bot.set_chat_menu_button(chat_id=chat.id, menu_button=menu)
    except TelegramError as exc:
        log.info("the menu button of chat %s was not labelled in %s: %s", chat.id, lang, exc)
