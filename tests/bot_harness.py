"""Running the real bot application against the local Bot API fake (tests and ``bench/bot_load.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import os
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botapi_fake import Call, FakeBotApi
from telegram.ext import Application

from bot.config import Settings, settings_from
from bot.services import Services
from bot.telegram.app import Mode, build_application, running
from bot.telegram.common import services
from bot.telegram.webserver import Ingest
from index.engine import Engine

WEBHOOK_SECRET = "e2e-secret_token"
TEST_SETTINGS = {"TELEGRAM_CHAT_RATE": "50"}
"""What every bot in the tests runs with unless a test says otherwise: the fake Bot API takes any number
of messages a second to one chat, so replies to one user are not spaced a second apart (the scheduler's
tests keep Telegram's own pace, one a second, on a fake clock)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_for(fake: FakeBotApi, data_dir: Path, **env: str) -> Settings:
    """Bot settings that point at ``fake`` and keep the database in ``data_dir``."""
    return settings_from(
        {
            **TEST_SETTINGS,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "SUMMIT_BOT_DATA_DIR": str(data_dir),
            **env,
        }
    )


@asynccontextmanager
async def running_bot(
    settings: Settings,
    engine: Engine,
    mode: Mode = "polling",
    webhook_port: int | None = None,
    ingest: Ingest | None = None,
) -> AsyncIterator[Application]:
    """Start the application the way ``run_bot`` does (:func:`bot.telegram.app.running`), stop it afterwards.

    In webhook mode the bot's web server listens on 127.0.0.1:``webhook_port`` (path ``/telegram``) with
    the secret token :data:`WEBHOOK_SECRET`, and registers itself with the fake through setWebhook;
    ``ingest`` replaces the default hand-over of webhook updates to the application. Long polling waits
    at most a second per getUpdates call.
    """
    if mode == "webhook":
        port = webhook_port or free_port()
        settings = dataclasses.replace(
            settings,
            webhook_listen="127.0.0.1",
            webhook_port=port,
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            webhook_secret=WEBHOOK_SECRET,
        )
    application = build_application(settings, engine, mode)
    async with running(application, settings, mode, ingest=ingest, poll_timeout=1):
        yield application


FIXTURE_KNOWLEDGE = Path(__file__).parent / "fixtures" / "knowledge"


ROOT = Path(__file__).resolve().parents[1]


def bot_environment(
    fake: FakeBotApi, data_dir: Path, knowledge: Path | None = FIXTURE_KNOWLEDGE, **env: str
) -> dict[str, str]:
    """The environment an operator gives ``summit-bot`` to use ``fake`` and ``data_dir``: the small test
    knowledge, or with ``knowledge=None`` the default one, and ``env`` on top."""
    settings = {
        **os.environ,
        **TEST_SETTINGS,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake.port}",
        "SUMMIT_BOT_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
    }
    if knowledge is not None:
        settings["KNOWLEDGE_DIR"] = str(knowledge)
    return {**settings, **env}


