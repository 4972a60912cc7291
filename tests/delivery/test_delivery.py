"""The one sender: the scheduler's rules on a fake clock, and the durable outbox with a fake transport."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, settings_from
from bot.delivery import sender as sender_module
from bot.delivery.scheduler import CHAT_BURST, CHAT_RATE, Item, Scheduler, Wait
from bot.delivery.sender import Outgoing, Sender, html_message
from bot.delivery.transport import Blocked, Rejected, RetryLater, Unavailable
from bot.storage.database import Database
from bot.storage.delivery import Outbox
from bot.telegram.bot_api import retry_seconds

# ----------------------------------------------------------------- scheduler


def item(oid: int, chat: int, kind: str = "reply", **extra: Any) -> Item:
    return Item(oid, chat, kind, "sendMessage", {"text": str(oid)}, **extra)  # type: ignore[arg-type]


def drain(s: Scheduler, now: float, limit: int = 1000) -> list[Item]:
    """Everything the scheduler hands out at ``now``, each finished at once."""
    out = []
    for _ in range(limit):
        got = s.next(now)
        if isinstance(got, Wait):
            break
        out.append(got)
        s.finished(got, now)
    return out


def test_replies_go_before_announcements() -> None:
    s = Scheduler(rate=0)
    s.add_many((item(i, 100 + i, "announcement") for i in range(5)), 0.0)
    s.add(item(99, 7, "reply"), 0.0)
    s.add(item(98, 8, "reminder"), 0.0)
    order = [i.id for i in drain(s, 0.0)]
    assert order[:2] == [99, 98]
    assert sorted(order[2:]) == [0, 1, 2, 3, 4]


def test_a_flooding_chat_only_delays_itself() -> None:
    s = Scheduler(rate=0)
    s.add_many((item(i, 1) for i in range(50)), 0.0)
    first = s.next(0.0)
    assert isinstance(first, Item) and first.chat_id == 1
    s.finished(first, 0.0)
    s.add(item(1000, 2), 0.0)
    second = s.next(0.0)
    assert isinstance(second, Item) and second.id == 1000, "the other chat waits behind one message at most"


def test_one_chat_gets_a_burst_then_one_message_a_second() -> None:
    s = Scheduler(rate=0)
    s.add_many((item(i, 1) for i in range(10)), 0.0)
    assert len(drain(s, 0.0)) == CHAT_BURST
    wait = s.next(0.0)
    assert isinstance(wait, Wait) and wait.seconds == pytest.approx(1.0)
    assert [i.id for i in drain(s, 1.0)] == [3]
    assert [i.id for i in drain(s, 3.0)] == [4, 5]


def test_the_chat_rate_is_a_setting() -> None:
    assert settings_from({}).chat_rate_per_second == CHAT_RATE == 1.0
    fast = settings_from({"TELEGRAM_CHAT_RATE": "20"}).chat_rate_per_second
    s = Scheduler(rate=0, chat_rate=fast)
    s.add_many((item(i, 1) for i in range(10)), 0.0)
    assert len(drain(s, 0.0)) == CHAT_BURST
    wait = s.next(0.0)
    assert isinstance(wait, Wait) and wait.seconds == pytest.approx(1 / 20)
    assert [i.id for i in drain(s, 0.1)] == [3, 4]
    with pytest.raises(ConfigError, match="TELEGRAM_CHAT_RATE"):
        settings_from({"TELEGRAM_CHAT_RATE": "0"})


def test_overall_rate_is_kept() -> None:
    s = Scheduler(rate=25)
    s.add_many((item(i, 1000 + i, "announcement") for i in range(1000)), 0.0)
    sent = 0
    now = 0.0
    while now < 10.0:
        sent += len(drain(s, now))
        now += 0.01
    assert 25 * 10 <= sent <= 25 * 10 + 5


def test_messages_of_a_chat_keep_their_order_through_retries() -> None:
    s = Scheduler(rate=0)
    s.add_many((item(i, 1) for i in range(3)), 0.0)
    first = s.next(0.0)
    assert isinstance(first, Item) and first.id == 0
    assert isinstance(s.next(0.0), Wait), "one message per chat in flight"
    s.retry(first, 0.0, 2.0)
    assert isinstance(s.next(1.0), Wait), "the retried message blocks its chat until its time"
    assert [i.id for i in drain(s, 2.5)] == [0, 1, 2]


def test_flood_pauses_the_chat_and_repeated_floods_pause_everyone() -> None:
    s = Scheduler(rate=0)
    s.add_many((item(i, i) for i in range(1, 6)), 0.0)
    got = [s.next(0.0) for _ in range(3)]
    assert all(isinstance(g, Item) for g in got)
    s.flood(1, 5.0, 0.0)
    s.retry(got[0], 0.0, 5.0)  # type: ignore[arg-type]
    others = drain(s, 0.1)
    assert 1 not in {i.chat_id for i in others} and others, "one flood answer pauses only that chat"
    s.flood(2, 5.0, 0.2)
    s.flood(3, 5.0, 0.3)
    s.add(item(50, 50), 0.3)
    assert isinstance(s.next(0.4), Wait), "three chats flooded: everything waits"
    assert {i.chat_id for i in drain(s, 5.4)} >= {1, 50}


def test_expired_messages_are_set_aside_and_blocked_chats_dropped() -> None:
    s = Scheduler(rate=0)
    s.add(item(1, 1, expires=5.0), 0.0)
    s.add_many((item(i, 2) for i in range(2, 4)), 0.0)
    assert [i.id for i in drain(s, 10.0)] == [2, 3]
    assert [i.id for i in s.expired] == [1]
    s.add_many((item(i, 3) for i in range(10, 15)), 10.0)
    assert [i.id for i in s.drop_chat(3, 10.0)] == [10, 11, 12, 13, 14]
    assert s.pending == 0


# ----------------------------------------------------------------- sender


class FakeTransport:
    """Records calls; ``faults`` maps chat id to a list of errors raised by the next calls to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[int, list[Exception]] = {}
        self.blocked: set[int] = set()
        self.gate: asyncio.Event | None = None
        self._ids = 0

    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        if self.gate is not None:
            await self.gate.wait()
        chat = params["chat_id"]
        if chat in self.blocked:
            raise Blocked("bot was blocked by the user")
        pending = self.faults.get(chat)
        if pending:
            raise pending.pop(0)
        self.calls.append((method, params))
        self._ids += 1
        return self._ids

    def texts(self, chat: int) -> list[str]:
        return [p["text"] for _, p in self.calls if p["chat_id"] == chat]


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def settled(sender: Sender, ref: str, n: int, timeout: float = 10.0) -> dict[str, int]:
    async def poll() -> dict[str, int]:
        while True:
            counts = await sender.counts(ref)
            if sum(v for k, v in counts.items() if k != "pending") >= n:
                return counts
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


