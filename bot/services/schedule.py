"""Programme imports through the knowledge proposals: a file, an upload in the chat, or ``SCHEDULE_URL``.

A programme becomes the knowledge file ``schedule.yaml`` of the served set (:mod:`bot.schedule.knowledge`),
and the set is proposed exactly like an admin's YAML upload: validated as a whole, compared entry by
entry, and applied only by an admin's Apply (or at once with ``SCHEDULE_AUTO_APPLY``). So versions,
rollback and the attendees' change alerts cover imported programmes too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.schedule.knowledge import SCHEDULE_FILE, ImportSummary, programme_documents
from bot.schedule.readers import read_programme
from bot.services.engine_holder import EngineHolder
from bot.services.knowledge import KnowledgeService, Preview
from index.types import Lang

log = logging.getLogger(__name__)

SCHEDULE_SUFFIXES = (".json", ".xml", ".csv", ".xlsx")
"""Uploads with these endings are programmes; ``.yaml`` files stay knowledge files."""


def is_programme_file(name: str) -> bool:
    return name.lower().endswith(SCHEDULE_SUFFIXES)


@dataclass(frozen=True)
class ImportPreview:
    """A proposal made from a programme (None when it changes nothing) and what the import wrote."""

    preview: Preview | None
    summary: ImportSummary


class ScheduleService:
    """Turns programme files into knowledge proposals; see the module docstring."""

    def __init__(
        self, knowledge: KnowledgeService, holder: EngineHolder, *, file_name: str = SCHEDULE_FILE
    ) -> None:
        self.knowledge = knowledge
        self.holder = holder
        self.file_name = file_name

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.holder.current.kb.event.timezone)

    async def propose(
        self, admin_id: int, name: str, data: bytes, lang: Lang, *, source: str = ""
    ) -> ImportPreview:
        """Read ``data`` (a programme file called ``name``) and propose the knowledge it gives.

        Raises :class:`~bot.schedule.model.ScheduleError` (every bad row, column or JSON path) or
        :class:`~index.knowledge.KnowledgeError` (the resulting set is invalid); nothing is stored then.
        """
        programme = await asyncio.to_thread(read_programme, name, data, self._zone())
        documents = await asyncio.to_thread(self.knowledge.current_documents)
        documents, summary = programme_documents(
            programme, documents, file_name=self.file_name, source=source or name
        )
        preview = await self.knowledge.propose_documents(
            admin_id, f"programme {source or name}", documents, lang
        )
        log.info(
            "programme %s read: %d sessions, %d new rooms; %s",
            source or name,
            summary.sessions,
            len(summary.new_rooms),
            "no change" if preview is None else f"proposal {preview.proposal_id}",
        )
        return ImportPreview(preview, summary)
