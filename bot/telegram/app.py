"""The one place that wires the Telegram application: settings, handlers, services, start and stop.

:func:`run_bot` is what ``summit-bot run`` calls: it builds the application with
:func:`build_application`, starts it with :func:`running` and waits for SIGINT or SIGTERM. Tests and
benchmarks use the same two functions.

Updates go through the durable inbox (``services(application).inbox``, started with the application):
polling stores each batch before confirming it; the webhook server calls
``updates.ingest_for(application)(update_json)`` and answers 200 when it returns.
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
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.app_context import load_engine, open_services
from bot.config import Settings
from bot.i18n import Translator
from bot.logs import hide_secret
from bot.services import Services
from bot.services.engine_holder import EngineHolder
from bot.storage.database import Database
from bot.telegram import (
    agenda,
    announce,
    ask,
    fallbacks,
    feedback,
    gate,
    knowledge,
    miniapp,
    nontext,
    private,
    retention,
    schedule,
    schedule_web,
    start,
    stats,
    transport,
    updates,
    venues,
    whoami,
)
from bot.telegram.bot_api import PTBTransport
from bot.telegram.common import SERVICES_KEY, attach, services
from bot.telegram.context import CONTEXT_TYPES
from bot.telegram.errors import on_error
from bot.telegram.http import AiohttpRequest, ApiContact
from bot.telegram.webserver import Health, Ingest, Webhook, WebServer, cancel, keep_in_touch
from index.engine import Engine

log = logging.getLogger(__name__)

Mode = Literal["polling", "webhook"]
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
COMMANDS = (
    "start",
    "agenda",
    "myagenda",
    "reminders",
    "venues",
    "transport",
    "subscribe",
    "unsubscribe",
    "language",
    "help",
)
MENU_LANGUAGES = ("th", "zh")
"""Languages with their own command menu; everyone else sees the English one."""
CONCURRENT_UPDATES = 256
"""Updates handled at once. Handlers keep no shared state besides the database, which serialises writes."""
CONNECTION_POOL = 8
"""HTTP keep-alive connections to the Bot API for sending (long polling has its own)."""
API_CONTACT_KEY = "api_contact"
POLLING_KEY = "polling"
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

    # Only the holder is kept (not ``engine``), so that the engine can be freed once a reload replaces it.
    holder = EngineHolder(engine)
    texts = Translator.load()

    async def on_start(application: Application) -> None:
        svc = await open_services(
            settings,
            holder,
            transport=PTBTransport(application.bot),
            handle_update=updates.handler(application),
            stop_markup=announce.stop_markup(texts),
            texts=texts,
        )
        attach(application, svc)
        await svc.announcements.recover()  # stops asked for while the bot was down, before resuming
        await svc.sender.start()
        svc.holder.add_listener(svc.agenda.on_engine)
        await svc.holder.announce_loaded()
        agenda.start_reminders(application)
        announce.schedule_ticks(application)
        assert svc.inbox is not None
        await svc.inbox.start()  # what a previous run stored but did not handle goes first
        await set_commands(application, services(application).texts)
        await miniapp.set_menu_button(application, settings)
        retention.schedule(application)
        schedule.start_sync(application)
        log.info(
            "bot @%s started: mode %s, index %s, %d knowledge entries",
            application.bot.username,
            mode,
            holder.current.version,
            len(holder.current.kb.by_id),
        )

    async def on_stop(application: Application) -> None:
        # Also runs when start-up failed before the services were attached.
        attached = application.bot_data.get(SERVICES_KEY)
        await schedule.stop_sync(application)
        if attached is not None:
            await attached.close()
        log.info("bot stopped")

    contact = ApiContact()
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(defaults)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(AiohttpRequest(CONNECTION_POOL, contact=contact))
        .get_updates_request(AiohttpRequest(1, contact=contact))
        .post_init(on_start)
        .post_shutdown(on_stop)
        .build()
    )
    application.add_handlers(gate.handlers(), group=gate.GROUP)
    # Staff commands and buttons only in a private chat: first in its group, before the follow-ups.
    application.add_handlers(private.handlers(), group=private.GROUP)
    for module in (start, whoami, agenda, venues, transport, feedback, ask):
        application.add_handlers(module.handlers())
    staff = private.Staff.of(settings)  # who may use staff commands, built once
    application.add_handlers(announce.handlers(staff.members))
    application.add_handlers(announce.follow_up_handlers(staff.members), group=announce.FOLLOW_UP_GROUP)
    # Staff-only commands and admins' uploads, restricted to the ids in the settings; before the
    # non-text hint, which would otherwise take the admins' documents.
    application.add_handlers(
        [*stats.handlers(staff.members), *schedule.handlers(staff.admins), *knowledge.handlers(staff.admins)]
    )
    application.add_handlers(nontext.handlers())
    application.add_handlers(fallbacks.handlers(COMMANDS))  # keep last: every real command and button wins
    application.add_error_handler(on_error)
    application.bot_data[API_CONTACT_KEY] = contact
    return application


def load_served_engine(settings: Settings) -> Engine:
    """The engine for the last knowledge version an admin applied, else for the shipped files."""
    return load_engine(settings)


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
    run) on WEBHOOK_LISTEN:WEBHOOK_PORT and registers the URL with Telegram; each update goes to
    ``ingest`` (by default the durable inbox, which stores it before the 200). Polling mode long-polls
    into the inbox (each batch stored before the next offset confirms it). In both modes ``/healthz``
    and ``/metrics`` are served on their own listener, METRICS_LISTEN:METRICS_PORT, when METRICS_PORT is
    set; with METRICS_TOKEN they need that bearer token, and webhook mode serves them beside the webhook
    too. What the public reaches besides the webhook, the programme's exports and calendar feeds
    (:mod:`bot.telegram.schedule_web`) and, with PUBLIC_URL set, the programme Mini App
    (:mod:`bot.telegram.miniapp`), is served on WEBHOOK_LISTEN:WEBHOOK_PORT: beside the webhook, or in
    polling mode on a server of its own when PUBLIC_URL is set. Yields the webhook's server in webhook
    mode, else the monitoring one, if any (its ``port`` is the bound one when the setting was 0).
    """
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        servers: list[WebServer] = []
        probe: asyncio.Task[None] | None = None
        polling: asyncio.Task[None] | None = None
        app_server: WebServer | None = None
        try:
            health = health_of(application)
            token = settings.metrics_token
            if settings.metrics_port is not None:
                listen, port = settings.metrics_listen, settings.metrics_port
                servers.append(WebServer(listen=listen, port=port, health=health, monitoring_token=token))
                await servers[-1].start()
            app_routes = miniapp.routes(
                application, settings, agenda.star_markup
            )  # the Mini App, when PUBLIC_URL is set
            # The programme's exports and calendar feeds, below PUBLIC_URL's path like the Mini App.
            programme = schedule_web.routes(
                lambda: application.bot_data.get(SERVICES_KEY), settings.public_path
            )
            if mode == "webhook":
                url = settings.require_webhook()
                secret = settings.webhook_secret or secrets.token_urlsafe(32)
                webhook = Webhook(settings.webhook_path, secret, ingest or updates.ingest_for(application))
                servers.insert(
                    0,
                    WebServer(
                        listen=settings.webhook_listen,
                        port=settings.webhook_port,
                        health=health,
                        webhook=webhook,
                        routes=[*app_routes, programme],
                        monitoring=token is not None,
                        monitoring_token=token,
                    ),
                )
                await servers[0].start()
                await application.bot.set_webhook(url, allowed_updates=ALLOWED_UPDATES, secret_token=secret)
            else:
                if app_routes:  # what the public reaches is served where the webhook would be
                    listen, port = settings.webhook_listen, settings.webhook_port
                    app_server = WebServer(
                        listen=listen,
                        port=port,
                        health=health,
                        routes=[*app_routes, programme],
                        monitoring=False,
                    )
                    await app_server.start()
                polling = await updates.start_polling(application, ALLOWED_UPDATES, timeout=poll_timeout)
                application.bot_data[POLLING_KEY] = polling
            if not any(server.monitoring for server in servers):
                log.info(
                    "/healthz and /metrics not served: set METRICS_PORT, or METRICS_TOKEN in webhook mode"
                )
            server = servers[0] if servers else None
            probe = asyncio.create_task(keep_in_touch(application.bot, application.bot_data[API_CONTACT_KEY]))
            yield server
        finally:
            await cancel(probe)
            if polling is not None:
                await updates.stop_polling(application, polling)
            for server in reversed(servers):
                await server.stop()
            if app_server is not None:
                await app_server.stop()
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
        del engine  # the application's engine holder owns it now, so a knowledge reload can free it
        async with running(application, settings, mode, ingest=ingest):
            waits = {asyncio.create_task(stop.wait())}
            polling = application.bot_data.get(POLLING_KEY)
            if polling is not None:
                waits.add(polling)  # polling only ends by itself on a fault it cannot get past
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                if task is not polling:
                    task.cancel()
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
    if settings.metrics_token:
        hide_secret(settings.metrics_token)
    if webhook:
        settings.require_webhook()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(settings, engine or load_served_engine(settings), "webhook" if webhook else "polling"))
