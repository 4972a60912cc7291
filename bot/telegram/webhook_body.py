"""Whether a webhook request's body is a Telegram update the bot can take in.

:func:`read_update` turns the raw body into the update's JSON, or raises :class:`NotAnUpdate` with a
short reason (the web server answers 400 and logs one line). A body is an update when it is UTF-8 JSON
(strict: no ``NaN`` or ``Infinity``),
an object, with an integer ``update_id`` in ``0 .. MAX_UPDATE_ID`` (not a boolean, not a float), and
python-telegram-bot can read it as an :class:`telegram.Update` with what every handler relies on (so
a ``message`` that is a string, a message without a chat, a date that is not a number... are refused
before anything is stored). Fields
the library does not know are kept: they may be update kinds newer than it.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Update

MAX_UPDATE_ID = 2**53 - 1
"""The largest ``update_id`` taken (JSON's exact integers; Telegram's ids are far below)."""
REASON_CHARS = 120


class NotAnUpdate(ValueError):
    """The body is not a Telegram update; ``reason`` says why in a few words, ``kind`` is a short key
    (``json``, ``type``, ``update_id``, ``fields``) for the metrics."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def read_update(body: bytes) -> dict[str, Any]:
    """The update in ``body``; see the module docstring for what is refused."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise NotAnUpdate("json", "the body is not UTF-8") from None
    except RecursionError:
        raise NotAnUpdate("json", "the body is nested too deeply") from None
    except ValueError as exc:
        raise NotAnUpdate("json", f"the body is not JSON ({_short(exc)})") from None
    if not isinstance(data, dict):
        raise NotAnUpdate("type", f"the body is a JSON {type(data).__name__}, not an object")
    update_id = data.get("update_id")
    if type(update_id) is not int:
        raise NotAnUpdate("update_id", "no integer update_id")
    if not 0 <= update_id <= MAX_UPDATE_ID:
        raise NotAnUpdate("update_id", f"update_id {_short(update_id)} is out of range")
    try:
        update = Update.de_json(data, None)
        _check_required(update)
    except RecursionError:
        raise NotAnUpdate("fields", "the update is nested too deeply") from None
    except Exception as exc:  # whatever the library cannot read is not an update it could handle
        raise NotAnUpdate(
            "fields", f"update {update_id} cannot be read: {type(exc).__name__}: {_short(exc)}"
        ) from None
    return data


def _no_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON: Python reads them, SQLite (which stores updates) does not."""
    raise ValueError(f"{name} is not a JSON value")


def _check_required(update: Update) -> None:
    """What the library leaves as None when it is missing, and every handler relies on."""
    for message in (update.message, update.edited_message, update.channel_post, update.edited_channel_post):
        if message is not None and (message.chat is None or message.date is None):
            raise ValueError("a message without its chat or date")
    query = update.callback_query
    if query is not None and (query.from_user is None or not query.id):
        raise ValueError("a button press without its sender or id")


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
