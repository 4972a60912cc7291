"""The sender's transport over python-telegram-bot: one Bot API call, PTB's errors mapped to the four
kinds the sender tells apart (:mod:`bot.delivery.transport`).

Parameters arrive as stored in the outbox (JSON); keyboards, reply targets and link preview options
become PTB objects here, and a file given as ``{"filename": ..., "base64": ...}`` becomes an upload.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.delivery.transport import Blocked, Rejected, RetryLater, Unavailable

_OBJECTS = {
    "reply_markup": InlineKeyboardMarkup,
    "reply_parameters": ReplyParameters,
    "link_preview_options": LinkPreviewOptions,
}
_FILES = ("document", "photo")
_METHODS = {
    "sendMessage": "send_message",
    "sendDocument": "send_document",
    "sendPhoto": "send_photo",
    "sendVenue": "send_venue",
    "sendLocation": "send_location",
    "editMessageText": "edit_message_text",
    "editMessageReplyMarkup": "edit_message_reply_markup",
}


def encode_file(filename: str, content: bytes) -> dict[str, str]:
    """A file as an outbox parameter (see the module docstring)."""
    return {"filename": filename, "base64": base64.b64encode(content).decode()}


def retry_seconds(value: int | float | dt.timedelta) -> float:
    """PTB gives ``retry_after`` as seconds or as a timedelta, depending on its version and settings."""
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _convert(bot: Bot, params: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if key in _OBJECTS and isinstance(value, dict):
            kwargs[key] = _OBJECTS[key].de_json(value, bot)
        elif key in _FILES and isinstance(value, dict) and "base64" in value:
            kwargs[key] = InputFile(base64.b64decode(value["base64"]), filename=value["filename"])
        elif key in ("entities", "caption_entities") and isinstance(value, list):
            kwargs[key] = [MessageEntity.de_json(entity, bot) for entity in value]
        else:
            kwargs[key] = value
    return kwargs


class PTBTransport:
    """Sends outbox messages with a PTB :class:`~telegram.Bot`."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        name = _METHODS.get(method)
        if name is None:
            raise Rejected(f"unsupported method {method}")
        try:
            result = await getattr(self._bot, name)(**_convert(self._bot, params))
        except RetryAfter as error:
            raise RetryLater(retry_seconds(error.retry_after)) from None
        except (Forbidden, ChatMigrated) as error:
            raise Blocked(error.message) from None
        except BadRequest as error:
            raise Rejected(error.message) from None
        except NetworkError as error:  # includes TimedOut; after BadRequest, which is a subclass
            raise Unavailable(error.message) from None
        except TelegramError as error:
            raise Unavailable(error.message) from None
        return result.message_id if isinstance(result, Message) else None
