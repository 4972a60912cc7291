"""Running the real bot application against the local Bot API fake (tests and ``bench/bot_load.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from botapi_fake import FakeBotApi
from telegram.ext import Application

from bot.config import Settings, settings_from
from bot.telegram.app import Mode, build_application, running
from bot.telegram.webserver import Ingest
from index.engine import Engine

WEBHOOK_SECRET = "e2e-secret_token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_for(fake: FakeBotApi, data_dir: Path, **env: str) -> Settings:
    """Bot settings that point at ``fake`` and keep the database in ``data_dir``."""
    return settings_from(
        {
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


async def start_bot_process(
    fake: FakeBotApi, data_dir: Path, log_path: Path, **env: str
) -> asyncio.subprocess.Process:
    """``python -m bot run`` in its own process against ``fake``, as an operator starts it (settings from
    the environment; the small test knowledge unless ``KNOWLEDGE_DIR`` is given), its log in ``log_path``.
    """
    settings = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake.port}",
        "SUMMIT_BOT_DATA_DIR": str(data_dir),
        "KNOWLEDGE_DIR": str(FIXTURE_KNOWLEDGE),
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=Path(__file__).resolve().parents[1],
            env=settings,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
