"""The durable inbox: updates stored before they are confirmed, handled once, resumed after a restart,
and no reply queued twice when an update is handled again."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_delivery import FakeTransport

from bot.delivery.inbox import HANDLING, UpdateInbox
from bot.delivery.sender import Sender, html_message
from bot.storage.database import Database
from bot.storage.delivery import MAX_HANDLING_ATTEMPTS, Inbox, NewMessage, Outbox


def update(update_id: int, text: str = "hi") -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": update_id, "text": text}}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def eventually(check: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_an_update_is_stored_once(db: Database) -> None:
    inbox = Inbox(db)
    assert [u["update_id"] for u in await inbox.store([update(1), update(2)])] == [1, 2]
    assert [u["update_id"] for u in await inbox.store([update(2), update(3)])] == [3], "2 came again"
    assert await inbox.state(2) == (False, 0)
    await inbox.mark_handled([2])
    assert await inbox.state(2) == (True, 0)
    backlog, given_up = await inbox.resume()
    assert [u.update_id for u in backlog] == [1, 3] and given_up == []
    assert backlog[0].payload == update(1) and backlog[0].attempts == 1


async def test_polling_commits_each_batch_before_asking_for_the_next(db: Database) -> None:
    inbox = Inbox(db)
    batches = [[update(1), update(2)], [update(2), update(3)], []]
    handled: list[int] = []
    offsets: list[int | None] = []

    async def fetch(offset: int | None) -> list[dict[str, Any]]:
        offsets.append(offset)
        if offset is not None:  # everything this offset confirms is in the database already
            for update_id in range(1, offset):
                assert await inbox.state(update_id) is not None, f"update {update_id} confirmed unstored"
        if batches:
            return batches.pop(0)
        await asyncio.Event().wait()  # a long poll with nothing new
        return []

    async def handle(payload: dict[str, Any]) -> None:
        handled.append(payload["update_id"])

    updates = UpdateInbox(inbox, handle, concurrency=4)
    await updates.start()
    polling = asyncio.create_task(updates.poll(fetch))

    async def all_handled() -> bool:
        return all([await _handled(inbox, i) for i in (1, 2, 3)])

    await eventually(all_handled)
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)
    await updates.stop()
    assert offsets[:3] == [None, 3, 4]
    assert sorted(handled) == [1, 2, 3], "update 2, delivered twice, is handled once"


async def test_a_webhook_update_is_stored_before_ingest_returns(db: Database) -> None:
    inbox = Inbox(db)
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(payload: dict[str, Any]) -> None:
        await release.wait()
        handled.append(payload["update_id"])

    updates = UpdateInbox(inbox, handle)
    await updates.start()
    await updates.ingest(update(7))
    assert await inbox.state(7) == (False, 0), "stored, still being handled"
    await updates.ingest(update(7))  # Telegram delivered it again
    for body in ({"message": {}}, {"update_id": "7"}, [1]):
        with pytest.raises(ValueError, match="not a Telegram update"):
            await updates.ingest(body)  # type: ignore[arg-type]
    release.set()
    await eventually(lambda: _handled(inbox, 7))
    await updates.stop()
    assert handled == [7]


async def _handled(inbox: Inbox, update_id: int) -> bool:
    state = await inbox.state(update_id)
    return state is not None and state[0]


async def test_updates_left_by_a_previous_run_are_handled_first(db: Database) -> None:
    inbox = Inbox(db)
    await inbox.store([update(1), update(2), update(3)])
    await inbox.mark_handled([2])
    order: list[tuple[int, bool]] = []

    async def handle(payload: dict[str, Any]) -> None:
        context = HANDLING.get()
        assert context is not None and context.update_id == payload["update_id"]
        order.append((payload["update_id"], context.again))

    updates = UpdateInbox(inbox, handle, concurrency=1)
    assert await updates.start() == 2
    await updates.ingest(update(4))
    await eventually(lambda: _handled(inbox, 4))
    await updates.stop()
    assert order == [(1, True), (3, True), (4, False)]


async def test_an_update_that_keeps_crashing_the_bot_is_given_up(db: Database) -> None:
    inbox = Inbox(db)
    await inbox.store([update(1)])
    for _ in range(MAX_HANDLING_ATTEMPTS):  # each start counts an attempt; the process then dies
        backlog, given_up = await inbox.resume()
        assert [u.update_id for u in backlog] == [1] and given_up == []
    backlog, given_up = await inbox.resume()
    assert backlog == [] and given_up == [1]
    assert await inbox.state(1) == (True, MAX_HANDLING_ATTEMPTS)


async def test_handled_updates_and_sent_replies_are_deleted_after_a_day(db: Database) -> None:
    inbox, outbox = Inbox(db), Outbox(db)
    await inbox.store([update(1), update(2)])
    await inbox.mark_handled([1])
    reply, waiting, news = await outbox.add(
        [
            NewMessage(5, "reply", "sendMessage", {"text": "a"}, ref="q:1"),
            NewMessage(5, "reply", "sendMessage", {"text": "b"}, ref="q:2"),
            NewMessage(5, "announcement", "sendMessage", {"text": "c"}, ref="ann:1"),
        ]
    )
    await outbox.settle([reply, news], "sent", message_id=1)
    now = dt.datetime.now(dt.UTC)
    assert await inbox.purge(now) == (0, 0)
    assert await inbox.purge(now + dt.timedelta(days=1, minutes=1)) == (1, 1)
    assert await inbox.state(1) is None and await inbox.state(2) == (False, 0), "unhandled ones stay"
    assert (await outbox.counts("q:1"))["sent"] == 0
    assert [row.id for row in await outbox.pending()] == [waiting], "unsent replies stay"
    assert (await outbox.counts("ann:1"))["sent"] == 1, "announcements are counted by their rows"


async def test_an_update_handled_again_after_a_crash_sends_each_reply_once(tmp_path: Path) -> None:
    """The handler sent its first reply, then the process died before its second and before the update
    was marked handled: after the restart the first is not queued again, the second is sent."""
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    stuck = FakeTransport()
    stuck.gate = asyncio.Event()  # nothing goes out before the crash
    sender = Sender(Outbox(db), stuck, rate=0)
    await sender.start()
    crash = asyncio.Event()
    never = asyncio.Event()

    async def handle(payload: dict[str, Any]) -> None:
        await sender.submit([html_message(5, "first", ref="q:1")])
        crash.set()
        await never.wait()
        await sender.submit([html_message(5, "second", ref="q:1")])

    updates = UpdateInbox(Inbox(db), handle)
    await updates.start()
    await updates.ingest(update(1))
    await asyncio.wait_for(crash.wait(), 5)
    await updates.stop(grace=0)
    await sender.stop(grace=0)
    await db.close()

    db = await Database.open(path)
    transport = FakeTransport()
    sender = Sender(Outbox(db), transport, rate=0)
    await sender.start()
    never.set()
    first_ids: list[list[int]] = []

    async def handle_again(payload: dict[str, Any]) -> None:
        first_ids.append(await sender.submit([html_message(5, "first", ref="q:1")]))
        await sender.submit([html_message(5, "second", ref="q:1")])

    updates = UpdateInbox(Inbox(db), handle_again)
    assert await updates.start() == 1
    await eventually(lambda: _handled(Inbox(db), 1))
    message_id = await asyncio.wait_for(sender.wait(first_ids[0][0]), 5)
    await eventually(lambda: _sent(sender, 2))
    await updates.stop()
    await sender.stop()
    await db.close()
    assert transport.texts(5) == ["first", "second"]
    assert message_id == 1, "waiting on the reply stored before the crash gives its message id"


async def _sent(sender: Sender, n: int) -> bool:
    return (await sender.counts("q:1"))["sent"] >= n


async def test_only_the_handlers_own_sends_are_numbered(db: Database) -> None:
    """A send from a task the handler started is not matched against an earlier run: its place among
    the handler's sends could differ from one run to the next."""
    origins: list[str | None] = []

    async def handle(payload: dict[str, Any]) -> None:
        context = HANDLING.get()
        assert context is not None
        origins.append(context.next_origin())
        origins.append(await asyncio.create_task(_origin_elsewhere()))
        origins.append(context.next_origin())

    updates = UpdateInbox(Inbox(db), handle)
    await updates.ingest(update(9))
    await eventually(lambda: _handled(Inbox(db), 9))
    await updates.stop()
    assert origins == ["9:0", None, "9:1"]


