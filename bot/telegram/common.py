"""What every handler module shares: the services accessor, the user's language, sending HTML safely."""

from __future__ import annotations

from telegram import Bot, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.ext import Application, CallbackContext

from bot.services import Services
from bot.telegram.formatting import split_html
from index.types import Lang

SERVICES_KEY = "services"
MAX_CALLBACK_DATA = 64


def attach(application: Application, services: Services) -> None:
    """Make ``services`` available to every handler of ``application``."""
    application.bot_data[SERVICES_KEY] = services


def services(context: CallbackContext | Application) -> Services:
    """The services of the running bot (see :func:`attach`)."""
    application = context if isinstance(context, Application) else context.application
    return application.bot_data[SERVICES_KEY]


async def language(update: Update, context: CallbackContext) -> Lang:
    """The language to talk to the sender in; a message also records that they were seen."""
    user = update.effective_user
    if user is None:
        return "en"
    users = services(context).users
    if update.effective_message is not None and update.callback_query is None:
        return await users.seen(user.id, user.language_code)
    return await users.language(user.id, user.language_code)


def callback(prefix: str, key: str = "") -> str | None:
    """Callback data ``prefix:key``, or None when it would exceed Telegram's 64 bytes."""
    data = f"{prefix}:{key}" if key else prefix
    return data if len(data.encode()) <= MAX_CALLBACK_DATA else None


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


async def reply_html(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply with ``text`` (HTML) in as many messages as needed; the keyboard goes on the last one.

    In groups the first part quotes the message it answers.
    """
    sent = message
    for i, (part, markup_here) in enumerate(_with_markup(text, markup)):
        sent = await message.reply_html(part, reply_markup=markup_here, do_quote=None if i == 0 else False)
    return sent


async def send_html(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Send ``text`` (HTML) to a chat in as many messages as needed; the keyboard goes on the last one."""
    for part, markup_here in _with_markup(text, markup):
        await bot.send_message(chat_id, part, reply_markup=markup_here)


async def send_document(
    bot: Bot, chat_id: int, content: bytes, filename: str, caption: str | None = None
) -> Message:
    """Send ``content`` as a file named ``filename``, with an optional HTML caption."""
    return await bot.send_document(chat_id, document=content, filename=filename, caption=caption)


async def send_photo(
    bot: Bot, chat_id: int, png: bytes, caption: str | None = None, filename: str = "chart.png"
) -> Message:
    """Send an image (e.g. a chart) with an optional HTML caption."""
    return await bot.send_photo(chat_id, photo=png, filename=filename, caption=caption)


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
