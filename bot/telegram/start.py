"""/start, /language and /help, the language picker, and noticing when a user blocks the bot."""

from __future__ import annotations

from telegram import Chat, ChatMember, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ChatMemberHandler, CommandHandler

from bot.telegram.callbacks import Language
from bot.telegram.common import (
    answer_button,
    keyboard,
    remember_language,
    reply_html,
    send_html,
)
from bot.telegram.context import BotContext
from bot.telegram.miniapp import localise_menu
from index.types import LANGS, Lang


def language_keyboard(context: BotContext) -> InlineKeyboardMarkup | None:
    """One button per language, each labelled in its own language."""
    texts = context.services.texts
    return keyboard([[(texts(lang, "language_name"), Language(lang).encode()) for lang in LANGS]])


async def start(update: Update, context: BotContext) -> None:
    """Welcome the user in their language and offer the language picker."""
    lang = context.user_lang
    name = update.effective_user.first_name if update.effective_user else ""
    text = context.services.texts(lang, "welcome", name=name)
    await reply_html(context.sender, update.effective_message, text, language_keyboard(context))
    if lang != "en":  # English is the menu button's label for every chat already
        await localise_menu(context.bot, context.services.settings, update.effective_chat, lang)


async def choose_language(update: Update, context: BotContext) -> None:
    """/language: show the language picker."""
    lang = context.user_lang
    text = context.services.texts(lang, "choose_language")
    await reply_html(context.sender, update.effective_message, text, language_keyboard(context))


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot can do."""
    lang = context.user_lang
    await reply_html(context.sender, update.effective_message, context.services.texts(lang, "help"))


async def language_chosen(update: Update, context: BotContext) -> None:
    """A language button: store the choice and confirm it in the new language."""
    query = update.callback_query
    pressed = Language.parse(query.data)
    svc = context.services
    if pressed is None or pressed.lang not in LANGS:
        await answer_button(query, svc.texts(context.user_lang, "button_unknown"))
        return
    lang: Lang = pressed.lang  # type: ignore[assignment]
    await svc.users.set_language(query.from_user.id, lang)
    remember_language(context, lang)
    await answer_button(query, svc.texts(lang, "language_name"))
    if query.message is not None:
        await send_html(context.sender, query.message.chat.id, svc.texts(lang, "language_set"))
        await localise_menu(context.bot, svc.settings, query.message.chat, lang)


async def membership_changed(update: Update, context: BotContext) -> None:
    """A private chat member update: the user blocked (kicked) or unblocked the bot."""
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.PRIVATE:
        return
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    await context.services.users.mark_blocked(change.from_user.id, blocked)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("start", start),
        CommandHandler("language", choose_language),
        CommandHandler("help", help_command),
        CallbackQueryHandler(language_chosen, pattern=Language.pattern()),
        ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
