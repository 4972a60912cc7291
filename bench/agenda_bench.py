"""Change-alert benchmark: many attendees bookmarked a session that moves; how long until every alert is
queued, and how long until all are delivered at the configured rate.

Run with ``.venv/bin/python bench/agenda_bench.py [--users N] [--bookmarks K] [--rate R]``. Every user
bookmarks the moved session (the worst case: it is the opening ceremony) and K-1 others, with the
default 15-minute reminders. The figures:

- *queue*: from the new knowledge being announced to every alert stored in the outbox (with the
  session's new snapshot and everyone's new reminder, in one transaction);
- *deliver at R/s*: the sender's scheduler on a simulated clock with an instant transport, keeping the
  overall rate R and the per-chat limits, so the time is the one the rate imposes;
- *sender throughput, no overall cap*: the real sender with a fast fake transport, draining the outbox,
  to show the rate, not the sender, sets the delivery time.

The script reports figures; it does not judge them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.delivery.scheduler import Item, Scheduler, Wait  # noqa: E402
from bot.delivery.sender import Sender  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from bot.services.agenda import AgendaService, details, session_start  # noqa: E402
from bot.storage.database import Database  # noqa: E402
from bot.storage.delivery import Outbox  # noqa: E402
from bot.storage.sql import now_text  # noqa: E402
from index.knowledge import KnowledgeBase, load_knowledge, validate_documents  # noqa: E402

KNOWLEDGE = ROOT / "tests" / "fixtures" / "agenda"
MOVED = "opening-ceremony"


class FastTransport:
    """Accepts every call at once."""

    def __init__(self) -> None:
        self.calls = 0

    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        self.calls += 1
        return self.calls


def utc(moment: datetime) -> str:
    """A moment as the agenda tables store it."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def moved_knowledge() -> KnowledgeBase:
    import yaml

    raw = yaml.safe_load((KNOWLEDGE / "summit.yaml").read_text(encoding="utf-8"))
    for session in raw["sessions"]:
        if session["id"] == MOVED:
            session.update(start="10:00", end="11:30")
    return validate_documents({"summit.yaml": yaml.safe_dump(raw, allow_unicode=True)})


async def populate(db: Database, kb: KnowledgeBase, users: int, per_user: int) -> int:
    """Users, bookmarks, snapshots and waiting reminders, written in bulk; the number of bookmarks."""
    others = [s.id for s in kb.sessions if s.id != MOVED]
    zone = ZoneInfo(kb.event.timezone)
    now = now_text()
    langs = ("en", "zh", "th")
    bookmarks = []
    reminders = []
    for user in range(1, users + 1):
        chosen = [MOVED] + [others[(user + i) % len(others)] for i in range(per_user - 1)]
        for sid in chosen:
            bookmarks.append((user, sid, now))
            start = session_start(kb.by_id[sid], zone)  # type: ignore[arg-type]
            if start is not None:
                due = start - timedelta(minutes=15)
                reminders.append((user, sid, utc(start), utc(due)))
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (user_id, telegram_language, first_seen, last_seen) VALUES (?, ?, ?, ?)",
            [(u, langs[u % 3], now, now) for u in range(1, users + 1)],
        )
        await tx.executemany(
            "INSERT INTO bookmarks (user_id, session_id, created_at) VALUES (?, ?, ?)", bookmarks
        )
        await tx.executemany(
            "INSERT INTO reminders (user_id, session_id, starts_at, due_at) VALUES (?, ?, ?, ?)", reminders
        )
        await tx.executemany(
            "INSERT INTO agenda_snapshot (session_id, details, seen_at) VALUES (?, ?, ?)",
            [
                (s.id, json.dumps(details(s, kb), ensure_ascii=False, sort_keys=True), now)
                for s in kb.sessions
            ],
        )
    return len(bookmarks)


def simulated_delivery(chats: list[int], rate: float) -> float:
    """Seconds the scheduler needs to hand out one alert per chat at ``rate``, transport instant."""
    scheduler = Scheduler(rate, now=0.0)
    scheduler.add_many((Item(i, chat, "alert", "sendMessage", {}) for i, chat in enumerate(chats)), 0.0)
    now = 0.0
    last = 0.0
    while scheduler.pending:
        got = scheduler.next(now)
        if isinstance(got, Wait):
            if got.seconds is None:
                break
            now += max(got.seconds, 1e-6)
            continue
        scheduler.finished(got, now)
        last = now
    return last


async def run(users: int, per_user: int, rate: float) -> None:
    kb = load_knowledge(KNOWLEDGE)
    moved = moved_knowledge()
    zone = ZoneInfo(kb.event.timezone)
    clock = datetime(2023, 11, 7, 12, tzinfo=zone)
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bot.sqlite3")
        started = time.perf_counter()
        total = await populate(db, kb, users, per_user)
        print(f"setup: {users:,} users, {total:,} bookmarks in {time.perf_counter() - started:.1f} s")

        transport = FastTransport()
        sender = Sender(Outbox(db), transport, rate=0)
        current = {"kb": moved}
        agenda = AgendaService(db, lambda: current["kb"], Translator.load(), sender=sender, now=lambda: clock)
        started = time.perf_counter()
        queued = await agenda.knowledge_loaded(moved)
        queue_seconds = time.perf_counter() - started
        waiting = await db.rows(
            "SELECT count(*) FROM reminders WHERE session_id = ? AND state = 'waiting'", (MOVED,)
        )
        print(
            f"queue: {queued:,} alerts stored in the outbox in {queue_seconds:.2f} s "
            f"({queued / queue_seconds:,.0f}/s), {waiting[0][0]:,} reminders moved to the new time"
        )

        chats = [
            row[0] for row in await db.rows("SELECT chat_id FROM outbox WHERE kind = 'alert' ORDER BY id")
        ]
        simulated = simulated_delivery(chats, rate)
        print(
            f"deliver at {rate:g}/s: {simulated:.0f} s ({simulated / 60:.1f} min) for {len(chats):,} alerts "
            f"(simulated clock, per-chat limits kept; {len(chats) / rate:.0f} s from the rate alone)"
        )

        del sender
        drain = Sender(Outbox(db), transport, rate=0)
        started = time.perf_counter()
        await drain.start()
        while (await drain.counts(f"alert:{MOVED}"))["pending"]:
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        await drain.stop()
        print(
            f"sender throughput, no overall cap: {transport.calls:,} alerts in {seconds:.1f} s "
            f"({transport.calls / seconds:,.0f}/s)"
        )
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--bookmarks", type=int, default=5)
    parser.add_argument(
        "--rate", type=float, default=25.0, help="overall messages per second (TELEGRAM_RATE_LIMIT)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.users, args.bookmarks, args.rate))


if __name__ == "__main__":
    main()
