"""The durable inbox: every update is stored before Telegram is told it arrived, and handled from there.

Updates come in two ways, both through :class:`UpdateInbox`:

- long polling (:meth:`UpdateInbox.poll`): each batch ``getUpdates`` returns is committed to SQLite
  before the next ``getUpdates``, whose offset is what confirms the batch to Telegram. A crash before the
  commit leaves the batch with Telegram, which delivers it again; one after it leaves it in the inbox.
- a webhook (:meth:`UpdateInbox.ingest`): the update is committed, then the call returns (the web
  server answers 200 only then) and the update is handled in the background.

Each new update is handled by the ``handle`` coroutine (the Telegram application's handlers), at most
``concurrency`` at once, and marked handled when it returns. At start-up (:meth:`UpdateInbox.start`) the
updates a previous run stored but did not finish are handled first.

No duplicate answers: while an update is handled, :data:`HANDLING` tells the sender which update (and
which of its handler's sends, by order) a message comes from; it is stored with the message as its
``origin``. When an update is handled again after a crash, a send whose origin is already in the outbox
is not stored again: its messages were queued (and are sent, or were) the first time. Only the message
in flight at the moment of a crash may arrive twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.storage.delivery import MAX_HANDLING_ATTEMPTS, Inbox

log = logging.getLogger(__name__)

PURGE_EVERY = 3600.0
"""Seconds between deletions of updates handled long ago."""
STORE_RETRY = 1.0
"""Seconds to wait before fetching a batch again that could not be stored."""
Handle = Callable[[dict[str, Any]], Awaitable[None]]
Fetch = Callable[[int | None], Awaitable[Sequence[dict[str, Any]]]]


@dataclass
class Handling:
    """The update being handled in this task: its id, whether a previous run already began it, and how
    many sends its handler made so far.

    A handler that has to wait a long time (a question waiting for its user's rate) steps aside
    (:meth:`aside`) so that its slot serves other updates meanwhile; :meth:`when_done` runs a function
    when the update's handling ends, however it ends.
    """

    update_id: int
    again: bool = False
    sends: int = 0
    task: asyncio.Task[Any] | None = field(default=None, repr=False)
    slots: asyncio.Semaphore | None = field(default=None, repr=False)
    holding: bool = field(default=False, repr=False)
    finish: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @asynccontextmanager
    async def aside(self) -> AsyncIterator[None]:
        """Give this update's handling slot back while the block runs; take one again after it."""
        if self.slots is None or not self.holding:
            yield
            return
        self.holding = False
        self.slots.release()
        try:
            yield
        finally:
            await self.slots.acquire()
            self.holding = True

    def when_done(self, finish: Callable[[], None]) -> None:
        """Call ``finish`` once the update's handling has ended (handled, failed or cancelled)."""
        self.finish.append(finish)

    def ended(self) -> None:
        for finish in self.finish:
            try:
                finish()
            except Exception:  # one failing callback must not keep the others from running
                log.exception("update %d: a callback at the end of its handling failed", self.update_id)
        self.finish.clear()

    def next_origin(self) -> str | None:
        """The origin of the handler's next send, ``<update id>:<n>``; None for a send from a task the
        handler started (its order among the handler's sends is not repeatable)."""
        if self.task is not None and asyncio.current_task() is not self.task:
            return None
        origin = f"{self.update_id}:{self.sends}"
        self.sends += 1
        return origin


HANDLING: ContextVar[Handling | None] = ContextVar("handling", default=None)
"""Set by :class:`UpdateInbox` while an update's handler runs (each handling task has its own)."""


class UpdateInbox:
    """See the module docstring. Create, :meth:`start`, then :meth:`poll` or :meth:`ingest`; :meth:`stop`."""

    def __init__(
        self,
        inbox: Inbox,
        handle: Handle,
        *,
        concurrency: int = 256,
        grace: float = 10.0,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._inbox = inbox
        self._grace = grace
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._wall = wall
        self._tasks: set[asyncio.Task[None]] = set()
        self._handled: list[int] = []
        self._flusher: asyncio.Task[None] | None = None
        self._purged_at = float("-inf")
        self._stopping = False

    async def start(self) -> int:
        """Handle (in the background, before anything newer) what a previous run stored but did not
        finish; how many updates that is."""
        self._stopping = False
        await self._purge()
        backlog, given_up = await self._inbox.resume()
        if given_up:
            log.error(
                "gave up on %d updates whose handling was cut short %d times: %s",
                len(given_up),
                MAX_HANDLING_ATTEMPTS,
                ", ".join(map(str, given_up[:20])),
            )
        if backlog:
            log.info("handling %d updates stored but not handled before the restart", len(backlog))
        for stored in backlog:
            await self._spawn(stored.payload, again=True)
        return len(backlog)

    async def ingest(self, update: dict[str, Any]) -> None:
        """Store one update (a webhook's body) and return; it is handled in the background.

        Raises :class:`ValueError` for a body that is not an update (answer 400), anything else when it
        could not be stored (answer 500, so that Telegram delivers it again). An update stored before is
        not handled again.
        """
        if not isinstance(update, dict) or type(update.get("update_id")) is not int:
            raise ValueError("not a Telegram update: no integer update_id")
        for new in await self._inbox.store([update]):
            await self._spawn(new, wait=False)  # stored: the web server may answer at once

    async def poll(self, fetch: Fetch) -> None:
        """Long polling until cancelled or :meth:`stop`: ``fetch(offset)`` returns the next batch.

        ``fetch`` handles its own errors (retrying, waiting); an exception from it ends polling.
        """
        offset: int | None = None
        while not self._stopping:
            await self._maybe_purge()
            batch = await fetch(offset)
            if not batch:
                continue
            try:
                new = await self._inbox.store(batch)  # committed before the next fetch confirms the batch
            except Exception:  # e.g. the database stayed locked: Telegram gives the same batch again
                log.exception("could not store %d updates; asking for them again", len(batch))
                await asyncio.sleep(STORE_RETRY)
                continue
            offset = max(update["update_id"] for update in batch) + 1
            for update in new:
                await self._spawn(update)

    async def stop(self, grace: float | None = None) -> None:
        """Let the updates being handled finish (up to ``grace`` seconds, by default the one this inbox was
        made with; the rest are handled again at the next start), then record the last of them as handled."""
        self._stopping = True
        if self._tasks:
            _, still = await asyncio.wait(set(self._tasks), timeout=self._grace if grace is None else grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
            if still:
                log.warning(
                    "%d updates not finished at shutdown; they are handled at the next start", len(still)
                )
        if self._flusher is not None:
            await self._flusher

    @property
    def busy(self) -> int:
        """Updates being handled, or waiting for a free slot, in this process."""
        return len(self._tasks)

    # ----------------------------------------------------------------- handling

    async def _spawn(self, update: dict[str, Any], *, again: bool = False, wait: bool = True) -> None:
        """Start handling ``update`` once a slot is free: waiting here (``wait``) slows polling down under
        load; otherwise the handling task waits for its slot itself."""
        if wait:
            await self._slots.acquire()
        task = asyncio.create_task(self._run(update, again, wait), name=f"update-{update['update_id']}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, update: dict[str, Any], again: bool, has_slot: bool) -> None:
        update_id = update["update_id"]
        if not has_slot:
            await self._slots.acquire()
        handling = Handling(update_id, again, task=asyncio.current_task(), slots=self._slots, holding=True)
        HANDLING.set(handling)  # this task's own context
        try:
            await self._handle(update)
        except asyncio.CancelledError:
            raise  # not handled: it is handled again at the next start
        except Exception:  # the handlers report their own errors; this is a bug around them
            log.exception("update %d could not be handled", update_id)
        finally:
            if handling.holding:
                self._slots.release()
            handling.ended()
        self._mark_handled(update_id)

    def _mark_handled(self, update_id: int) -> None:
        """Record as handled; updates finishing while a write is under way are written together."""
        self._handled.append(update_id)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="inbox-handled")

    async def _flush(self) -> None:
        try:
            while self._handled:
                batch, self._handled = self._handled, []
                try:
                    await self._inbox.mark_handled(batch)
                except Exception:
                    log.exception("could not record %d updates as handled", len(batch))
        finally:
            self._flusher = None

    # ----------------------------------------------------------------- upkeep

    async def _maybe_purge(self) -> None:
        if asyncio.get_running_loop().time() - self._purged_at >= PURGE_EVERY:
            await self._purge()

    async def _purge(self) -> None:
        self._purged_at = asyncio.get_running_loop().time()
        try:
            updates, replies = await self._inbox.purge(self._wall())
        except Exception:
            log.exception("could not delete old updates and replies")
            return
        if updates or replies:
            log.info("deleted %d updates handled and %d replies sent more than a day ago", updates, replies)
