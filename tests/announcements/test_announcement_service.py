"""The announcement service on its own: real SQLite, the real sender over a recording transport, a clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.services.announcements import AnnouncementError, AnnouncementService
from bot.storage.announcements import Version
from bot.storage.database import Database
from bot.storage.delivery import Outbox

AUTHOR = 77


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._ids = 0

    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        self.calls.append((method, params))
        self._ids += 1
        return self._ids


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2023, 11, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[AnnouncementService, Database, Recorder, Clock]]:
    db = await Database.open(tmp_path / "bot.sqlite3")
    for user_id, lang in ((1, "en"), (2, "th"), (3, "zh"), (AUTHOR, "en")):
        await db.users.touch_user(user_id, lang)
    transport, clock = Recorder(), Clock()
    sender = Sender(Outbox(db), transport, rate=0)
    service = AnnouncementService(db, sender, Translator.load(), "Asia/Shanghai", now=clock)
    await sender.start()
    yield service, db, transport, clock
    await sender.stop()
    await db.close()


async def outbox_rows(db: Database, ref: str) -> int:
    return (await db.rows("SELECT count(*) FROM outbox WHERE ref = ?", (ref,)))[0][0]


async def settled(service: AnnouncementService, announcement_id: int) -> str:
    async with asyncio.timeout(5):
        while True:
            await service.tick()
            row = await service.repo.get(announcement_id)
            if row.state in ("done", "stopped"):
                return row.state
            await asyncio.sleep(0.05)


async def test_a_due_announcement_is_queued_once_whoever_starts_it(setup: Any) -> None:
    service, db, transport, _ = setup
    preview = await service.draft(AUTHOR, AUTHOR, "en", "[en] Hello\n[th] สวัสดี")
    aid = preview.announcement.id
    assert [(v.lang, n) for v, n in preview.audience] == [("en", 3), ("th", 1)]  # zh falls back to the first
    await asyncio.gather(service.send_now(aid), service.tick(), service.tick())
    assert await outbox_rows(db, f"ann:{aid}") == 4
    with pytest.raises(AnnouncementError):
        await service.send_now(aid)
    assert await settled(service, aid) == "done"
    texts = {
        p["chat_id"]: p["text"] for m, p in transport.calls if m == "sendMessage" and "#" not in p["text"]
    }
    assert texts == {1: "Hello", 2: "สวัสดี", 3: "Hello", AUTHOR: "Hello"}
    async with asyncio.timeout(5):
        while not (
            summary := [
                p["text"] for m, p in transport.calls if m == "sendMessage" and "is delivered" in p["text"]
            ]
        ):
            await asyncio.sleep(0.02)
    assert summary == ["✅ Announcement #1 is delivered: 4 sent, 0 failed, 0 had blocked the bot."]
    edits = [p for m, p in transport.calls if m == "editMessageText"]
    assert edits and "remaining: 0" in edits[-1]["text"] and "Sent: 4" in edits[-1]["text"]


async def test_a_cancelled_announcement_writes_no_deliveries(setup: Any) -> None:
    service, db, _, clock = setup
    row = await service.repo.create([Version(None, "Gala")], state="scheduled", due_at=clock())
    assert await service.cancel(row.id) == "cancelled"
    await service.tick()
    assert await outbox_rows(db, row.ref) == 0
    assert (await service.repo.get(row.id)).state == "cancelled"
    assert await service.cancel(row.id) == ""


async def test_scheduling_is_in_the_event_time_zone_and_only_in_the_future(setup: Any) -> None:
    service, db, _, clock = setup
    aid = (await service.draft(AUTHOR, AUTHOR, "en", "Doors open")).announcement.id
    with pytest.raises(AnnouncementError) as past:
        await service.schedule(aid, "2023-11-08 07:59")  # 23:59 UTC the day before
    assert past.value.key == "announce.error_past"
    due = await service.schedule(aid, "2023-11-08 09:00")
    assert due == datetime(2023, 11, 8, 1, 0, tzinfo=UTC)
    await service.tick()
    assert await outbox_rows(db, f"ann:{aid}") == 0
    clock.at = due + timedelta(seconds=1)
    await service.tick()
    assert await outbox_rows(db, f"ann:{aid}") == 4
    assert await settled(service, aid) == "done"
    assert (await service.repo.get(aid)).started_at == due + timedelta(seconds=1)
