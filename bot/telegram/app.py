"""The one place that wires the Telegram application: settings, handlers, services, start and stop.

:func:`run_bot` is what ``summit-bot run`` calls; :func:`build_application` gives the same application
to tests and benchmarks, which start polling (:mod:`bot.telegram.updates`) or a webhook themselves.

Updates go through the durable inbox (``services(application).inbox``, started with the application):
polling stores each batch before confirming it; a webhook server calls
``updates.ingest_for(application)(update_json)`` and answers 200 when it returns.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from typing import Literal

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Settings
from bot.delivery.inbox import UpdateInbox
from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.logs import hide_secret
from bot.services import Services
from bot.storage.database import Database
from bot.storage.delivery_schema import Inbox, Outbox
from bot.telegram import agenda, ask, feedback, nontext, start, stats, transport, updates, venues
from bot.telegram.bot_api import PTBTransport
from bot.telegram.common import SERVICES_KEY, attach, register_sender, services
from bot.telegram.errors import on_error
from bot.telegram.http import AiohttpRequest
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
        svc = Services.create(settings, engine, db)
        svc.sender = Sender(
            Outbox(db),
            PTBTransport(application.bot),
            rate=settings.rate_limit_per_second,
            on_blocked=svc.users.mark_blocked,
        )
        svc.inbox = UpdateInbox(Inbox(db), updates.handler(application), concurrency=CONCURRENT_UPDATES)
        attach(application, svc)
        register_sender(application.bot, svc.sender)
        await svc.sender.start()
        await svc.inbox.start()  # what a previous run stored but did not handle goes first
        await set_commands(application, services(application).texts)
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
            register_sender(application.bot, None)
            await attached.close()
        log.info("bot stopped")

    queue = updates.StoringQueue()
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(defaults)
        .concurrent_updates(CONCURRENT_UPDATES)
        .update_queue(queue)
        .request(AiohttpRequest(CONNECTION_POOL))
        .get_updates_request(AiohttpRequest(1))
        .post_init(on_start)
        .post_shutdown(on_stop)
        .build()
    )
    queue.ingest = updates.ingest_for(application)
    for module in (start, agenda, venues, transport, feedback, stats, ask, nontext):
        application.add_handlers(module.handlers())
    application.add_error_handler(on_error)
    return application


def run_bot(settings: Settings, webhook: bool = False, engine: Engine | None = None) -> None:
    """Run the bot until interrupted: long polling, or a webhook server when ``webhook`` is true.

    Raises :class:`bot.config.ConfigError` when the token (or, for a webhook, its URL) is missing.
    The webhook checks Telegram's secret token header on every request; without WEBHOOK_SECRET a random
    secret is made for this run. Either way every update is stored in the inbox before Telegram is told
    it arrived (PTB's webhook server through the application's :class:`~bot.telegram.updates.StoringQueue`).
    """
    hide_secret(settings.require_token())
    if webhook:
        settings.require_webhook()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or Engine.load(settings.knowledge_dir, settings.data_dir, settings.embedding_model)
    application = build_application(settings, engine, "webhook" if webhook else "polling")
    if webhook:
        log.info("webhook server on %s:%d", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret or secrets.token_urlsafe(32),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        asyncio.run(run_polling(application))


async def run_polling(application: Application) -> None:
    """Start the application, poll into its inbox until SIGINT or SIGTERM, then stop it in order: no
    more polling, the updates being handled finish, the sender stops, the database closes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    polling: asyncio.Task[None] | None = None
    try:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        polling = await updates.start_polling(application, ALLOWED_UPDATES)
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if polling.done() and not polling.cancelled() and polling.exception() is not None:
            raise polling.exception()  # type: ignore[misc]
    finally:
        try:
            if polling is not None:
                await updates.stop_polling(application, polling)
            if application.running:
                await application.stop()
            await application.shutdown()
        finally:
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