def messages(chats: range, ref: str = "ann:1", kind: str = "announcement") -> list[Outgoing]:
    return [
        html_message(c, f"hello {c}", kind=kind, ref=ref, user_id=c)  # type: ignore[arg-type]
        for c in chats
    ]


async def test_messages_are_sent_and_recorded(db: Database) -> None:
    transport = FakeTransport()
    sender = Sender(Outbox(db), transport, rate=0)
    await sender.start()
    ids = await sender.submit(messages(range(1, 21)))
    message_id = await asyncio.wait_for(sender.wait(ids[0]), 5)
    counts = await settled(sender, "ann:1", 20)
    await sender.stop()
    assert counts["sent"] == 20 and counts["pending"] == 0
    assert message_id is not None and await Outbox(db).message_id(ids[0]) == message_id
    assert sorted(c for c in range(1, 21) if transport.texts(c) == [f"hello {c}"]) == list(range(1, 21))


async def test_flood_control_is_waited_out(db: Database) -> None:
    transport = FakeTransport()
    transport.faults[5] = [RetryLater(0.3)]
    sender = Sender(Outbox(db), transport, rate=0)
    await sender.start()
    started = asyncio.get_running_loop().time()
    [oid] = await sender.submit([html_message(5, "after the flood")])
    await asyncio.wait_for(sender.wait(oid), 5)
    await sender.stop()
    assert asyncio.get_running_loop().time() - started >= 0.3
    assert transport.texts(5) == ["after the flood"]


def test_retry_after_is_read_as_seconds_or_timedelta() -> None:
    assert retry_seconds(3) == 3.0
    assert retry_seconds(dt.timedelta(seconds=7)) == 7.0


async def test_a_blocked_user_is_marked_and_their_other_messages_dropped(db: Database) -> None:
    transport = FakeTransport()
    transport.blocked.add(3)
    marked: list[int] = []

    async def on_blocked(user_id: int) -> None:
        marked.append(user_id)

    sender = Sender(Outbox(db), transport, rate=0, on_blocked=on_blocked)
    batch = [*messages(range(1, 6)), *messages(range(3, 4)), *messages(range(3, 4))]
    await sender.start()
    await sender.submit(batch)
    counts = await settled(sender, "ann:1", 7)
    await sender.stop()
    assert marked == [3]
    assert counts == {**counts, "sent": 4, "blocked": 3, "pending": 0}
    assert transport.texts(3) == []


async def test_network_errors_are_retried_with_backoff(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender_module, "BACKOFF_FIRST", 0.05)
    transport = FakeTransport()
    transport.faults[9] = [Unavailable("timed out"), Unavailable("502")]
    sender = Sender(Outbox(db), transport, rate=0)
    await sender.start()
    [oid] = await sender.submit([html_message(9, "eventually")])
    await asyncio.wait_for(sender.wait(oid), 5)
    await sender.stop()
    assert transport.texts(9) == ["eventually"]
    rows = await db.rows("SELECT attempts, state FROM outbox WHERE id = ?", (oid,))
    assert rows == [(2, "sent")]


