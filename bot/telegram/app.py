"""The one place that wires the Telegram application: settings, handlers, services, start and stop.

:func:`run_bot` is what ``summit-bot run`` calls; :func:`build_application` gives the same application
to tests and benchmarks, which drive its updater themselves.
"""

from __future__ import annotations

import logging
import secrets
from typing import Literal

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.logs import hide_secret
from bot.services import Services
from bot.storage.database import Database
from bot.storage.delivery_schema import Outbox
from bot.telegram import agenda, announce, ask, feedback, nontext, start, stats, transport, venues
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
        attach(application, svc)
        register_sender(application.bot, svc.sender)
        svc.announcements = announce.create_service(svc, engine.kb.event.timezone)
        await svc.announcements.recover()  # stops asked for while the bot was down, before resuming
        await svc.sender.start()
        announce.schedule_ticks(application)
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

    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(defaults)
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(AiohttpRequest(CONNECTION_POOL))
        .get_updates_request(AiohttpRequest(1))
        .post_init(on_start)
        .post_shutdown(on_stop)
        .build()
    )
    for module in (start, agenda, venues, transport, feedback, stats, ask, nontext):
        application.add_handlers(module.handlers())
    application.add_handlers(announce.handlers(settings))
    application.add_handlers(announce.follow_up_handlers(settings), group=announce.FOLLOW_UP_GROUP)
    application.add_error_handler(on_error)
    return application


def run_bot(settings: Settings, webhook: bool = False, engine: Engine | None = None) -> None:
    """Run the bot until interrupted: long polling, or a webhook server when ``webhook`` is true.

    Raises :class:`bot.config.ConfigError` when the token (or, for a webhook, its URL) is missing.
    The webhook checks Telegram's secret token header on every request; without WEBHOOK_SECRET a random
    secret is made for this run.
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
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
