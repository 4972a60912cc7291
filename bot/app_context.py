"""The one composition root: settings, database, engine holder, services and sender, built one way.

``summit-bot run`` (through :mod:`bot.telegram.app`) and every other command of :mod:`bot.cli` get what
they use from here:

- :func:`load_settings`: the settings from the environment and ``.env``, with a command's options
  (``--data-dir``, ``--knowledge``, ``--model``) laid over them; the one way to find the data directory.
- :func:`served_knowledge` and :func:`load_engine`: the knowledge being served, which is the version an
  admin last applied in the running bot (see :mod:`bot.storage.knowledge_versions`), else the shipped
  files; so ``summit-bot ask`` answers from what the bot answers from.
- :func:`open_services`: the database and every service on it, the sender included, complete. The
  running bot gives the sender its Bot API transport and the inbox its update handler; a command gives
  neither, and its sender only stores (the running bot sends).

Nothing here imports Telegram: the Telegram layer hands in what only it can make.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.delivery.inbox import Handle, UpdateInbox
from bot.delivery.sender import Sender
from bot.delivery.transport import Transport, Unavailable
from bot.i18n import Translator
from bot.services import Services
from bot.services.agenda import AgendaService
from bot.services.announcements import AnnouncementService, Markup
from bot.services.answering import AnsweringService
from bot.services.calendar_feed import CalendarFeeds
from bot.services.catalogue import Catalogue
from bot.services.engine_holder import EngineHolder
from bot.services.feedback import FeedbackService
from bot.services.insights import AdminConfig, InsightsService
from bot.services.knowledge import KnowledgeService
from bot.services.privacy import PrivacyService
from bot.services.question_queue import QuestionQueue
from bot.services.ratelimit import QuestionRateLimiter
from bot.services.schedule import ScheduleService
from bot.services.users import UserService
from bot.storage.database import Database
from bot.storage.knowledge_versions import VersionInfo, served_directory
from index.engine import Engine

log = logging.getLogger(__name__)

INBOX_CONCURRENCY = 256
"""Updates handled at once by the running bot's inbox."""


class NoDatabase(FileNotFoundError):
    """A command that only reads found no database: the bot never ran with this data directory."""


class StoreOnly:
    """The transport of a command's sender: it never sends (the running bot sends what is stored)."""

    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        raise Unavailable("the command line does not send; the running bot does")


def load_settings(
    *,
    data_dir: Path | None = None,
    knowledge_dir: Path | None = None,
    embedding_model: str | None = None,
    require_token: bool = False,
) -> Settings:
    """The settings (environment and ``.env``), with the options a command was given laid over them.

    Raises :class:`bot.config.ConfigError` with every problem at once.
    """
    settings = Settings.from_env(require_token=require_token)
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if knowledge_dir is not None:
        overrides["knowledge_dir"] = knowledge_dir
    if embedding_model is not None:
        overrides["embedding_model"] = embedding_model
    return dataclasses.replace(settings, **overrides) if overrides else settings


def served_knowledge(settings: Settings) -> tuple[Path, VersionInfo | None]:
    """The knowledge directory being served and its applied version (None: the shipped files)."""
    return served_directory(settings.data_dir, settings.knowledge_dir)


def load_engine(
    settings: Settings,
    *,
    knowledge_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Engine:
    """The engine of the knowledge being served (or of ``knowledge_dir``, when one is named)."""
    if knowledge_dir is None:
        directory, version = served_knowledge(settings)
        log.info("serving knowledge %s from %s", version.id if version else "as shipped", directory)
    else:
        directory = knowledge_dir
    return Engine.load(directory, settings.data_dir, settings.embedding_model, progress=progress)


def event_timezone(holder: EngineHolder, settings: Settings) -> str:
    """The event's time zone, from the engine when it is loaded, else from the served knowledge files
    (without building the index)."""
    if holder.loaded:
        return holder.current.kb.event.timezone
    from index.knowledge import load_knowledge

    return load_knowledge(served_knowledge(settings)[0]).event.timezone


async def open_services(
    settings: Settings,
    engine: Engine | EngineHolder | None = None,
    *,
    transport: Transport | None = None,
    handle_update: Handle | None = None,
    stop_markup: Markup | None = None,
    texts: Translator | None = None,
    must_exist: bool = False,
) -> Services:
    """Open the database and build every service on it, complete.

    ``engine`` is the engine (or holder) to serve; without one, the served knowledge's engine is loaded
    the first time a service reads it. ``transport`` is the Bot API of the running bot (a command's
    sender only stores); ``handle_update`` gives the running bot its durable inbox; ``stop_markup`` the
    buttons under an announcement's progress. ``must_exist``: raise :class:`NoDatabase` instead of
    creating an empty database.
    """
    if isinstance(engine, EngineHolder):
        holder = engine
    elif engine is not None:
        holder = EngineHolder(engine)
    else:
        holder = EngineHolder(loader=lambda: load_engine(settings))
    if must_exist and not settings.database_path.exists():
        raise NoDatabase(f"no database at {settings.database_path}")
    texts = texts or Translator.load()
    config = AdminConfig.load()
    db = await Database.open(settings.database_path)
    try:
        users = UserService(db)
        sender = Sender(
            db.outbox,
            transport or StoreOnly(),
            rate=settings.rate_limit_per_second,
            chat_rate=settings.chat_rate_per_second,
            on_blocked=users.mark_blocked,
        )
        question_rate = QuestionRateLimiter(
            settings.question_rate_limit, timedelta(seconds=settings.question_rate_window)
        )
        agenda = AgendaService(db, lambda: holder.current.kb, texts, sender=sender)
        knowledge = KnowledgeService(
            holder,
            db,
            settings.data_dir,
            settings.knowledge_dir,
            max_upload_bytes=config.upload_max_bytes,
            mass_removal_share=config.mass_removal_share,
        )
        announcements = AnnouncementService(
            db, sender, texts, lambda: event_timezone(holder, settings), stop_markup=stop_markup
        )
        inbox = (
            UpdateInbox(
                db.inbox, handle_update, concurrency=INBOX_CONCURRENCY, grace=settings.shutdown_grace_seconds
            )
            if handle_update is not None
            else None
        )
        return Services(
            settings=settings,
            db=db,
            texts=texts,
            users=users,
            answering=AnsweringService(holder, db),
            feedback=FeedbackService(db),
            catalogue=Catalogue(holder),
            question_rate=question_rate,
            question_queue=QuestionQueue(question_rate, settings.question_backlog),
            privacy=PrivacyService(db, timedelta(days=settings.question_retention_days)),
            holder=holder,
            agenda=agenda,
            knowledge=knowledge,
            insights=InsightsService(db, holder, config),
            sender=sender,
            announcements=announcements,
            schedule=ScheduleService(knowledge, holder),
            calendar_feeds=CalendarFeeds(db, agenda),
            inbox=inbox,
        )
    except BaseException:
        await db.close()
        raise


@asynccontextmanager
async def services_for(settings: Settings, **options: Any) -> AsyncIterator[Services]:
    """:func:`open_services` for a command: closed (database included) on leaving."""
    svc = await open_services(settings, **options)
    try:
        yield svc
    finally:
        await svc.close()
