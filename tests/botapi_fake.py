"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real bot over HTTP.

Point python-telegram-bot at it with ``ApplicationBuilder().token(fake.token).base_url(fake.base_url)``;
PTB then calls ``{base_url}{token}/{method}`` with form-encoded (or multipart) parameters whose nested
values are JSON-encoded, and this server answers the way Telegram does: ``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": ..., "description": ...}`` with the same HTTP status.

Updates are built by helpers such as :meth:`FakeBotApi.user_message` and handed out through long-polling
``getUpdates`` or, after ``setWebhook``, POSTed to the webhook with the secret token header. Every API
call is recorded as a :class:`Call` for inspection, and faults can be injected: a user who blocked the
bot (403) or flood control (429 with ``retry_after``).

Realistic details that catch bugs: ``parse_mode="HTML"`` text is parsed with Telegram's tag subset
(unbalanced or unsupported tags give 400 "can't parse entities"), texts over 4096 characters and
``callback_data`` over 64 bytes are refused, editing a message to identical content gives "message is not
modified", and a callback query can be answered only once. Markdown parse modes are not interpreted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import aiohttp
from aiohttp import web

MAX_TEXT_UTF16 = 4096
MAX_CALLBACK_DATA_BYTES = 64
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
"""What Telegram sends when ``allowed_updates`` is empty: everything but chat_member and reactions."""
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Parameters that Telegram reads as strings even when they look like numbers or JSON.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "ip_address",
        "title",
        "address",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "action",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
    }
)
_TEXT_TOKEN = re.compile(
    r"(?<![\w/@])(?:(?P<command>/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)|(?P<mention>@[A-Za-z0-9_]{5,32}))"
)
_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>")
_ATTR = re.compile(r"([\w-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_CHAR_REF = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9A-Fa-f]+);")
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Call:
    """One Bot API request as the fake received and answered it."""

    method: str
    params: dict[str, Any]
    """Decoded parameters: numbers and booleans as such, ``reply_markup``/``entities`` etc. as objects."""
    at: float
    """``time.monotonic()`` when the request arrived."""
    status: int
    """The HTTP status answered: 200, or the error code (400, 403, 404, 409, 429...)."""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")


@dataclass(frozen=True)
class Delivery:
    """One webhook POST of an update: the HTTP status the bot answered (None when unreachable)."""

    update_id: int
    status: int | None
    at: float
    error: str | None = None


class ApiError(Exception):
    """An error answer: HTTP status ``code`` with Telegram's ``description`` and ``parameters``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class _Signal:
    """Wakes every coroutine waiting for "something changed"; fired from synchronous code."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float | None = None) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        values = [value for value in match.groups()[1:] if value is not None]
        found[match.group(1).lower()] = values[0] if values else ""
    return found