async def start_bot_process(
    fake: FakeBotApi,
    data_dir: Path,
    log_path: Path,
    knowledge: Path | None = FIXTURE_KNOWLEDGE,
    cwd: Path = ROOT,
    **env: str,
) -> asyncio.subprocess.Process:
    """``python -m bot run`` in its own process against ``fake``, as an operator starts it (settings from
    :func:`bot_environment`, working directory ``cwd``), its output and log in ``log_path``.
    """
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=cwd,
            env=bot_environment(fake, data_dir, knowledge, **env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


def settled(data_dir: Path) -> bool:
    """Whether the database of a bot running in another process on ``data_dir`` holds no update left to
    handle and no message left to send (nothing more can reach the Bot API unless something new comes)."""
    with contextlib.closing(sqlite3.connect(data_dir / "bot.sqlite3")) as db:
        unhandled = db.execute("SELECT count(*) FROM inbox WHERE handled_at IS NULL").fetchone()[0]
        pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    return unhandled == 0 and pending == 0


async def bot_command(env: dict[str, str], *args: str) -> str:
    """``python -m bot ARGS`` with the environment ``env``; its output (it must succeed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, out.decode()
    return out.decode()


# --------------------------------------------------------------------------- driving a running bot


def buttons(call: Call) -> list[tuple[str, str]]:
    """The inline buttons of a message the bot sent or edited: (label, callback data), row after row."""
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def until(check: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait until ``check()`` (a plain or an async function) is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


@dataclass
class BotDriver:
    """Users talking to a running bot through the fake: what they send, and what the bot does after it.

    ``replies`` are the methods that count as the bot's reply to a message (:meth:`say`); ``timeout`` is
    how long to wait for one.
    """

    fake: FakeBotApi
    app: Application
    replies: tuple[str, ...] = ("sendMessage",)
    timeout: float = 10.0

    @property
    def services(self) -> Services:
        return services(self.app)

    async def after(
        self,
        update_id: int,
        chat_id: int,
        reply: str | tuple[str, ...] | None = None,
        contains: str = "",
    ) -> Call:
        """The bot's first call accepted after the update came in: ``reply`` (a method, by default one of
        :attr:`replies`) in the chat, with ``contains`` in its text."""
        methods = self.replies if reply is None else (reply,) if isinstance(reply, str) else reply
        at = self.fake.injected_at(update_id)
        return await self.fake.wait_for(
            lambda c: (
                c.ok
                and c.at >= at
                and c.chat_id == chat_id
                and c.method in methods
                and contains in str(c.params.get("text", ""))
            ),
            self.timeout,
        )

    async def say(self, user_id: int, text: str, *, contains: str = "", **options: Any) -> Call:
        """A message from the user (``options`` as for :meth:`FakeBotApi.user_message`); the bot's reply
        in that chat."""
        chat_id = options.get("chat_id") or user_id
        return await self.after(self.fake.user_message(user_id, text, **options), chat_id, contains=contains)

    async def upload(self, user_id: int, name: str, content: str | bytes) -> Call:
        """A document from the user (text is sent as UTF-8); the bot's reply."""
        data = content.encode() if isinstance(content, str) else content
        return await self.after(self.fake.document(user_id, name, data), user_id)

    def latest_message_id(self, chat_id: int) -> int:
        """The id of the bot's latest message in the chat."""
        return self.fake.bot_messages(chat_id)[-1]["message_id"]

    def tap(self, user_id: int, data: str, message_id: int | None = None, **options: Any) -> int:
        """A press on a button with ``data`` under the bot's message (by default its latest one in the
        user's chat); the update's id."""
        if message_id is None:
            message_id = self.latest_message_id(options.get("chat_id") or user_id)
        return self.fake.callback(user_id, data, message_id=message_id, **options)

    async def answer_to(self, update_id: int, user_id: int) -> Call:
        """The answerCallbackQuery for the user's press that came in as ``update_id``."""
        at = self.fake.injected_at(update_id)
        return await self.fake.wait_for(
            lambda c: (
                c.ok
                and c.at >= at
                and c.method == "answerCallbackQuery"
                and c.params["callback_query_id"].startswith(f"{user_id}-")
            ),
            self.timeout,
        )

    async def press(
        self,
        user_id: int,
        data: str,
        message_id: int | None = None,
        reply: str = "sendMessage",
        *,
        contains: str = "",
        **options: Any,
    ) -> Call:
        """A button press (see :meth:`tap`); the bot's next ``reply`` in the user's chat."""
        update_id = self.tap(user_id, data, message_id, **options)
        return await self.after(update_id, user_id, reply, contains)

    async def ack(self, user_id: int, data: str, message_id: int | None = None, **options: Any) -> Call:
        """A button press (see :meth:`tap`); the answerCallbackQuery that acknowledged it."""
        return await self.answer_to(self.tap(user_id, data, message_id, **options), user_id)

    async def ack_and_reply(self, user_id: int, data: str, reply: str) -> tuple[Call, Call]:
        """A press under the bot's latest message: its answerCallbackQuery and the ``reply`` after it."""
        update_id = self.tap(user_id, data)
        return await self.answer_to(update_id, user_id), await self.after(update_id, user_id, reply)

    def messages_to(self, chat_id: int, containing: str = "", since: float = 0.0) -> list[Call]:
        """The messages the bot sent to the chat (since ``since``, with ``containing`` in the text)."""
        return [
            c
            for c in self.fake.calls
            if c.ok
            and c.method == "sendMessage"
            and c.chat_id == chat_id
            and c.at >= since
            and containing in c.params["text"]
        ]

    def texts_to(self, chat_id: int, since: float = 0.0) -> list[str]:
        return [c.params["text"] for c in self.messages_to(chat_id, since=since)]

    async def message_to(self, chat_id: int, containing: str, timeout: float | None = None) -> Call:
        """The first message the bot sent (or sends) to the chat with ``containing`` in its text."""
        return await self.fake.wait_for(
            lambda c: (
                c.ok and c.method == "sendMessage" and c.chat_id == chat_id and containing in c.params["text"]
            ),
            timeout or self.timeout,
        )

    async def quiet(self, chat_id: int, seconds: float = 0.6) -> list[Call]:
        """Every call to the chat over the next ``seconds`` (to check that the bot stays quiet)."""
        start = time.monotonic()
        await asyncio.sleep(seconds)
        return [c for c in self.fake.calls if c.at >= start and c.chat_id == chat_id]

    async def blocked(self, user_id: int) -> bool:
        """Whether the bot has recorded that the user blocked it."""
        user = await self.services.db.users.get_user(user_id)
        return user is not None and user.blocked


@asynccontextmanager
async def driving(
    engine: Engine, data_dir: Path, mode: Mode = "polling", fake: FakeBotApi | None = None, **env: str
) -> AsyncIterator[BotDriver]:
    """A fake Bot API (or ``fake``) and the bot running against it with ``env`` as settings."""
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(FakeBotApi())
        settings = settings_for(fake, data_dir, **env)
        app = await stack.enter_async_context(running_bot(settings, engine, mode))
        yield BotDriver(fake, app)
