"""How many questions one user may ask in a short time, so one sender cannot starve everyone else.

A user may ask ``limit`` questions in any ``window`` (a sliding window). A message and its later edits
are one question: the edits do not count again, but only the first ``answers_per_message`` versions of
one message are answered within the window (editing a message twenty times does not give twenty
answers). :meth:`QuestionRateLimiter.check` says what to do with a question at once (the first one over
the limit gets one "slow down", the following ones are dropped); the bot itself keeps questions over
the limit waiting instead (:mod:`bot.services.question_queue`, with :meth:`~QuestionRateLimiter.take`
and the other queries below).

Staff are not exempt. Only questions are counted: commands and buttons cost no engine time and are
left to the sender's per-chat fairness.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ANSWERS_PER_MESSAGE = 3
"""Versions of one message (the original and its edits) answered within one window."""
MAX_TRACKED_USERS = 10_000
"""Past this many users in memory, those with an empty window are forgotten."""


class Verdict(enum.Enum):
    ANSWER = "answer"
    """Within the limit: answer it."""
    SLOW_DOWN = "slow_down"
    """The first question over the limit: tell the user once, do not answer."""
    DROP = "drop"
    """Over the limit and already told (or an edit answered often enough): say nothing."""


@dataclass
class _UserWindow:
    asked: deque[tuple[datetime, Hashable]] = field(default_factory=deque)
    """(time first asked, message key) of the questions counted in the window, oldest first."""
    answers: dict[Hashable, int] = field(default_factory=dict)
    """Answers given per message key counted in the window."""
    warned: bool = False


class QuestionRateLimiter:
    """Per-user sliding window of questions; kept in memory (a restart forgives everyone)."""

    def __init__(
        self,
        limit: int = 10,
        window: timedelta = timedelta(seconds=30),
        *,
        answers_per_message: int = ANSWERS_PER_MESSAGE,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if limit < 1 or window <= timedelta(0):
            raise ValueError("the question rate needs a limit of at least 1 and a positive window")
        self.limit = limit
        self.window = window
        self.answers_per_message = answers_per_message
        self._now = now
        self._users: dict[int, _UserWindow] = {}

    def check(self, user_id: int, message_key: Hashable) -> Verdict:
        """Count a question (or an edit of one, same ``message_key``) from ``user_id``; what to do with it."""
        now = self._now()
        if len(self._users) > MAX_TRACKED_USERS:
            self.forget_idle()
        state = self._users.setdefault(user_id, _UserWindow())
        self._expire(state, now)
        if message_key in state.answers:
            if state.answers[message_key] >= self.answers_per_message:
                return Verdict.DROP
            state.answers[message_key] += 1
            return Verdict.ANSWER
        if len(state.asked) >= self.limit:
            if state.warned:
                return Verdict.DROP
            state.warned = True
            return Verdict.SLOW_DOWN
        state.warned = False
        state.asked.append((now, message_key))
        state.answers[message_key] = 1
        return Verdict.ANSWER

    # -- for the question queue ----------------------------------------------------------------

    def _state(self, user_id: int) -> _UserWindow:
        if len(self._users) > MAX_TRACKED_USERS:
            self.forget_idle()
        state = self._users.setdefault(user_id, _UserWindow())
        self._expire(state, self._now())
        return state

    def room(self, user_id: int) -> int:
        """New questions the user may ask now."""
        return max(0, self.limit - len(self._state(user_id).asked))

    def counts(self, user_id: int, message_key: Hashable) -> bool:
        """Whether the message is counted in the window already (a new version of it costs no room)."""
        return message_key in self._state(user_id).answers

    def spent(self, user_id: int, message_key: Hashable) -> bool:
        """Whether the message's versions were answered ``answers_per_message`` times in the window."""
        return self._state(user_id).answers.get(message_key, 0) >= self.answers_per_message

    def take(self, user_id: int, message_key: Hashable) -> float:
        """Count the question now when the window has room (0.0); else the seconds until it has."""
        state = self._state(user_id)
        if message_key in state.answers:
            state.answers[message_key] += 1
            return 0.0
        if len(state.asked) < self.limit:
            state.asked.append((self._now(), message_key))
            state.answers[message_key] = 1
            return 0.0
        return self._until_free(state, 1)

    def free_in(self, user_id: int, n: int) -> float:
        """About how many seconds until ``n`` more questions fit in the window."""
        return self._until_free(self._state(user_id), n)

    def _until_free(self, state: _UserWindow, n: int) -> float:
        """Seconds until the ``n``-th question past the window's room fits: the ``n``-th oldest in the
        window leaves it (one not yet counted is counted now), ``window`` more per full round."""
        window = self.window.total_seconds()
        rounds, index = divmod(max(n, 1) - 1, self.limit)
        if index < len(state.asked):
            first = (state.asked[index][0] + self.window - self._now()).total_seconds()
        else:
            first = window
        return max(first, 0.001) + window * rounds

    def _expire(self, state: _UserWindow, now: datetime) -> None:
        while state.asked and now - state.asked[0][0] >= self.window:
            _, key = state.asked.popleft()
            state.answers.pop(key, None)

    def forget_idle(self) -> int:
        """Drop users with nothing left in their window (keeps memory flat); how many were dropped."""
        now = self._now()
        idle = []
        for user_id, state in self._users.items():
            self._expire(state, now)
            if not state.asked:
                idle.append(user_id)
        for user_id in idle:
            del self._users[user_id]
        return len(idle)