async def _origin_elsewhere() -> str | None:
    context = HANDLING.get()
    return context.next_origin() if context is not None else "no context"


async def test_ingest_returns_once_stored_even_when_every_slot_is_busy(db: Database) -> None:
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(payload: dict[str, Any]) -> None:
        await release.wait()
        handled.append(payload["update_id"])

    updates = UpdateInbox(Inbox(db), handle, concurrency=1)
    await asyncio.wait_for(updates.ingest(update(1)), 2)
    await asyncio.wait_for(updates.ingest(update(2)), 2)  # the one slot is taken by update 1
    assert updates.busy == 2
    release.set()
    await eventually(lambda: _handled(Inbox(db), 2))
    await updates.stop()
    assert sorted(handled) == [1, 2]


async def test_a_batch_that_could_not_be_stored_is_fetched_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox(db)
    real_store = inbox.store
    failures = [RuntimeError("database is locked")]

    async def store(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if failures:
            raise failures.pop()
        return await real_store(updates)

    monkeypatch.setattr(inbox, "store", store)
    monkeypatch.setattr("bot.delivery.inbox.STORE_RETRY", 0.01)
    offsets: list[int | None] = []

    async def fetch(offset: int | None) -> list[dict[str, Any]]:
        offsets.append(offset)
        if offset is None:  # not confirmed yet: Telegram gives the same batch again
            return [update(1)]
        await asyncio.Event().wait()
        return []

    handled: list[int] = []

    async def handle(payload: dict[str, Any]) -> None:
        handled.append(payload["update_id"])

    updates = UpdateInbox(inbox, handle)
    polling = asyncio.create_task(updates.poll(fetch))
    await eventually(lambda: _handled(inbox, 1))
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)
    await updates.stop()
    assert offsets == [None, None, 2] and handled == [1]
