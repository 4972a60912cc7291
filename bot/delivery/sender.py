"""The one sender: a durable outbox in SQLite and one loop that sends it within Telegram's limits.

:meth:`Sender.submit` stores messages (``pending``) and returns once they are committed: from then on a
crash loses none of them. The loop takes them in the order the :class:`~bot.delivery.scheduler.Scheduler`
chooses (replies first, chats served round-robin, the overall and per-chat limits kept), sends each
through the :class:`~bot.delivery.transport.Transport`, and records how it ended:

- accepted: ``sent``, with Telegram's message id (``Sender.wait`` returns it);
- flood control: the chat waits as long as Telegram says (every chat, when it keeps happening), then
  the message is sent again;
- blocked: ``blocked``; the user's other queued messages are dropped too and ``on_blocked`` is called;
- a network or server error: sent again with exponential backoff, until the message expires (replies,
  after ``reply_ttl``) or :data:`MAX_ATTEMPTS` is reached;
- refused (400): a message whose HTML Telegram cannot parse is sent once more as plain text, one that is
  "not modified" counts as sent, anything else is tried :data:`MAX_REFUSALS` times, then ``failed``.

At start-up the pending rows are queued again: a restart neither skips nor repeats a message, except
the one that was in flight at the moment of a crash (sent, but not yet recorded). Replies that waited
longer than ``reply_ttl`` are dropped with a log line instead: an answer minutes late is confusing.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import metrics
from bot.delivery.inbox import HANDLING
from bot.delivery.scheduler import CHAT_RATE, Item, Kind, Scheduler, Wait
from bot.delivery.transport import Blocked, Rejected, RetryLater, Transport, Unavailable
from bot.storage.delivery import NewMessage, Outbox, OutboxRow
from bot.storage.sql import Transaction

log = logging.getLogger(__name__)

REPLY_TTL = 300.0
"""Seconds a reply may wait (through retries and restarts) before it is dropped as too late."""
MAX_ATTEMPTS = 8
MAX_REFUSALS = 3
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Outgoing:
    """A message to send: the Bot API ``method`` and its JSON-able ``params`` (``chat_id`` is added).

    ``kind`` sets its priority (see :mod:`bot.delivery.scheduler`); ``ref`` ties it to what it belongs
    to, for counts and cancelling; ``user_id`` is the person it goes to, marked as blocked if Telegram
    says so; ``ttl`` (seconds) drops it when it could not be sent in time (replies default to
    :data:`REPLY_TTL`, other kinds never expire).
    """

    chat_id: int
    params: dict[str, Any]
    method: str = "sendMessage"
    kind: Kind = "reply"
    ref: str | None = None
    user_id: int | None = None
    ttl: float | None = None


def html_message(
    chat_id: int,
    text: str,
    markup: dict[str, Any] | None = None,
    *,
    reply_to: int | None = None,
    kind: Kind = "reply",
    ref: str | None = None,
    user_id: int | None = None,
) -> Outgoing:
    """A ``sendMessage`` with HTML ``text``, an optional inline keyboard (as a dict) and reply target."""
    params: dict[str, Any] = {
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if markup:
        params["reply_markup"] = markup
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return Outgoing(chat_id, params, kind=kind, ref=ref, user_id=user_id)


@dataclass
class _Waiters:
    futures: dict[int, list[asyncio.Future[int | None]]] = field(default_factory=dict)

    def add(self, outbox_id: int) -> asyncio.Future[int | None]:
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.futures.setdefault(outbox_id, []).append(future)
        return future

    def settle(self, outbox_id: int, message_id: int | None, error: str | None = None) -> None:
        for future in self.futures.pop(outbox_id, []):
            if future.done():
                continue
            if error is None:
                future.set_result(message_id)
            else:
                future.set_exception(DeliveryFailed(error))


class DeliveryFailed(RuntimeError):
    """Raised by :meth:`Sender.wait` for a message that ended other than sent."""


class Sender:
    """See the module docstring. Create, :meth:`start`, :meth:`submit` any number of times, :meth:`stop`."""

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        rate: float,
        chat_rate: float = CHAT_RATE,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        reply_ttl: float = REPLY_TTL,
        max_in_flight: int = 16,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._outbox = outbox
        self._transport = transport
        self._on_blocked = on_blocked
        self._reply_ttl = reply_ttl
        self._clock = clock
        self._wall = wall
        self._scheduler = Scheduler(rate, chat_rate=chat_rate, max_in_flight=max_in_flight, now=clock())
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiters = _Waiters()
        self._earlier: set[int] = set()
        self._stopping = False

    # ----------------------------------------------------------------- public

    async def start(self) -> None:
        """Queue what a previous run left pending, then start sending."""
        rows = await self._outbox.pending()
        late = [
            row
            for row in rows
            if row.kind == "reply" and row.expires_at is not None and row.expires_at < self._wall()
        ]
        if late:
            await self._outbox.settle([row.id for row in late], "expired", error="too late after restart")
            log.warning(
                "dropped %d replies that waited longer than %.0f s to be sent", len(late), self._reply_ttl
            )
        fresh = [row for row in rows if row not in late]
        self._queue(fresh)
        if fresh:
            log.info("resuming delivery of %d messages left pending", len(fresh))
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run(), name="sender")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking new messages off the queue and let the requests under way finish (up to ``grace``)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._tasks:
            _, still = await asyncio.wait(self._tasks, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)

    async def submit(
        self,
        messages: Sequence[Outgoing],
        also: Callable[[Transaction], Awaitable[None]] | None = None,
    ) -> list[int]:
        """Store ``messages`` durably and queue them; their outbox ids, in order.

        ``also`` runs in the same transaction (e.g. marking an announcement as being sent), so the
        messages and whatever they stand for are committed together or not at all.

        While an update is handled again after a restart (see :mod:`bot.delivery.inbox`), a send its
        handler already made before is not stored again; the ids stored then are returned.
        """
        handling = HANDLING.get()
        origin = handling.next_origin() if handling is not None else None
        if handling is not None and handling.again and origin is not None:
            stored = await self._outbox.by_origin(origin)
            if stored:  # queued before a restart: sent already, or resumed from the outbox
                log.info("update %d handled again: its send %s was queued before", handling.update_id, origin)
                self._earlier.update(stored)
                return stored
        wall = self._wall()
        new = [
            NewMessage(
                chat_id=m.chat_id,
                kind=m.kind,
                method=m.method,
                params=m.params,
                ref=m.ref,
                user_id=m.user_id,
                expires_at=self._expiry(m, wall),
                origin=origin,
            )
            for m in messages
        ]
        ids = await self._outbox.add(new, also)
        now = self._clock()
        self._scheduler.add_many(
            (self._item(oid, m, self._expiry(m, wall), wall, now) for oid, m in zip(ids, new, strict=True)),
            now,
        )
        self._update_gauge()
        self._wake.set()
        return ids

    def wait(self, outbox_id: int) -> asyncio.Future[int | None]:
        """A future for the message's Telegram id once it is sent (:class:`DeliveryFailed` otherwise).

        Only for messages submitted (or resumed) by this sender, or returned by :meth:`submit` for a
        send made before a restart.
        """
        future = self._waiters.add(outbox_id)
        if outbox_id in self._earlier and outbox_id not in self._scheduler.queued_ids():
            task = asyncio.create_task(self._settled_before(outbox_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _settled_before(self, outbox_id: int) -> None:
        """Settle the waiters of a message that a previous run settled."""
        state, message_id, error = await self._outbox.outcome(outbox_id)
        if state != "pending":  # a pending one is queued here and settled when sent
            self._waiters.settle(outbox_id, message_id, None if state == "sent" else (error or state))

    async def cancel(self, ref: str) -> int:
        """Stop every queued message of ``ref`` (one in flight still goes); how many were cancelled."""
        removed = self._scheduler.remove(lambda item: item.ref != ref, self._clock())
        for item in removed:
            self._waiters.settle(item.id, None, "cancelled")
        cancelled = await self._outbox.cancel(ref)
        self._update_gauge()
        return cancelled

    async def counts(self, ref: str) -> dict[str, int]:
        """Messages of ``ref`` by state: pending, sent, failed, blocked, cancelled, expired."""
        return await self._outbox.counts(ref)

    @property
    def queued(self) -> int:
        """Messages queued or in flight in this process."""
        return self._scheduler.pending

    def queued_by_kind(self) -> dict[str, int]:
        return self._scheduler.pending_by_kind()

    # ----------------------------------------------------------------- the loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before looking, so a wake-up that comes while we work is not lost
            now = self._clock()
            decision = self._scheduler.next(now)
            await self._settle_expired()
            if isinstance(decision, Item):
                task = asyncio.create_task(self._deliver(decision))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            await self._sleep(decision)

    async def _sleep(self, wait: Wait) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=wait.seconds)

    async def _deliver(self, item: Item) -> None:
        try:
            await self._attempt(item)
        except Exception:  # a bug must not stop the loop or strand the chat
            log.exception("sending outbox message %d to chat %d failed unexpectedly", item.id, item.chat_id)
            await self._settle(item, "failed", error="internal error")
        finally:
            self._update_gauge()
            self._wake.set()

    async def _attempt(self, item: Item) -> None:
        try:
            message_id = await self._transport.call(item.method, {"chat_id": item.chat_id, **item.params})
        except RetryLater as error:
            now = self._clock()
            metrics.MESSAGES_REFUSED.labels(item.kind, "flood").inc()
            log.warning("flood control for chat %d: waiting %.1f s", item.chat_id, error.seconds)
            self._scheduler.flood(item.chat_id, error.seconds, now)
            self._scheduler.retry(item, now, error.seconds)
            await self._outbox.count_attempt(item.id)
        except Blocked as error:
            metrics.MESSAGES_REFUSED.labels(item.kind, "blocked").inc()
            await self._blocked(item, str(error))
        except Rejected as error:
            metrics.MESSAGES_REFUSED.labels(item.kind, "bad_request").inc()
            await self._rejected(item, str(error))
        except Unavailable as error:
            metrics.MESSAGES_REFUSED.labels(item.kind, "network").inc()
            await self._transient(item, str(error))
        else:
            metrics.MESSAGES_SENT.labels(item.kind).inc()
            await self._settle(item, "sent", message_id=message_id)

    async def _rejected(self, item: Item, error: str) -> None:
        lowered = error.lower()
        if "not modified" in lowered:
            await self._settle(item, "sent")
            return
        if "parse entities" in lowered and item.params.get("parse_mode") == "HTML":
            log.warning(
                "chat %d: Telegram could not parse a message (%s); sending it as plain text",
                item.chat_id,
                error,
            )
            params = dict(item.params)
            params.pop("parse_mode")
            params["text"] = html.unescape(_TAG.sub("", params.get("text", "")))
            item.params = params
            self._scheduler.retry(item, self._clock(), 0.0)
            return
        if item.attempts + 1 >= MAX_REFUSALS:
            log.error("chat %d refused message %d for good: %s", item.chat_id, item.id, error)
            await self._settle(item, "failed", error=error)
            return
        log.warning("chat %d refused message %d (%s); trying again", item.chat_id, item.id, error)
        await self._backoff(item)

    async def _transient(self, item: Item, error: str) -> None:
        if item.attempts + 1 >= MAX_ATTEMPTS:
            log.error(
                "message %d to chat %d not sent after %d attempts: %s",
                item.id,
                item.chat_id,
                item.attempts + 1,
                error,
            )
            await self._settle(item, "failed", error=error)
            return
        log.warning("message %d to chat %d not sent (%s); trying again", item.id, item.chat_id, error)
        await self._backoff(item)

    async def _backoff(self, item: Item) -> None:
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2**item.attempts)
        self._scheduler.retry(item, self._clock(), delay)
        await self._outbox.count_attempt(item.id)

    async def _blocked(self, item: Item, error: str) -> None:
        dropped = self._scheduler.drop_chat(item.chat_id, self._clock())
        await self._settle(item, "blocked", error=error)
        if dropped:
            await self._outbox.settle([d.id for d in dropped], "blocked", error=error)
            for other in dropped:
                self._waiters.settle(other.id, None, "blocked")
        log.info("chat %d blocked the bot; %d more queued messages dropped", item.chat_id, len(dropped))
        if self._on_blocked is not None and item.user_id is not None:
            await self._on_blocked(item.user_id)

    async def _settle(
        self, item: Item, state: str, *, message_id: int | None = None, error: str | None = None
    ) -> None:
        # Recorded before the slot is freed: the messages sent but not yet recorded (sent again after a
        # crash) are never more than the ones in flight, however slow the database gets.
        try:
            await self._outbox.settle([item.id], state, message_id=message_id, error=error)
        finally:
            self._scheduler.finished(item, self._clock())
        self._waiters.settle(item.id, message_id, None if state == "sent" else state)

    async def _settle_expired(self) -> None:
        expired, self._scheduler.expired = self._scheduler.expired, []
        if not expired:
            return
        await self._outbox.settle([item.id for item in expired], "expired", error="not sent in time")
        for item in expired:
            self._waiters.settle(item.id, None, "expired")
        log.warning("dropped %d messages that could not be sent in time", len(expired))

    # ----------------------------------------------------------------- helpers

    def _expiry(self, message: Outgoing | NewMessage, wall: datetime) -> datetime | None:
        if isinstance(message, NewMessage):
            return message.expires_at
        ttl = (
            message.ttl if message.ttl is not None else (self._reply_ttl if message.kind == "reply" else None)
        )
        return wall + timedelta(seconds=ttl) if ttl is not None else None

    def _item(
        self, oid: int, message: NewMessage | OutboxRow, expires: datetime | None, wall: datetime, now: float
    ) -> Item:
        return Item(
            id=oid,
            chat_id=message.chat_id,
            kind=message.kind,  # type: ignore[arg-type]
            method=message.method,
            params=message.params,
            ref=message.ref,
            user_id=message.user_id,
            expires=None if expires is None else now + (expires - wall).total_seconds(),
            attempts=getattr(message, "attempts", 0),
        )

    def _queue(self, rows: Sequence[OutboxRow]) -> int:
        known = self._known_ids()
        wall, now = self._wall(), self._clock()
        fresh = [row for row in rows if row.id not in known]
        self._scheduler.add_many((self._item(r.id, r, r.expires_at, wall, now) for r in fresh), now)
        self._update_gauge()
        self._wake.set()
        return len(fresh)

    def _known_ids(self) -> set[int]:
        return self._scheduler.queued_ids()

    def _update_gauge(self) -> None:
        for kind, n in self._scheduler.pending_by_kind().items():
            metrics.SEND_QUEUE.labels(kind).set(n)