async def test_unparsable_html_is_sent_as_plain_text(db: Database) -> None:
    transport = FakeTransport()
    transport.faults[4] = [Rejected("Bad Request: can't parse entities: unclosed tag")]
    sender = Sender(Outbox(db), transport, rate=0)
    await sender.start()
    [oid] = await sender.submit([html_message(4, "<b>Hall &amp; room")])
    await asyncio.wait_for(sender.wait(oid), 5)
    await sender.stop()
    assert transport.calls[-1][1]["text"] == "Hall & room" and "parse_mode" not in transport.calls[-1][1]


async def test_a_message_refused_for_good_fails_without_stalling_others(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "BACKOFF_FIRST", 0.01)
    transport = FakeTransport()
    transport.faults[2] = [Rejected("Bad Request: chat not found")] * 5
    sender = Sender(Outbox(db), transport, rate=0)
    await sender.start()
    await sender.submit(messages(range(1, 4)))
    counts = await settled(sender, "ann:1", 3)
    await sender.stop()
    assert (counts["sent"], counts["failed"]) == (2, 1)


async def test_cancel_stops_what_is_queued(db: Database) -> None:
    transport = FakeTransport()
    sender = Sender(Outbox(db), transport, rate=2)
    await sender.start()
    await sender.submit(messages(range(1, 101)))
    await asyncio.sleep(0.3)
    cancelled = await sender.cancel("ann:1")
    counts = await sender.counts("ann:1")
    await sender.stop()
    assert cancelled >= 90 and counts["pending"] == 0
    assert counts["sent"] + counts["cancelled"] == 100
    assert len(transport.calls) == counts["sent"]


async def test_a_restart_resumes_without_skipping_or_repeating(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    first = FakeTransport()
    sender = Sender(Outbox(db), first, rate=50)
    await sender.start()
    await sender.submit(messages(range(1, 201)))
    await asyncio.sleep(0.5)
    await sender.stop(grace=0)
    await db.close()
    assert 0 < len(first.calls) < 200

    db = await Database.open(path)
    second = FakeTransport()
    resumed = Sender(Outbox(db), second, rate=0)
    await resumed.start()
    counts = await settled(resumed, "ann:1", 200)
    await resumed.stop()
    await db.close()
    chats = [p["chat_id"] for _, p in first.calls + second.calls]
    assert sorted(chats) == list(range(1, 201)), "every chat exactly once"
    assert counts["sent"] == 200


async def test_replies_too_old_after_a_restart_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    blocked = FakeTransport()
    blocked.gate = asyncio.Event()  # never set: nothing goes out
    sender = Sender(Outbox(db), blocked, rate=0)
    await sender.start()
    await sender.submit([html_message(1, "stale answer", ref="q:1"), *messages(range(2, 3))])
    await sender.stop(grace=0)
    await db.close()

    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    db = await Database.open(path)
    transport = FakeTransport()
    resumed = Sender(Outbox(db), transport, rate=0, wall=lambda: later)
    await resumed.start()
    await settled(resumed, "ann:1", 1)
    counts = await resumed.counts("q:1")
    await resumed.stop()
    await db.close()
    assert counts["expired"] == 1 and transport.texts(1) == []
    assert transport.texts(2) == ["hello 2"], "announcements do not expire"


def test_a_chat_that_sent_before_is_not_starved_by_newcomers() -> None:
    s = Scheduler(rate=10)
    s.add(item(0, 1), 0.0)
    first = s.next(0.0)
    assert isinstance(first, Item)
    s.finished(first, 0.0)
    s.add(item(1, 1), 0.0)
    served_at = None
    now, oid = 0.0, 100
    while now < 5.0 and served_at is None:
        s.add(item(oid, oid), now)  # a new chat every 10 ms, faster than the overall rate
        oid += 1
        got = s.next(now)
        if isinstance(got, Item):
            if got.chat_id == 1:
                served_at = now
            s.finished(got, now)
        now += 0.01
    assert served_at is not None and served_at < 1.0, "behind only the chats that were ready before it"


def test_few_announcement_messages_are_in_flight_at_once() -> None:
    s = Scheduler(rate=0, max_in_flight=16)
    s.add_many((item(i, 100 + i, "announcement") for i in range(20)), 0.0)
    taken = [s.next(0.0) for _ in range(6)]
    sent = [t for t in taken if isinstance(t, Item)]
    assert len(sent) == 1, "after a crash, only this one can arrive twice"
    s.add(item(99, 7, "reply"), 0.0)
    reply = s.next(0.0)
    assert isinstance(reply, Item) and reply.id == 99, "replies are not held back by the broadcast"
    s.finished(sent[0], 0.1)
    assert isinstance(s.next(0.1), Item)
