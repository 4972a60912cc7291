"""Plain services behind the Telegram handlers (no Telegram types here), bundled for injection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.config import Settings
from bot.delivery.inbox import UpdateInbox
from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.services.agenda import AgendaService
from bot.services.announcements import AnnouncementService
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
from index.engine import Engine


@dataclass
class Services:
    """Everything a handler may use; built once when the bot starts."""

    settings: Settings
    db: Database
    texts: Translator
    users: UserService
    answering: AnsweringService
    feedback: FeedbackService
    catalogue: Catalogue
    question_rate: QuestionRateLimiter
    privacy: PrivacyService
    holder: EngineHolder
    """The engine being served; answering and the catalogue read it per request, a reload swaps it."""
    agenda: AgendaService
    knowledge: KnowledgeService
    insights: InsightsService
    sender: Sender | None = None
    """The one sender of outgoing messages; set by the Telegram layer, which supplies its transport."""
    inbox: UpdateInbox | None = None
    """The durable inbox of incoming updates; set by the Telegram layer, which supplies their handler."""
    announcements: AnnouncementService | None = None
    """Organisers' announcements; set with the sender, which delivers them."""
    schedule: ScheduleService | None = None
    """Programme imports (uploads, SCHEDULE_URL) through the knowledge proposals."""
    calendar_feeds: CalendarFeeds | None = None
    """Attendees' personal calendar links."""
    question_queue: QuestionQueue = None  # type: ignore[assignment]  # made from question_rate when None
    """Each user's questions in order, within ``question_rate``."""

    def __post_init__(self) -> None:
        if self.question_queue is None:
            self.question_queue = QuestionQueue(self.question_rate, self.settings.question_backlog)

    @classmethod
    def create(
        cls,
        settings: Settings,
        engine: Engine | EngineHolder,
        db: Database,
        texts: Translator | None = None,
    ) -> Services:
        texts = texts or Translator.load()
        holder = engine if isinstance(engine, EngineHolder) else EngineHolder(engine)
        answering = AnsweringService(holder, db)
        config = AdminConfig.load()
        svc = cls(
            settings=settings,
            db=db,
            texts=texts,
            users=UserService(db),
            answering=answering,
            feedback=FeedbackService(db),
            catalogue=Catalogue(holder),
            question_rate=QuestionRateLimiter(
                settings.question_rate_limit, timedelta(seconds=settings.question_rate_window)
            ),
            privacy=PrivacyService(db, timedelta(days=settings.question_retention_days)),
            holder=holder,
            agenda=AgendaService(db, lambda: holder.current.kb, texts),
            knowledge=KnowledgeService(
                holder,
                db,
                settings.data_dir,
                settings.knowledge_dir,
                max_upload_bytes=config.upload_max_bytes,
                mass_removal_share=config.mass_removal_share,
            ),
            insights=InsightsService(db, holder, config),
        )
        svc.schedule = ScheduleService(svc.knowledge, holder)
        svc.calendar_feeds = CalendarFeeds(db, svc.agenda)
        return svc

    async def close(self) -> None:
        """Finish the updates being handled, the question batch in flight and the messages being sent,
        then close the database."""
        if self.inbox is not None:
            await self.inbox.stop()
        if self.sender is not None:
            await self.sender.stop()
        await self.answering.close()
        await self.db.close()
