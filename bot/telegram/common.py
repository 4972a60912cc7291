"""What every handler module shares: sending (and editing, and answering buttons) through the one sender,
keyboards, and small tests on messages. Handlers get the services, the sender and the user's language from
their context (:class:`bot.telegram.context.BotContext`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.ext import Application, CallbackContext

from bot.delivery.scheduler import Kind
from bot.delivery.sender import Outgoing, Sender, html_message
from bot.services import Services
from bot.telegram.bot_api import encode_file
from bot.telegram.context import LANGUAGE_KEY, SERVICES_KEY
from bot.telegram.formatting import split_html
from index.types import Lang


def attach(application: Application, services: Services) -> None:
    """Make ``services`` available to every handler of ``application``."""
    application.bot_data[SERVICES_KEY] = services


def services(context: CallbackContext | Application) -> Services:
    """The services of the running bot (see :func:`attach`)."""
    application = context if isinstance(context, Application) else context.application
    return application.bot_data[SERVICES_KEY]


def remember_language(context: CallbackContext, lang: Lang) -> None:
    """Keep ``lang`` as the sender's language for the handlers of this update (and later ones)."""
    if context.user_data is not None:
        context.user_data[LANGUAGE_KEY] = lang


def keyboard(rows: list[list[tuple[str, str | None]]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard from ``(label, callback data)`` rows; buttons without data are left out."""
    built = [[InlineKeyboardButton(label, callback_data=data) for label, data in row if data] for row in rows]
    built = [row for row in built if row]
    return InlineKeyboardMarkup(built) if built else None


Markup = InlineKeyboardMarkup | None


def _with_markup(text: str, markup: Markup) -> list[tuple[str, Markup]]:
    """``text`` split into messages under Telegram's limit, the keyboard on the last one only."""
    parts = split_html(text)
    return [(part, markup if i == len(parts) - 1 else None) for i, part in enumerate(parts)]


async def send(sender: Sender, messages: Sequence[Outgoing]) -> list[int]:
    """Queue messages on the one sender (durably: they survive a crash); their outbox ids."""
    return await sender.submit(messages)


def _messages(
    chat: Chat,
    text: str,
    markup: Markup,
    *,
    reply_to: int | None = None,
    ref: str | None = None,
    kind: Kind = "reply",
) -> list[Outgoing]:
    private = chat.type == Chat.PRIVATE
    return [
        html_message(
            chat.id,
            part,
            markup_here.to_dict() if markup_here is not None else None,
            reply_to=reply_to if i == 0 else None,
            kind=kind,
            ref=ref,
            user_id=chat.id if private else None,
        )
        for i, (part, markup_here) in enumerate(_with_markup(text, markup))
    ]


async def reply_html(
    sender: Sender,
    message: Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    ref: str | None = None,
) -> None:
    """Reply with ``text`` (HTML) in as many messages as needed; the keyboard goes on the last one.

    In groups the first part quotes the message it answers. ``ref`` ties the reply to what it answers
    (e.g. ``q:<question id>``).
    """
    reply_to = message.message_id if is_group(message.chat) else None
    await send(sender, _messages(message.chat, text, markup, reply_to=reply_to, ref=ref))


async def send_html(
    sender: Sender,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    kind: Kind = "reply",
    ref: str | None = None,
) -> None:
    """Send ``text`` (HTML) to a chat in as many messages as needed; the keyboard goes on the last one."""
    chat = Chat(chat_id, Chat.GROUP if chat_id < 0 else Chat.PRIVATE)
    await send(sender, _messages(chat, text, markup, kind=kind, ref=ref))


EDIT_WINDOW = dt.timedelta(minutes=10)
"""An edited question is answered again only when the edit comes this soon after the original."""


def is_stale_edit(update: Update) -> bool:
    """An edit made long after the message (usually a correction of an old message, not a question)."""
    message = update.edited_message
    if message is None or message.edit_date is None:
        return False
    return message.edit_date - message.date > EDIT_WINDOW


def is_command(message: Message) -> bool:
    """The message starts with a /command."""
    entities = message.entities
    return bool(entities) and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (Chat.GROUP, Chat.SUPERGROUP)


def replies_to_bot(message: Message, bot: Bot) -> bool:
    """True when the message is a reply to one of the bot's messages."""
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot.id


def addressed_text(message: Message, bot: Bot) -> str | None:
    """In a group, the question a message puts to the bot (its mention removed), or None if it doesn't.

    A message is for the bot when it mentions the bot or replies to one of the bot's messages.
    """
    text = message.text or ""
    found = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    mentions = [
        (entity, value)
        for entity, value in found.items()
        if (entity.type == MessageEntity.MENTION and value.lower() == f"@{bot.username}".lower())
        or (entity.user is not None and entity.user.id == bot.id)
    ]
    if not mentions and not replies_to_bot(message, bot):
        return None
    for _, value in mentions:
        text = text.replace(value, " ")
    return " ".join(text.split())


async def send_to_chat(
    sender: Sender, chat_id: int, method: str, params: dict[str, object], *, ref: str | None = None
) -> None:
    """One Bot API request to a chat through the bot's sender; a private chat's user is the recipient
    (marked as blocked if Telegram says so)."""
    user_id = chat_id if chat_id > 0 else None
    await send(sender, [Outgoing(chat_id, params, method=method, ref=ref, user_id=user_id)])


async def _send_file(
    sender: Sender,
    chat_id: int,
    field: str,
    filename: str,
    content: bytes,
    caption: str | None,
    ref: str | None,
) -> None:
    params: dict[str, object] = {field: encode_file(filename, content)}
    if caption:
        params.update(caption=caption, parse_mode="HTML")
    method = "sendPhoto" if field == "photo" else "sendDocument"
    await send_to_chat(sender, chat_id, method, params, ref=ref)


async def send_document(
    sender: Sender,
    chat_id: int,
    filename: str,
    content: bytes,
    caption: str | None = None,
    *,
    ref: str | None = None,
) -> None:
    """Send a file (``caption`` in HTML) through the bot's sender."""
    await _send_file(sender, chat_id, "document", filename, content, caption, ref)


async def send_photo(
    sender: Sender, chat_id: int, png: bytes, caption: str | None = None, filename: str = "chart.png"
) -> None:
    """Send an image (e.g. a chart) with an optional HTML caption, through the bot's sender."""
    await _send_file(sender, chat_id, "photo", filename, png, caption, None)


async def edit_markup(
    sender: Sender, chat_id: int, message_id: int, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the buttons under one of the bot's messages, through the bot's sender."""
    params: dict[str, object] = {"message_id": message_id}
    if markup is not None:
        params["reply_markup"] = markup.to_dict()
    await send_to_chat(sender, chat_id, "editMessageReplyMarkup", params)


async def edit_html(
    sender: Sender, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the text (HTML) and buttons of one of the bot's messages, through the bot's sender.

    A text too long for one message is sent as new messages instead.
    """
    parts = split_html(text)
    if len(parts) > 1:
        await send_html(sender, chat_id, text, markup)
        return
    params: dict[str, object] = {
        "message_id": message_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if markup is not None:
        params["reply_markup"] = markup.to_dict()
    await send_to_chat(sender, chat_id, "editMessageText", params)


async def answer_button(query: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    """Answer a button press (stops the client's spinner; ``text`` as a toast, or an alert).

    Not queued on the durable sender: an answer is only of use within seconds of the press, and a press
    not answered in time is simply retried by the user.
    """
    await query.answer(text, show_alert=show_alert)