def _start_entity(name: str, attrs: dict[str, str]) -> dict[str, Any] | None:
    """The entity an opening tag starts, or None when Telegram does not support the tag so written."""
    kind = _HTML_TAGS.get(name)
    if kind is None or (name == "span" and attrs.get("class") != "tg-spoiler"):
        return None
    if name == "a":
        return {"type": kind, "url": attrs["href"]} if attrs.get("href") else None
    if name == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    if name == "tg-emoji":
        return {"type": kind, "custom_emoji_id": attrs.get("emoji-id", "")}
    if name == "code" and attrs.get("class", "").startswith("language-"):
        return {"type": kind, "language": attrs["class"].removeprefix("language-")}
    return {"type": kind}


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the plain text and its entities; :class:`ApiError` 400 when malformed."""
    plain: list[str] = []
    length = 0
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []

    def fail(problem: str, index: int) -> ApiError:
        offset = len(source[:index].encode())
        return ApiError(400, f"Bad Request: can't parse entities: {problem} at byte offset {offset}")

    index = 0
    while index < len(source):
        if source[index] != "<":
            ref = _CHAR_REF.match(source, index) if source[index] == "&" else None
            text = unescape(ref.group()) if ref else source[index]
            index = ref.end() if ref else index + 1
            plain.append(text)
            length += utf16_len(text)
            continue
        tag = _TAG.match(source, index)
        if tag is None:
            raise fail("unsupported start tag", index)
        name = tag.group(2).lower()
        if not tag.group(1):
            entity = _start_entity(name, _attributes(tag.group(3)))
            if entity is None:
                raise fail(f'unsupported start tag "{name}"', index)
            stack.append((name, length, entity))
        elif not stack:
            raise fail(f'unexpected end tag "{name}"', index)
        elif stack[-1][0] != name:
            raise fail(f'unmatched end tag, expected "</{stack[-1][0]}>", found "</{name}>"', index)
        else:
            _, start, entity = stack.pop()
            if name == "code" and stack and stack[-1][0] == "pre":  # <pre><code> is one pre entity
                if "language" in entity:
                    stack[-1][2]["language"] = entity["language"]
            elif length > start:
                if entity["type"] == "code":
                    entity.pop("language", None)  # only a pre block keeps a language
                entities.append({**entity, "offset": start, "length": length - start})
        index = tag.end()
    if stack:
        problem = f'can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        raise ApiError(400, f"Bad Request: can't parse entities: {problem}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities


def _decode(name: str, value: Any) -> Any:
    """A parameter as Telegram reads it: JSON-encoded unless it is one of the plain string parameters."""
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _update_chat(update: dict[str, Any]) -> int | None:
    """The chat an update comes from (a button press: the chat of the pressed message)."""
    body = update[_update_type(update)]
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if chat:
        return chat["id"]
    return (body.get("from") or {}).get("id")


class FakeBotApi:
    """The fake server. ``await start()`` binds a free port on 127.0.0.1; ``await stop()`` frees it.

    Also usable as ``async with FakeBotApi() as fake: ...``. Everything runs on the caller's event loop;
    the update helpers are plain methods to be called from it.
    """

    def __init__(self, token: str = "123456:TEST-token", bot_username: str = "summit_test_bot") -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Summit Test",
            "username": bot_username,
        }
        self.port = 0
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.response_delay = 0.0
        """Seconds to wait before answering each request, to imitate the network round trip."""
        self._updates: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._injected: dict[int, tuple[float, int | None]] = {}
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._open_callbacks: set[str] = set()
        self._blocked: set[int] = set()
        self._floods: dict[str, list[int]] = {}
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        """The menu button set with setChatMenuButton per chat (None: every private chat's default)."""
        self._allowed_updates = DEFAULT_UPDATE_TYPES
        self._webhook: dict[str, Any] | None = None
        self._webhook_slots = asyncio.Semaphore(40)
        self._webhook_error: tuple[int, str] | None = None
        self._in_flight = 0
        self._poller = 0
        self.long_polls_waiting = 0
        """How many getUpdates requests are waiting for updates right now."""
        self._closing = False
        self._updates_signal = _Signal()
        self._calls_signal = _Signal()
        self._deliveries_signal = _Signal()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendVenue": self._send_venue,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
        }
        methods.update(self._file_methods())
        self._methods = {name.lower(): (name, handler) for name, handler in methods.items()}

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """The ``base_url`` for python-telegram-bot."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """End pending long polls and webhook deliveries, then close the server."""
        self._closing = True
        self._updates_signal.fire()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- faults

    def block_user(self, chat_id: int, *, notify: bool = False) -> int | None:
        """From now on every request to ``chat_id`` answers 403 "bot was blocked by the user".

        With ``notify`` the ``my_chat_member`` update Telegram sends in that case is queued too; its
        update id is returned.
        """
        self._blocked.add(chat_id)
        return self.my_chat_member(chat_id, "kicked") if notify else None

    def unblock_user(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def flood(self, method: str, times: int, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 with ``parameters.retry_after``."""
        self._floods[method.lower()] = [times, retry_after]

    def fail(self, method: str, status: int = 500, description: str | None = None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP ``status`` (500: "Internal Server Error",
        400: a "Bad Request" that does not depend on the message), after those already arranged."""
        default = "Internal Server Error" if status >= 500 else "Bad Request: chat is temporarily unavailable"
        self._failures.setdefault(method.lower(), []).extend([(status, description or default)] * times)

    def _failure(self, method: str) -> None:
        queued = self._failures.get(method.lower())
        if queued:
            status, description = queued.pop(0)
            raise ApiError(status, description)

    # ----------------------------------------------------------------- updates

    @staticmethod
    def text_entities(text: str) -> list[dict[str, Any]]:
        """The bot_command and mention entities Telegram would attach to ``text`` (UTF-16 offsets)."""
        entities = []
        for match in _TEXT_TOKEN.finditer(text):
            kind = "bot_command" if match.group("command") else "mention"
            offset = utf16_len(text[: match.start()])
            entities.append({"type": kind, "offset": offset, "length": utf16_len(match.group())})
        return entities

    def inject(self, update: dict[str, Any]) -> int:
        """Queue (or, with a webhook set, deliver) a raw update; returns its ``update_id``.

        The id is added when missing; a given one must be above every earlier id, as with Telegram
        (``getUpdates`` offsets would otherwise skip it).
        """
        if "update_id" in update:
            if update["update_id"] <= self._last_update_id:
                raise ValueError(
                    f"update_id {update['update_id']} is not above the last one, {self._last_update_id}"
                )
            self._last_update_id = update["update_id"]
        else:
            self._last_update_id += 1
            update = {"update_id": self._last_update_id, **update}
        update_id = update["update_id"]
        self._injected[update_id] = (time.monotonic(), _update_chat(update))
        if self._webhook is not None:
            if _update_type(update) in self._allowed_updates:
                self._deliver_soon(update)
        else:
            self._updates.append(update)
            self._updates_signal.fire()
        return update_id

    def user_message(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_bot: bool = False,
        entities: list[dict[str, Any]] | None = None,
    ) -> int:
        """A text message from a user; commands and @mentions get their entities unless given."""
        chat = self._chat_of(user_id, chat_id, chat_type)
        content: dict[str, Any] = {"text": text}
        found = self.text_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        if reply_to_bot:
            content["reply_to_message"] = self._last_bot_message(chat)
        return self.inject({"message": self._new_message(chat, self._user(user_id, language_code), content)})

    def callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        chat_id: int | None = None,
        language_code: str | None = "en",
    ) -> int:
        """A press on an inline button with ``data`` under the bot's message ``message_id``."""
        chat = self._chat_of(user_id, chat_id, "private" if chat_id is None or chat_id > 0 else "supergroup")
        message = self._messages.get((chat["id"], message_id)) or {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            "text": "…",
        }
        query_id = f"{user_id}-{next(self._callback_ids)}"
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id, language_code),
            "message": message,
            "chat_instance": str(chat["id"]),
            "data": data,
        }
        return self.inject({"callback_query": query})

    def edited_message(
        self,
        user_id: int,
        text: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
    ) -> int:
        """The user edits their message ``message_id`` (default: their latest in the chat) to ``text``."""
        chat = self._chat_of(user_id, chat_id, chat_type)
        mine = [m for (c, _), m in self._messages.items() if c == chat["id"] and m["from"]["id"] == user_id]
        if message_id is not None:
            mine = [m for m in mine if m["message_id"] == message_id]
        if not mine:
            raise ValueError(f"user {user_id} has no message {message_id or ''} in chat {chat['id']} to edit")
        edited = {key: value for key, value in mine[-1].items() if key != "entities"}
        edited.update(text=text, edit_date=int(time.time()))
        if entities := self.text_entities(text):
            edited["entities"] = entities
        self._messages[chat["id"], edited["message_id"]] = edited
        return self.inject({"edited_message": edited})

    def sticker(self, user_id: int, *, emoji: str = "👍", chat_id: int | None = None, **options: Any) -> int:
        n = next(self._file_ids)
        sticker = {
            "file_id": f"sticker-{n}",
            "file_unique_id": f"us-{n}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._media(user_id, {"sticker": sticker}, chat_id, **options)

    def photo(
        self, user_id: int, *, caption: str | None = None, chat_id: int | None = None, **options: Any
    ) -> int:
        n = next(self._file_ids)
        sizes = [
            {
                "file_id": f"photo-{n}-{side}",
                "file_unique_id": f"up-{n}-{side}",
                "width": side,
                "height": side,
            }
            for side in (90, 320, 800)
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._media(user_id, content, chat_id, **options)

    def voice(self, user_id: int, *, duration: int = 3, chat_id: int | None = None, **options: Any) -> int:
        n = next(self._file_ids)
        voice = {
            "file_id": f"voice-{n}",
            "file_unique_id": f"uv-{n}",
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._media(user_id, {"voice": voice}, chat_id, **options)

    def location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None, **options: Any
    ) -> int:
        return self._media(
            user_id, {"location": {"latitude": latitude, "longitude": longitude}}, chat_id, **options
        )

    def my_chat_member(self, user_id: int, status: str = "kicked") -> int:
        """The update Telegram sends when a user blocks ("kicked") or restarts ("member") the bot."""
        bot = dict(self.bot_user)
        new = {"status": status, "user": bot, **({"until_date": 0} if status == "kicked" else {})}
        old_status = "member" if status == "kicked" else "kicked"
        old = {"status": old_status, "user": bot, **({"until_date": 0} if old_status == "kicked" else {})}
        change = {
            "chat": self._chat_of(user_id, None, "private"),
            "from": self._user(user_id, None),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        return self.inject({"my_chat_member": change})

    def _media(
        self,
        user_id: int,
        content: dict[str, Any],
        chat_id: int | None,
        *,
        chat_type: str = "private",
        language_code: str | None = "en",
    ) -> int:
        chat = self._chat_of(user_id, chat_id, chat_type)
        return self.inject({"message": self._new_message(chat, self._user(user_id, language_code), content)})

    @staticmethod
    def _user(user_id: int, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User {user_id}",
            "username": f"user{user_id}",
        }
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat_of(self, user_id: int, chat_id: int | None, chat_type: str) -> dict[str, Any]:
        if chat_id is None:
            if chat_type != "private":
                raise ValueError(f"a {chat_type} chat needs a chat_id")
            chat_id = user_id
        return self._chat(chat_id, chat_type)

    def _chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        """The chat with this id, as first seen (a private chat for positive ids when unknown)."""
        if chat_id not in self._chats:
            kind = chat_type or ("private" if chat_id > 0 else "supergroup")
            if kind == "private":
                chat = {
                    "id": chat_id,
                    "type": kind,
                    "first_name": f"User {chat_id}",
                    "username": f"user{chat_id}",
                }
            else:
                chat = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
            self._chats[chat_id] = chat
        return self._chats[chat_id]

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self._messages[chat["id"], message["message_id"]] = message
        return message

    def _last_bot_message(self, chat: dict[str, Any]) -> dict[str, Any]:
        earlier = self.bot_messages(chat["id"])
        return earlier[-1] if earlier else self._new_message(chat, self.bot_user, {"text": "…"})

    # ----------------------------------------------------------------- inspection

    def sent_to(self, chat_id: int) -> list[Call]:
        """The successful calls addressed to ``chat_id`` (messages, edits, chat actions...), in order."""
        return [call for call in self.calls if call.ok and call.chat_id == chat_id]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in the chat as they stand now (after edits, without deleted ones)."""
        bot_id = self.bot_user["id"]
        found = [m for (c, _), m in self._messages.items() if c == chat_id and m["from"]["id"] == bot_id]
        return sorted(found, key=lambda m: m["message_id"])

    def commands(self, language_code: str = "", scope: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The command list set with setMyCommands for this language and scope (default scope)."""
        return self._commands.get(self._commands_key(scope, language_code), [])

    @property
    def webhook_url(self) -> str | None:
        return self._webhook["url"] if self._webhook else None

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0) -> Call:
        """The first recorded call (past or future) that satisfies ``predicate``."""
        checked = 0

        async def scan() -> Call:
            nonlocal checked
            while True:
                for call in self.calls[checked:]:
                    if predicate(call):
                        return call
                checked = len(self.calls)
                await self._calls_signal.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            recent = ", ".join(f"{c.method}:{c.status}" for c in self.calls[-10:])
            raise TimeoutError(
                f"no matching Bot API call within {timeout}s; latest calls: {recent}"
            ) from None

    async def wait_for_count(self, method: str, n: int, timeout: float = 10.0) -> list[Call]:
        """Wait until ``n`` successful calls of ``method`` were made; returns all of them."""
        seen: list[Call] = []

        def count(call: Call) -> bool:
            if call.ok and call.method == method:
                seen.append(call)
            return len(seen) >= n

        try:
            await self.wait_for(count, timeout)
        except TimeoutError:
            raise TimeoutError(f"only {len(seen)} of {n} {method} calls within {timeout}s") from None
        return [call for call in self.calls if call.ok and call.method == method]

    async def wait_delivered(self, n: int, timeout: float = 10.0) -> list[Delivery]:
        """Wait until ``n`` webhook deliveries were attempted; returns all of them."""
        async with asyncio.timeout(timeout):
            while len(self.deliveries) < n:
                await self._deliveries_signal.wait()
        return list(self.deliveries)

    def injected_at(self, update_id: int) -> float:
        """``time.monotonic()`` when the update was injected."""
        return self._injected[update_id][0]

    def reply_latency(self, update_id: int) -> float | None:
        """Seconds from injecting the update to the first message sent or edited in its chat after it.

        Chat actions ("typing...") don't count. None while there is no such call. The match is by chat,
        so for exact figures have one update at a time in flight per chat.
        """
        at, chat_id = self._injected[update_id]
        for call in self.calls:
            if call.ok and call.at >= at and call.chat_id == chat_id and call.method != "sendChatAction":
                return call.at - at
        return None

    # --- Hardening: callback queries left unanswered ---

    @property
    def unanswered_callbacks(self) -> set[str]:
        """Ids of the callback queries injected and not yet answered with answerCallbackQuery."""
        return set(self._open_callbacks)

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        params = await self._params(request)
        entry = self._methods.get(request.match_info["method"].lower())
        name = entry[0] if entry else request.match_info["method"]
        outcome: Any
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if self.response_delay:
                await asyncio.sleep(self.response_delay)
            self._check_faults(name, params)
            if entry is None:
                raise ApiError(404, "Not Found")
            outcome = await entry[1](params)
        except ApiError as error:
            outcome = error
        status = outcome.code if isinstance(outcome, ApiError) else 200
        self.calls.append(Call(name, params, arrived, status))
        self._calls_signal.fire()
        if isinstance(outcome, ApiError):
            body: dict[str, Any] = {
                "ok": False,
                "error_code": outcome.code,
                "description": outcome.description,
            }
            if outcome.parameters:
                body["parameters"] = outcome.parameters
            return web.json_response(body, status=outcome.code)
        return web.json_response({"ok": True, "result": outcome})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            raw.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    value = {"filename": value.filename, "data": value.file.read()}
                raw[key] = value
        return {key: _decode(key, value) for key, value in raw.items()}

    def _check_faults(self, method: str, params: dict[str, Any]) -> None:
        flood = self._floods.get(method.lower())
        if flood and flood[0] > 0:
            flood[0] -= 1
            raise ApiError(429, f"Too Many Requests: retry after {flood[1]}", {"retry_after": flood[1]})
        self._failure(method)
        if params.get("chat_id") in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _deliver_soon(self, update: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: dict[str, Any]) -> None:
        webhook = self._webhook
        assert webhook is not None and self._session is not None
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": webhook["secret_token"]} if webhook["secret_token"] else {}
        )
        self._in_flight += 1
        status: int | None = None
        error: str | None = None
        try:
            async with (
                self._webhook_slots,
                self._session.post(webhook["url"], json=update, headers=headers) as response,
            ):
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._in_flight -= 1
        if status != 200:
            self._webhook_error = (int(time.time()), error or f"Wrong response from the webhook: {status}")
        self.deliveries.append(Delivery(update["update_id"], status, time.monotonic(), error))
        self._deliveries_signal.fire()

    # ----------------------------------------------------------------- Bot API methods

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _set_allowed_updates(self, params: dict[str, Any]) -> None:
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"] or DEFAULT_UPDATE_TYPES)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: confirm updates below ``offset``, then wait up to ``timeout`` for new ones."""
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        self._set_allowed_updates(params)
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        self._poller += 1
        generation = self._poller
        self._updates_signal.fire()  # an earlier long poll still waiting ends with a conflict
        while True:
            if self._closing:
                return []
            if generation != self._poller:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                    "is running",
                )
            self._updates = [u for u in self._updates if _update_type(u) in self._allowed_updates]
            if self._updates:
                return self._updates[:limit]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self.long_polls_waiting += 1
            try:
                await self._updates_signal.wait(remaining)
            finally:
                self.long_polls_waiting -= 1

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._set_allowed_updates(params)
        if not url:
            self._webhook = None
            return True
        connections = int(params.get("max_connections") or 40)
        self._webhook = {"url": url, "secret_token": secret, "max_connections": connections}
        self._webhook_slots = asyncio.Semaphore(connections)
        self._webhook_error = None
        self._updates_signal.fire()  # a waiting getUpdates now conflicts with the webhook
        pending, self._updates = self._updates, []
        for update in pending:
            if _update_type(update) in self._allowed_updates:
                self._deliver_soon(update)
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates) + self._in_flight,
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook["max_connections"]
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    @staticmethod
    def _commands_key(scope: dict[str, Any] | None, language_code: str | None) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not _COMMAND.match(command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description must be 1-256 characters")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._commands.get(self._commands_key(params.get("scope"), params.get("language_code")), [])

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        kind = button.get("type")
        if kind == "web_app":
            url = str((button.get("web_app") or {}).get("url", ""))
            if not url.startswith("https://") or not 1 <= len(button.get("text", "")) <= 64:
                raise ApiError(400, "Bad Request: WEB_APP_URL_INVALID")
        elif kind not in ("default", "commands"):
            raise ApiError(400, "Bad Request: menu button type is invalid")
        self.menu_buttons[params.get("chat_id")] = button
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = params.get("chat_id")
        return self.menu_buttons.get(chat) or self.menu_buttons.get(None) or {"type": "default"}

    @staticmethod
    def _target_chat(params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    @staticmethod
    def _text(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The message text as Telegram shows it and its entities, after the parse mode."""
        source = str(params.get("text") or "")
        if (params.get("parse_mode") or "").lower() == "html":
            text, entities = parse_html(source)
        else:
            text, entities = source, list(params.get("entities") or [])
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT_UTF16:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
        """The inline keyboard to attach to the message (other keyboards are not part of a Message)."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _bot_message(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        if markup := self._inline_markup(params):
            content["reply_markup"] = markup
        reply = params.get("reply_parameters") or {}
        if original := self._messages.get(
            (chat_id, reply.get("message_id", params.get("reply_to_message_id")))
        ):
            content["reply_to_message"] = original
        return self._new_message(self._chat(chat_id), self.bot_user, content)

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._messages.get((self._target_chat(params), params.get("message_id")))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _replace(self, message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Store the edited message; Telegram refuses edits that change nothing."""
        edited = {key: value for key, value in message.items() if key not in ("entities", "reply_markup")}
        edited.update({key: value for key, value in changes.items() if value})
        if {key: value for key, value in edited.items() if key != "edit_date"} == {
            key: value for key, value in message.items() if key != "edit_date"
        }:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        edited["edit_date"] = int(time.time())
        self._messages[message["chat"]["id"], message["message_id"]] = edited
        return edited

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = self._text(params)
        return self._bot_message(params, {"text": text, **({"entities": entities} if entities else {})})

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        message = self._editable(params)
        text, entities = self._text(params)
        changes = {"text": text, "entities": entities, "reply_markup": self._inline_markup(params)}
        return self._replace(message, changes)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        message = self._editable(params)
        changes = {"entities": message.get("entities"), "reply_markup": self._inline_markup(params)}
        return self._replace(message, changes)

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        return True

    @staticmethod
    def _location(params: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong latitude or longitude") from None

    async def _send_venue(self, params: dict[str, Any]) -> dict[str, Any]:
        location = self._location(params)
        if not params.get("title") or not params.get("address"):
            raise ApiError(400, "Bad Request: venue title and address must be non-empty")
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        return self._bot_message(params, {"venue": venue, "location": location})

    async def _send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_message(params, {"location": self._location(params)})

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        if self._messages.pop((self._target_chat(params), params.get("message_id")), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    # ----------------------------------------------------------------- files: documents and photos
    # Users send documents (``document``); the bot downloads them (getFile, then GET /file/bot<token>/...)
    # and sends documents and photos of its own (sendDocument, sendPhoto; their bytes are in ``sent_files``).

    def _file_methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        self._files: dict[str, bytes] = {}
        self.sent_files: list[tuple[str, int, str, bytes]] = []
        """``(method, chat_id, file name, content)`` of every document and photo the bot sent."""
        return {
            "getFile": self._get_file,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
        }

    def document(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        mime_type: str = "application/x-yaml",
        caption: str | None = None,
        chat_id: int | None = None,
        **options: Any,
    ) -> int:
        """A user sends a file; the bot can fetch ``content`` through getFile and the file URL."""
        n = next(self._file_ids)
        file_id = f"document-{n}"
        self._files[file_id] = content
        document = {
            "file_id": file_id,
            "file_unique_id": f"ud-{n}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        body: dict[str, Any] = {"document": document}
        if caption:
            body["caption"] = caption
        return self._media(user_id, body, chat_id, **options)

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self._files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        content = self._files.get(request.match_info["path"].removeprefix("documents/"))
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content)

    def _sent_file(self, method: str, params: dict[str, Any], field: str) -> dict[str, Any]:
        upload = params.get(field)
        if not isinstance(upload, dict) or "data" not in upload:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        if (caption := params.get("caption")) and (params.get("parse_mode") or "").lower() == "html":
            parse_html(caption)
        chat_id = self._target_chat(params)
        self.sent_files.append((method, chat_id, upload["filename"] or "", upload["data"]))
        return upload

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        upload = self._sent_file("sendDocument", params, "document")
        n = next(self._file_ids)
        document = {
            "file_id": f"bot-document-{n}",
            "file_unique_id": f"ubd-{n}",
            "file_name": upload["filename"],
            "file_size": len(upload["data"]),
            "content_base64": base64.b64encode(upload["data"]).decode(),
        }
        content: dict[str, Any] = {"document": document}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._bot_message(params, content)

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        self._sent_file("sendPhoto", params, "photo")
        n = next(self._file_ids)
        photo = [{"file_id": f"bot-photo-{n}", "file_unique_id": f"ubp-{n}", "width": 800, "height": 420}]
        content: dict[str, Any] = {"photo": photo}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._bot_message(params, content)
