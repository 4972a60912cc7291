"""Plain services behind the Telegram handlers (no Telegram types here), bundled for injection."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.i18n import Translator
from bot.services.answering import AnsweringService
from bot.services.catalogue import Catalogue
from bot.services.engine_holder import EngineHolder
from bot.services.feedback import FeedbackService
from bot.services.insights import AdminConfig, InsightsService
from bot.services.knowledge import KnowledgeService
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
    holder: EngineHolder
    """The engine being served; answering and the catalogue read it per request, a reload swaps it."""
    knowledge: KnowledgeService
    insights: InsightsService

    @classmethod
    def create(
        cls,
        settings: Settings,
        engine: Engine | EngineHolder,
        db: Database,
        texts: Translator | None = None,
    ) -> Services:
        holder = engine if isinstance(engine, EngineHolder) else EngineHolder(engine)
        answering = AnsweringService(holder, db)
        config = AdminConfig.load()
        return cls(
            settings=settings,
            db=db,
            texts=texts or Translator.load(),
            users=UserService(db),
            answering=answering,
            feedback=FeedbackService(db),
            catalogue=Catalogue(holder),
            holder=holder,
            knowledge=KnowledgeService(
                holder,
                db,
                settings.data_dir,
                settings.knowledge_dir,
                max_upload_bytes=config.upload_max_bytes,
            ),
            insights=InsightsService(db, holder, config),
        )

    async def close(self) -> None:
        """Finish the question batch in flight, then close the database."""
        await self.answering.close()
        await self.db.close()
