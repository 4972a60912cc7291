"""Which outgoing message goes next: a pure, clock-driven scheduler (no I/O, no asyncio).

Rules, in order:

1. **Telegram's limits.** An overall token bucket (``rate`` messages per second, 0 for none) and one per
   chat: one message a second in a private chat with a burst of :data:`CHAT_BURST`, twenty a minute in
   a group. A chat told to wait by flood control is paused for that long; several flood answers in a
   short time pause everything (the overall limit was hit, not one chat's).
2. **Priorities.** Replies to questions go before reminders and alerts, which go before announcements:
   a running broadcast never holds up an answer.
3. **Fairness.** Chats with a message ready at the same priority are served in the order they became
   ready, and a chat that has just sent lines up behind chats that became ready about the same time: a
   chat that floods the bot only delays itself (it also has its own per-chat limit), another chat's reply
   waits for one sending slot at most, and no chat waits behind chats that came later.
4. **Order within a chat.** One message per chat is in flight at a time and a chat's messages of one
   priority leave in the order they were queued; a message put back for a retry keeps its place.

The sender asks :meth:`Scheduler.next` for work and reports back with :meth:`Scheduler.finished` or
:meth:`Scheduler.retry`. Times are seconds on any monotonic clock the caller chooses.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["reply", "notice", "reminder", "alert", "announcement"]
PRIORITY: dict[str, int] = {"reply": 0, "notice": 1, "reminder": 1, "alert": 1, "announcement": 2}
"""Lower goes first. ``notice``: a message to one person that is not a reply (progress, confirmations)."""
LEVELS = 3
CHAT_RATE = 1.0
"""Messages per second to one private chat, sustained."""
CHAT_BURST = 3.0
"""Messages a private chat may get at once (a long answer split in parts) before the rate applies."""
GROUP_RATE = 20 / 60
GROUP_BURST = 3.0
LEVEL_IN_FLIGHT = {PRIORITY["announcement"]: 1}
"""Announcement messages under way at once. A message Telegram accepted but the bot had not recorded when
it crashed is sent again after the restart, and the Bot API cannot tell which were accepted: with one
under way, a crash repeats at most one announcement message in all. The price is a broadcast rate of
at most one message per round trip to the Bot API (25/s needs round trips under 40 ms). Replies may use
every slot."""
RECENT_WINDOW = 1.0
RECENT_PENALTY = 0.05
"""A chat that sent within ``RECENT_WINDOW`` seconds lines up as if it became ready this much later."""
FLOOD_WINDOW = 2.0
FLOOD_SIGNALS = 3
"""This many flood answers from different chats within ``FLOOD_WINDOW`` seconds pause every chat."""


@dataclass
class Item:
    """One message waiting to be sent, as the scheduler sees it."""

    id: int
    chat_id: int
    kind: Kind
    method: str
    params: dict[str, Any]
    ref: str | None = None
    user_id: int | None = None
    expires: float | None = None
    """Drop the message when it could not be sent by this time (clock seconds); None: never."""
    not_before: float = 0.0
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def priority(self) -> int:
        return PRIORITY[self.kind]


@dataclass
class Wait:
    """Nothing can be sent now: ask again after ``seconds`` (None: only when something changes)."""

    seconds: float | None


@dataclass
class _Chat:
    queues: list[deque[Item]]
    tokens: float
    updated: float
    rate: float
    burst: float
    paused_until: float = 0.0
    last_sent: float = float("-inf")
    in_flight: bool = False
    version: int = 0

    def head(self) -> Item | None:
        for queue in self.queues:
            if queue:
                return queue[0]
        return None

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now


class Scheduler:
    """See the module docstring. ``max_in_flight`` bounds the requests under way at once."""

    def __init__(
        self, rate: float, *, chat_rate: float = CHAT_RATE, max_in_flight: int = 16, now: float = 0.0
    ) -> None:
        self.rate = rate
        self.chat_rate = chat_rate
        self.max_in_flight = max_in_flight
        self._burst = max(1.0, rate / 10)
        self._tokens = self._burst
        self._updated = now
        self._paused_until = 0.0
        self._floods: deque[tuple[float, int]] = deque()
        self._chats: dict[int, _Chat] = {}
        self._ready: list[tuple[int, float, int, int, int]] = []  # (priority, key, seq, chat, version)
        self._timed: list[tuple[float, int, int, int]] = []  # (ready at, seq, chat, version)
        self._seq = itertools.count()
        self._in_flight = 0
        self._level_in_flight = [0] * LEVELS
        self._pending = 0
        self._by_kind: dict[str, int] = dict.fromkeys(PRIORITY, 0)
        self._ids: set[int] = set()
        self.expired: list[Item] = []
        """Messages dropped because they passed their ``expires`` time; the caller takes and clears it."""

    # ----------------------------------------------------------------- queueing

    def add(self, item: Item, now: float) -> None:
        """Queue ``item`` behind the chat's other messages of its priority."""
        chat = self._chat(item.chat_id, now)
        chat.queues[item.priority].append(item)
        self._count(item, +1)
        self._schedule(item.chat_id, chat, now)

    def add_many(self, items: Iterable[Item], now: float) -> None:
        for item in items:
            self.add(item, now)

    def remove(self, keep: Callable[[Item], bool], now: float) -> list[Item]:
        """Take out every queued (not in-flight) message for which ``keep`` is false; return them."""
        removed: list[Item] = []
        for chat_id, chat in list(self._chats.items()):
            changed = False
            for level, queue in enumerate(chat.queues):
                if any(not keep(item) for item in queue):
                    kept = deque(item for item in queue if keep(item))
                    removed.extend(item for item in queue if not keep(item))
                    chat.queues[level] = kept
                    changed = True
            if changed:
                self._schedule(chat_id, chat, now)
        for item in removed:
            self._count(item, -1)
        return removed

    def drop_chat(self, chat_id: int, now: float) -> list[Item]:
        """Take out every queued message to ``chat_id`` (the user blocked the bot)."""
        return self.remove(lambda item: item.chat_id != chat_id, now)

    # ----------------------------------------------------------------- sending

    def next(self, now: float) -> Item | Wait:
        """The message to send now (it is then in flight), or how long to wait before asking again."""
        self._promote(now)
        if self._in_flight >= self.max_in_flight:
            return Wait(None)
        if now < self._paused_until:
            return Wait(self._paused_until - now)
        if self.rate > 0:
            self._refill(now)
            if self._tokens < 1.0:
                return Wait((1.0 - self._tokens) / self.rate) if self._ready else self._timed_wait(now)
        while self._ready:
            level = self._ready[0][0]
            if self._level_in_flight[level] >= LEVEL_IN_FLIGHT.get(level, self.max_in_flight):
                return Wait(None)  # everything still lined up is of this level or lower priority
            _, _, _, chat_id, version = heapq.heappop(self._ready)
            chat = self._chats.get(chat_id)
            if chat is None or chat.version != version or chat.in_flight:
                continue
            item = self._take_head(chat, now)
            if item is None:
                self._schedule(chat_id, chat, now)
                continue
            chat.refill(now)
            chat.tokens -= 1.0
            if self.rate > 0:
                self._tokens -= 1.0
            chat.in_flight = True
            chat.version += 1
            chat.last_sent = now
            self._in_flight += 1
            self._level_in_flight[item.priority] += 1
            return item
        return self._timed_wait(now)

    def finished(self, item: Item, now: float) -> None:
        """``item`` was delivered or given up: its chat may send again."""
        chat = self._chats[item.chat_id]
        chat.in_flight = False
        self._in_flight -= 1
        self._level_in_flight[item.priority] -= 1
        self._count(item, -1)
        self._schedule(item.chat_id, chat, now)

    def retry(self, item: Item, now: float, delay: float) -> None:
        """Put ``item`` back at the head of its chat's queue, to be sent again after ``delay`` seconds."""
        chat = self._chats[item.chat_id]
        item.attempts += 1
        item.not_before = now + delay
        chat.queues[item.priority].appendleft(item)
        chat.in_flight = False
        self._in_flight -= 1
        self._level_in_flight[item.priority] -= 1
        self._schedule(item.chat_id, chat, now)

    def flood(self, chat_id: int, seconds: float, now: float) -> None:
        """Flood control answered for ``chat_id``: pause that chat, and every chat if it keeps happening."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            chat.paused_until = max(chat.paused_until, now + seconds)
        self._floods.append((now, chat_id))
        while self._floods and self._floods[0][0] < now - FLOOD_WINDOW:
            self._floods.popleft()
        if len({chat for _, chat in self._floods}) >= FLOOD_SIGNALS:
            self._paused_until = max(self._paused_until, now + seconds)

    # ----------------------------------------------------------------- figures

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def pending(self) -> int:
        """Messages queued or in flight."""
        return self._pending

    def pending_by_kind(self) -> dict[str, int]:
        return dict(self._by_kind)

    # ----------------------------------------------------------------- internals

    def queued_ids(self) -> set[int]:
        """Ids of the messages queued or in flight."""
        return set(self._ids)

    def _count(self, item: Item, step: int) -> None:
        if step > 0:
            self._ids.add(item.id)
        else:
            self._ids.discard(item.id)
        self._pending += step
        self._by_kind[item.kind] += step

    def _chat(self, chat_id: int, now: float) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            group = chat_id < 0
            burst = GROUP_BURST if group else CHAT_BURST
            chat = _Chat(
                queues=[deque() for _ in range(LEVELS)],
                tokens=burst,
                updated=now,
                rate=GROUP_RATE if group else self.chat_rate,
                burst=burst,
            )
            self._chats[chat_id] = chat
        return chat

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def _take_head(self, chat: _Chat, now: float) -> Item | None:
        """Pop the chat's first message, moving any that expired to :attr:`expired` on the way."""
        for queue in chat.queues:
            while queue:
                item = queue[0]
                if item.expires is not None and now > item.expires:
                    queue.popleft()
                    self._count(item, -1)
                    self.expired.append(item)
                    continue
                if item.not_before > now:
                    return None
                return queue.popleft()
        return None

    def _schedule(self, chat_id: int, chat: _Chat, now: float) -> None:
        """(Re)enter the chat in the ready line or the timed heap, or forget it when it has nothing."""
        chat.version += 1
        head = chat.head()
        if head is None:
            chat.refill(now)
            if not chat.in_flight and chat.tokens >= chat.burst:
                del self._chats[chat_id]
            return
        if chat.in_flight:
            return
        chat.refill(now)
        token_wait = 0.0 if chat.tokens >= 1.0 else (1.0 - chat.tokens) / chat.rate
        ready_at = max(now + token_wait, chat.paused_until, head.not_before)
        if ready_at <= now:
            # In the order chats became ready; a chat that has just sent yields to any chat that became
            # ready up to RECENT_PENALTY later, so a flooding chat goes to the back of the line.
            key = now + (RECENT_PENALTY if now - chat.last_sent < RECENT_WINDOW else 0.0)
            heapq.heappush(self._ready, (head.priority, key, next(self._seq), chat_id, chat.version))
        else:
            heapq.heappush(self._timed, (ready_at, next(self._seq), chat_id, chat.version))

    def _promote(self, now: float) -> None:
        """Move chats whose wait is over from the timed heap to the ready line."""
        while self._timed and self._timed[0][0] <= now:
            _, _, chat_id, version = heapq.heappop(self._timed)
            chat = self._chats.get(chat_id)
            if chat is not None and chat.version == version:
                self._schedule(chat_id, chat, now)

    def _timed_wait(self, now: float) -> Wait:
        while self._timed:
            ready_at, _, chat_id, version = self._timed[0]
            chat = self._chats.get(chat_id)
            if chat is not None and chat.version == version:
                return Wait(max(0.0, ready_at - now))
            heapq.heappop(self._timed)
        return Wait(None)
