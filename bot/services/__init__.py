"""Plain services behind the Telegram handlers (no Telegram types here), bundled for injection."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.services.announcements import AnnouncementService
from bot.services.answering import AnsweringService
from bot.services.catalogue import Catalogue
from bot.services.feedback import FeedbackService
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
    sender: Sender | None = None
    """The one sender of outgoing messages; set by the Telegram layer, which supplies its transport."""
    announcements: AnnouncementService | None = None
    """Organisers' announcements; set with the sender, which delivers them."""

    @classmethod
    def create(
        cls, settings: Settings, engine: Engine, db: Database, texts: Translator | None = None
    ) -> Services:
        return cls(
            settings=settings,
            db=db,
            texts=texts or Translator.load(),
            users=UserService(db),
            answering=AnsweringService(engine, db),
            feedback=FeedbackService(db),
            catalogue=Catalogue(engine.kb),
        )

    async def close(self) -> None:
        """Finish the question batch in flight and the messages being sent, then close the database."""
        if self.sender is not None:
            await self.sender.stop()
        await self.answering.close()
        await self.db.close()
