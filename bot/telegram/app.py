"""The one place that wires the Telegram application: settings, handlers, services, start and stop.

:func:`run_bot` is what ``summit-bot run`` calls: it builds the application with
:func:`build_application`, starts it with :func:`running` and waits for SIGINT or SIGTERM. Tests and
benchmarks use the same two functions.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.config import Settings
from bot.i18n import Translator
from bot.logs import hide_secret
from bot.metrics import ENGINE
from bot.services import Services
from bot.storage.database import Database
from bot.telegram import agenda, ask, feedback, nontext, start, stats, transport, venues
from bot.telegram.common import SERVICES_KEY, attach, services
from bot.telegram.errors import on_error
from bot.telegram.http import AiohttpRequest, ApiContact
from bot.telegram.webserver import Health, Ingest, Webhook, WebServer, cancel, enqueue_to, keep_in_touch
from index.engine import Engine

log = logging.getLogger(__name__)

Mode = Literal["polling", "webhook"]
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
COMMANDS = ("start", "agenda", "venues", "transport", "language", "help")
MENU_LANGUAGES = ("th", "zh")
"""Languages with their own command menu; everyone else sees the English one."""
CONCURRENT_UPDATES = 256
"""Updates handled at once. Handlers keep no shared state besides the database, which serialises writes."""
CONNECTION_POOL = 8
"""HTTP keep-alive connections to the Bot API for sending (long polling has its own)."""
API_CONTACT_KEY = "api_contact"
"""``bot_data`` key of the :class:`ApiContact` shared by the application's transports."""
POLL_TIMEOUT = 10.0
"""Seconds a long-polling getUpdates call waits for updates."""


async def set_commands(application: Application, texts: Translator) -> None:
    """The command menu in English by default, and in Thai and Chinese for users with those settings."""

    def menu(lang: str) -> list[BotCommand]:
        return [BotCommand(name, texts(lang, f"commands.{name}")) for name in COMMANDS]  # type: ignore[arg-type]

    await application.bot.set_my_commands(menu("en"))
    for lang in MENU_LANGUAGES:
        await application.bot.set_my_commands(menu(lang), language_code=lang)


def build_application(settings: Settings, engine: Engine, mode: Mode = "polling") -> Application:
    """The bot's application with every handler; the database opens when it initialises."""

    async def on_start(application: Application) -> None:
        db = await Database.open(settings.database_path)
        attach(application, Services.create(settings, engine, db))
        await set_commands(application, services(application).texts)
        ENGINE.info(
            {"version": engine.version, "embedder": engine.embedder.id, "entries": str(len(engine.kb.by_id))}
        )
        log.info(
            "bot @%s started: mode %s, index %s, %d knowledge entries",
            application.bot.username,
            mode,
            engine.version,
            len(engine.kb.by_id),
        )

    async def on_stop(application: Application) -> None:
        # Also runs when start-up failed before the services were attached.
        attached = application.bot_data.get(SERVICES_KEY)
        if attached is not None:
            await attached.close()
        log.info("bot stopped")

    contact = ApiContact()
    rate_limiter = AIORateLimiter(overall_max_rate=settings.rate_limit_per_second, max_retries=1)
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(defaults)
        .rate_limiter(rate_limiter)
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(AiohttpRequest(CONNECTION_POOL, contact=contact))
        .get_updates_request(AiohttpRequest(1, contact=contact))
        .post_init(on_start)
        .post_shutdown(on_stop)
        .build()
    )
    for module in (start, agenda, venues, transport, feedback, stats, ask, nontext):
        application.add_handlers(module.handlers())
    application.add_error_handler(on_error)
    application.bot_data[API_CONTACT_KEY] = contact
    return application


def health_of(application: Application) -> Health:
    """The health check of a built application (its services are read at each check)."""

    def attached() -> Services | None:
        return application.bot_data.get(SERVICES_KEY)

    def engine() -> Engine | None:
        found = attached()
        return found.answering.engine if found else None

    def database() -> Database | None:
        found = attached()
        return found.db if found else None

    return Health(engine=engine, database=database, api=application.bot_data[API_CONTACT_KEY])


@asynccontextmanager
async def running(
    application: Application,
    settings: Settings,
    mode: Mode,
    *,
    ingest: Ingest | None = None,
    poll_timeout: float = POLL_TIMEOUT,
) -> AsyncIterator[WebServer | None]:
    """Start ``application`` and its update source; stop everything in reverse order on leaving.

    Webhook mode serves the webhook (path of WEBHOOK_URL, secret WEBHOOK_SECRET or a random one for this
    run), ``/healthz`` and ``/metrics`` on WEBHOOK_LISTEN:WEBHOOK_PORT and registers the URL with
    Telegram; each update goes to ``ingest`` (by default the application's queue). Polling mode long-polls
    and serves ``/healthz`` and ``/metrics`` on METRICS_LISTEN:METRICS_PORT when METRICS_PORT is set.
    Yields the HTTP server, if any (its ``port`` is the bound one when the setting was 0).
    """
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        server: WebServer | None = None
        probe: asyncio.Task[None] | None = None
        try:
            health = health_of(application)
            if mode == "webhook":
                url = settings.require_webhook()
                secret = settings.webhook_secret or secrets.token_urlsafe(32)
                webhook = Webhook(settings.webhook_path, secret, ingest or enqueue_to(application))
                server = WebServer(
                    listen=settings.webhook_listen, port=settings.webhook_port, health=health, webhook=webhook
                )
                await server.start()
                await application.bot.set_webhook(url, allowed_updates=ALLOWED_UPDATES, secret_token=secret)
            else:
                if settings.metrics_port is not None:
                    listen, port = settings.metrics_listen, settings.metrics_port
                    server = WebServer(listen=listen, port=port, health=health)
                    await server.start()
                assert application.updater is not None
                await application.updater.start_polling(
                    poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
            probe = asyncio.create_task(keep_in_touch(application.bot, application.bot_data[API_CONTACT_KEY]))
            yield server
        finally:
            await cancel(probe)
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if server is not None:
                await server.stop()
            if application.running:
                await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def serve(
    settings: Settings,
    engine: Engine,
    mode: Mode,
    stop: asyncio.Event | None = None,
    ingest: Ingest | None = None,
) -> None:
    """Run the bot until SIGINT or SIGTERM (or until ``stop`` is set), then stop it cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    try:
        application = build_application(settings, engine, mode)
        async with running(application, settings, mode, ingest=ingest):
            await stop.wait()
            log.info("stopping")
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def run_bot(settings: Settings, webhook: bool = False, engine: Engine | None = None) -> None:
    """Run the bot until interrupted: long polling, or a webhook server when ``webhook`` is true.

    Raises :class:`bot.config.ConfigError` when the token (or, for a webhook, its URL) is missing.
    The webhook checks Telegram's secret token header on every request; without WEBHOOK_SECRET a random
    secret is made for this run. See :func:`running` for what is served where.
    """
    hide_secret(settings.require_token())
    if webhook:
        settings.require_webhook()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or Engine.load(settings.knowledge_dir, settings.data_dir, settings.embedding_model)
    asyncio.run(serve(settings, engine, "webhook" if webhook else "polling"))
