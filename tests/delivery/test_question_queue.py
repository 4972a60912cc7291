"""The per-user question line: order, waiting for the window, the backlog, edits, cancellation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.services.question_queue import Admission, QuestionQueue
from bot.services.ratelimit import QuestionRateLimiter


def queue(limit: int = 2, window: float = 0.3, backlog: int = 3) -> QuestionQueue:
    return QuestionQueue(QuestionRateLimiter(limit, timedelta(seconds=window)), backlog)


async def test_questions_go_one_at_a_time_in_order_and_wait_for_the_window() -> None:
    line = queue()
    tickets = [line.arrive(1, n) for n in range(5)]
    assert [t.admission for t in tickets] == [Admission.GO] * 2 + [Admission.WAIT] * 3
    assert [t.notify for t in tickets] == [False, False, True, False, False]  # told once
    assert 0 < tickets[2].wait_seconds <= 0.3
    answered: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def ask(ticket_index: int) -> None:
        ticket = tickets[ticket_index]
        await line.turn(ticket)
        answered.append((ticket_index, loop.time() - started))
        await asyncio.sleep(0.01)
        line.done(ticket)

    await asyncio.gather(*(ask(n) for n in reversed(range(5))))  # started in any order
    assert [n for n, _ in answered] == [0, 1, 2, 3, 4]
    times = [t for _, t in answered]
    assert times[1] < 0.1 and times[2] >= 0.29 and times[4] >= 0.59  # two per 0.3 s window
    assert line.waiting(1) == 0


async def test_past_the_backlog_questions_are_refused_and_gathered() -> None:
    line = queue(limit=1, backlog=2)
    admissions = [line.arrive(1, n).admission for n in range(6)]
    assert admissions == [Admission.GO, Admission.WAIT, Admission.WAIT] + [Admission.REFUSED] * 3
    assert line.arrive(2, 0).admission is Admission.GO  # another user is not affected
    refused = [line.arrive(1, n) for n in (10, 11)]
    first_batch, first = line.refuse(refused[0], "ten")
    same_batch, again = line.refuse(refused[1], "eleven")
    assert first and not again and same_batch is first_batch
    assert line.close_refused(1, first_batch) == ["ten", "eleven"]
    _, new = line.refuse(refused[0], "later")
    assert new  # a later burst gets its own notice


async def test_a_cancelled_wait_leaves_the_line() -> None:
    line = queue(limit=1, window=30)
    first, second, third = (line.arrive(1, n) for n in range(3))
    await line.turn(first)
    waiting = asyncio.create_task(line.turn(second))
    await asyncio.sleep(0.02)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert line.waiting(1) == 1  # only the third is left
    line.done(first)
    assert third.admission is Admission.WAIT


async def test_edits_are_answered_without_room_until_spent() -> None:
    line = queue(limit=1, window=30)
    ticket = line.arrive(1, "m")
    await line.turn(ticket)
    line.done(ticket)
    for _ in range(2):  # two more versions of the same message
        edit = line.arrive(1, "m")
        assert edit.admission is Admission.GO
        await asyncio.wait_for(line.turn(edit), 1)
        line.done(edit)
    assert line.arrive(1, "m").admission is Admission.SPENT
    assert line.arrive(1, "other").admission is Admission.WAIT
