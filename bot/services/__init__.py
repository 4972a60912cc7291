"""Plain services behind the Telegram handlers (no Telegram types here), bundled for injection."""

from __future__ import annotations

from dataclasses import dataclass

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
from bot.services.insights import InsightsService
from bot.services.knowledge import KnowledgeService
from bot.services.privacy import PrivacyService
from bot.services.question_queue import QuestionQueue
from bot.services.ratelimit import QuestionRateLimiter
from bot.services.schedule import ScheduleService
from bot.services.users import UserService
from bot.storage.database import Database


@dataclass
class Services:
    """Everything a handler or a command may use; built complete by :mod:`bot.app_context`."""

    settings: Settings
    db: Database
    texts: Translator
    users: UserService
    answering: AnsweringService
    feedback: FeedbackService
    catalogue: Catalogue
    question_rate: QuestionRateLimiter
    question_queue: QuestionQueue
    """Each user's questions in order, within ``question_rate``."""
    privacy: PrivacyService
    holder: EngineHolder
    """The engine being served; answering and the catalogue read it per request, a reload swaps it."""
    agenda: AgendaService
    knowledge: KnowledgeService
    insights: InsightsService
    sender: Sender
    """The one sender of outgoing messages (started only by the running bot)."""
    announcements: AnnouncementService
    """Organisers' announcements, delivered by the sender."""
    schedule: ScheduleService
    """Programme imports (uploads, SCHEDULE_URL) through the knowledge proposals."""
    calendar_feeds: CalendarFeeds
    """Attendees' personal calendar links."""
    inbox: UpdateInbox | None = None
    """The durable inbox of incoming updates; only the running bot has one."""

    async def close(self) -> None:
        """Finish the updates being handled, the question batch in flight and the messages being sent,
        then close the database."""
        if self.inbox is not None:
            await self.inbox.stop()
        await self.sender.stop()
        await self.answering.close()
        await self.db.close()
