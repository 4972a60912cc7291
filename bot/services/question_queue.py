"""Each user's questions, answered one after another in the order they came, within the question rate.

The rate itself is :class:`~bot.services.ratelimit.QuestionRateLimiter` (``limit`` questions in any
``window``). A question over the rate is not dropped: it waits in the user's line and is answered as
soon as the window has room, after the questions before it. A user who pastes twenty questions gets
twenty answers, in order: ``limit`` at once, the rest as the window frees up.

- :meth:`QuestionQueue.arrive` (synchronous, so the order of arrival is kept) gives each question a
  :class:`Ticket`: ``go`` (within the rate), ``wait`` (over the rate, in line; ``notify`` on the first
  one of a burst, so the user is told once that the rest follow), ``refused`` (the user already has
  ``backlog`` questions waiting) or ``spent`` (an edit of a message answered often enough).
- :meth:`QuestionQueue.turn` waits until the ticket is first in its user's line, the question before it
  is finished and the window has room, then counts it.
- :meth:`QuestionQueue.done` ends the question's turn: the next one may go.
- Refused questions of one burst are gathered (:meth:`QuestionQueue.refuse`) so that the user gets one
  notice naming all of them.

Everything is in memory: after a restart the updates not yet handled are handled again (the durable
inbox keeps them), and the rate starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from bot.services.ratelimit import QuestionRateLimiter

DEFAULT_BACKLOG = 20


class Admission(enum.Enum):
    GO = "go"
    """Within the rate: answer it (in turn)."""
    WAIT = "wait"
    """Over the rate: it waits in line and is answered when the window has room."""
    REFUSED = "refused"
    """Over the rate with the backlog full: not taken; the user is told which (see :meth:`refuse`)."""
    SPENT = "spent"
    """An edit of a message whose versions were answered often enough in the window: nothing to do."""


@dataclass(eq=False)
class Ticket:
    user_id: int
    key: Hashable
    admission: Admission
    notify: bool = False
    """The first question of a burst over the rate: tell the user once that it and the rest will follow."""
    wait_seconds: float = 0.0
    """At arrival, about how long until the window has room (for the notice)."""
    counted: bool = False


@dataclass
class RefusedBatch:
    """Questions of one burst that were not taken; one notice names them all."""

    texts: list[str] = field(default_factory=list)
    sent: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False


@dataclass
class _Line:
    waiting: deque[Ticket] = field(default_factory=deque)
    current: Ticket | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    told: bool = False
    """The user was told that questions wait; reset when nothing waits for the window any more."""
    refused: RefusedBatch | None = None

    def wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class QuestionQueue:
    """See the module docstring."""

    def __init__(self, rate: QuestionRateLimiter, backlog: int = DEFAULT_BACKLOG) -> None:
        self.rate = rate
        self.backlog = backlog
        self._lines: dict[int, _Line] = {}

    def arrive(self, user_id: int, key: Hashable) -> Ticket:
        """A question (or an edit of one: the same ``key``) came in; how it is taken."""
        line = self._lines.setdefault(user_id, _Line())
        if self.rate.spent(user_id, key):
            return self._settle_idle(user_id, Ticket(user_id, key, Admission.SPENT))
        # How far past the rate this question is (1: the first that must wait for the window): the
        # questions in line take the room left in the window, in order, before it.
        over = len(line.waiting) + 1 - self.rate.room(user_id)
        if over <= 0 or self.rate.counts(user_id, key):
            ticket = Ticket(user_id, key, Admission.GO)
        elif over > self.backlog:
            return Ticket(user_id, key, Admission.REFUSED, wait_seconds=self.rate.free_in(user_id, over))
        else:
            ticket = Ticket(user_id, key, Admission.WAIT, wait_seconds=self.rate.free_in(user_id, over))
            if not line.told:
                line.told = True
                ticket.notify = True
        line.waiting.append(ticket)
        return ticket

    async def turn(self, ticket: Ticket) -> None:
        """Wait until ``ticket`` may be answered (first in line, the one before finished, the window has
        room), and count it. Cancelling the wait takes the ticket out of the line."""
        line = self._lines[ticket.user_id]
        try:
            while True:
                delay: float | None = None
                if line.current is None and line.waiting and line.waiting[0] is ticket:
                    delay = self.rate.take(ticket.user_id, ticket.key)
                    if delay <= 0:
                        line.waiting.popleft()
                        line.current = ticket
                        ticket.counted = True
                        if not any(t.admission is Admission.WAIT for t in line.waiting):
                            line.told = False
                        return
                changed = line.changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), delay)
        except BaseException:
            if ticket in line.waiting:
                line.waiting.remove(ticket)
                line.wake()
            raise

    def done(self, ticket: Ticket) -> None:
        """The ticket's question is finished (answered, failed or abandoned): the next one may go."""
        line = self._lines.get(ticket.user_id)
        if line is None:
            return
        if line.current is ticket:
            line.current = None
        elif ticket in line.waiting:
            line.waiting.remove(ticket)
        line.wake()
        if line.current is None and not line.waiting and line.refused is None:
            del self._lines[ticket.user_id]

    def refuse(self, ticket: Ticket, text: str) -> tuple[RefusedBatch, bool]:
        """Note a refused question's text; the batch it belongs to and whether it is the first of it (its
        handler then waits a moment for the rest, and sends the one notice: :meth:`close_refused`)."""
        line = self._lines.setdefault(ticket.user_id, _Line())
        first = line.refused is None or line.refused.closed
        if first:
            line.refused = RefusedBatch()
        assert line.refused is not None
        line.refused.texts.append(text)
        return line.refused, first

    def close_refused(self, user_id: int, batch: RefusedBatch) -> list[str]:
        """Stop gathering ``batch``; the texts in it. Later refusals start a new batch."""
        batch.closed = True
        line = self._lines.get(user_id)
        if line is not None and line.refused is batch:
            line.refused = None
            if line.current is None and not line.waiting:
                del self._lines[user_id]
        return list(batch.texts)

    def waiting(self, user_id: int) -> int:
        """Questions of the user in line (not counting the one being answered)."""
        line = self._lines.get(user_id)
        return len(line.waiting) if line else 0

    def _settle_idle(self, user_id: int, ticket: Ticket) -> Ticket:
        line = self._lines.get(user_id)
        if line is not None and line.current is None and not line.waiting and line.refused is None:
            del self._lines[user_id]
        return ticket
