"""An announcement to many subscribers through the Bot API fake, with flood control and blocked users.

The bot runs as ``summit-bot run`` in its own process (so it can be killed), the Bot API fake in another
(``tests/botapi_fake.py``, as in ``bench/bot_load.py``), and this process seeds the subscribers straight
into the bot's SQLite file and queues the announcement with ``summit-bot announce``, as an operator would.
The fake answers 403 for ``--blocked`` of the subscribers and 429 (retry after 1 s) to ``--floods``
requests spread over the broadcast; while the bot runs, a new user asks a question every ``--ask-every``
seconds (not while it is down: the restart itself is reported apart).

Two scenarios, each with a fresh bot process:

* straight: the whole broadcast in one run;
* killed: the bot process is killed with SIGKILL half way, then started again.

For each it prints the achieved rate of Bot API requests for the announcement against the configured cap
(``--rate``, the bot's TELEGRAM_RATE_LIMIT), duplicates (subscribers who got it more than once), losses
(subscribers who never got it, blocked ones aside), the counts the bot recorded, and the answer latency
of the questions asked during the broadcast.

    python bench/broadcast.py [--subscribers 10000] [--rate 25] [--blocked 0.05] [--floods 10]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from aiohttp import web  # noqa: E402
from botapi_fake import FakeBotApi  # noqa: E402

FIRST_SUBSCRIBER = 1_000_000
FIRST_ASKER = 9_000_000
QUESTIONS = [
    "When is the summit?",
    "峰会什么时候举行？",
    "การประชุมจัดขึ้นเมื่อไร",
    "Where is the opening ceremony?",
]


def is_answer(call: Any) -> bool:
    markup = call.params.get("reply_markup")
    if not (call.ok and call.method == "sendMessage" and isinstance(markup, dict)):
        return False
    rows = markup.get("inline_keyboard") or [[]]
    return any(str(b.get("callback_data", "")).startswith("fb:") for b in rows[-1])


class BroadcastFake(FakeBotApi):
    """The fake, counting the announcement's requests and injecting flood errors as it goes."""

    def __init__(self) -> None:
        super().__init__()
        self.marker = ""
        self.received: Counter[int] = Counter()
        self.attempts: list[tuple[float, int]] = []
        self.flood_every = 0
        self.answers: dict[int, float] = {}
        self.asked: dict[int, float] = {}

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        call = self.calls[-1]
        if call.method == "sendMessage" and self.marker and self.marker in str(call.params.get("text")):
            self.attempts.append((call.at, call.status))
            if call.ok:
                self.received[call.chat_id] += 1  # type: ignore[index]
            if self.flood_every and len(self.attempts) % self.flood_every == 0:
                self.flood("sendMessage", 1, retry_after=1)
        elif is_answer(call) and call.chat_id in self.asked and call.chat_id not in self.answers:
            self.answers[call.chat_id] = call.at - self.asked[call.chat_id]  # type: ignore[index]
        return response

    def reset(self, marker: str, flood_every: int) -> None:
        self.marker, self.flood_every = marker, flood_every
        self.received.clear()
        self.attempts.clear()
        self.answers.clear()
        self.asked.clear()

    def polling_since_start(self) -> tuple[int, bool]:
        """How many times a bot started (getMe), and whether the latest one polls for updates since."""
        starts = [c.at for c in self.calls if c.method == "getMe"]
        polling = bool(starts) and (
            self.long_polls_waiting > 0
            or any(c.method == "getUpdates" and c.at > starts[-1] for c in self.calls[-50:])
        )
        return len(starts), polling

    def stats(self) -> dict[str, Any]:
        statuses = Counter(status for _, status in self.attempts)
        times = [at for at, _ in self.attempts]
        gap = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
        first = self.attempts[0][0] if self.attempts else 0.0
        last = self.attempts[-1][0] if self.attempts else 0.0
        sent_in_window = sum(
            1 for c in self.calls if first <= c.at <= last and c.method in ("sendMessage", "editMessageText")
        )
        return {
            "all_requests": sent_in_window,
            "gap": gap,
            "received": dict(self.received),
            "attempts": len(self.attempts),
            "first": self.attempts[0][0] if self.attempts else None,
            "last": self.attempts[-1][0] if self.attempts else None,
            "statuses": dict(statuses),
            "latencies": list(self.answers.values()),
            "asked": len(self.asked),
            "polling": self.polling_since_start(),
        }


async def serve(conn: Connection, blocked: list[int], ask_every: float) -> None:
    loop = asyncio.get_running_loop()
    async with BroadcastFake() as fake:
        for chat_id in blocked:
            fake.block_user(chat_id)
        conn.send({"token": fake.token, "port": fake.port})
        asker = 0
        asking = False

        async def ask_loop() -> None:
            nonlocal asker
            while True:
                await asyncio.sleep(ask_every)
                if asking:
                    user = FIRST_ASKER + asker
                    asker += 1
                    update = fake.user_message(user, QUESTIONS[asker % len(QUESTIONS)])
                    fake.asked[user] = fake.injected_at(update)

        task = asyncio.create_task(ask_loop())
        while (message := await loop.run_in_executor(None, conn.recv)) is not None:
            command, *args = message
            if command == "reset":
                fake.reset(*args)
                conn.send(True)
            elif command == "asking":
                asking = args[0]
                conn.send(True)
            elif command == "stats":
                conn.send(fake.stats())
        task.cancel()


def fake_process(conn: Connection, blocked: list[int], ask_every: float) -> None:
    asyncio.run(serve(conn, blocked, ask_every))


class Bench:
    def __init__(self, args: argparse.Namespace, conn: Connection, fake: dict[str, Any], data: Path) -> None:
        self.args = args
        self.conn = conn
        self.data = data
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake["token"],
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake['port']}",
            "SUMMIT_BOT_DATA_DIR": str(data),
            "TELEGRAM_RATE_LIMIT": str(args.rate),
            "LOG_LEVEL": "WARNING",
        }
        if args.knowledge:
            self.env["KNOWLEDGE_DIR"] = str(args.knowledge)
        self.log = open(data / "bot.log", "ab")  # noqa: SIM115

    def ask(self, *message: Any) -> Any:
        self.conn.send(message)
        return self.conn.recv()

    def start_bot(self) -> subprocess.Popen[bytes]:
        starts_before = self.ask("stats")["polling"][0]
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 300
        while (state := self.ask("stats")["polling"])[0] <= starts_before or not state[1]:
            if bot.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the bot did not start; see {self.data / 'bot.log'}")
            time.sleep(0.2)
        return bot

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"summit-bot {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    def scenario(self, name: str, expected: set[int], blocked: set[int], kill: bool) -> None:
        marker = f"[{name}]"
        flood_every = max(1, len(expected | blocked) // (self.args.floods + 1)) if self.args.floods else 0
        self.ask("reset", marker, flood_every)
        bot = self.start_bot()
        self.ask("asking", True)
        queued = self.cli(
            "announce",
            "--en",
            f"{marker} Shuttle buses now leave from <b>Gate 3</b>.",
            "--zh",
            f"{marker} 班车改在<b>3号门</b>发车。",
            "--th",
            f"{marker} รถรับส่งออกจาก<b>ประตู 3</b> แล้ว",
        )
        print(f"{name}: {queued}")
        total = len(expected) + len(blocked)
        killed_at = None
        deadline = time.monotonic() + self.args.timeout
        try:
            while True:
                stats = self.ask("stats")
                if kill and killed_at is None and stats["attempts"] >= total // 2:
                    bot.send_signal(signal.SIGKILL)
                    bot.wait()
                    self.ask("asking", False)  # questions asked while it is down measure the restart
                    killed_at = stats["attempts"]
                    restart = time.monotonic()
                    bot = self.start_bot()
                    self.ask("asking", True)
                    print(
                        f"  killed after {killed_at} requests; up again in {time.monotonic() - restart:.1f} s"
                    )
                if set(stats["received"]) >= expected or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(1.5)  # let the bot record the last deliveries and finish the announcement
            stats = self.ask("stats")
            listing = self.cli("announcements").splitlines()
        finally:
            self.ask("asking", False)
            bot.send_signal(signal.SIGINT)
            try:
                bot.wait(timeout=60)
            except subprocess.TimeoutExpired:
                bot.kill()
        self.report(name, stats, expected, blocked, killed_at, listing)

    def report(
        self,
        name: str,
        stats: dict[str, Any],
        expected: set[int],
        blocked: set[int],
        killed_at: int | None,
        listing: list[str],
    ) -> None:
        received = {int(k): v for k, v in stats["received"].items()}
        elapsed = (stats["last"] or 0) - (stats["first"] or 0)
        rate = (stats["attempts"] - 1) / elapsed if elapsed > 0 else float("nan")
        overall = (stats["all_requests"] - 1) / elapsed if elapsed > 0 else float("nan")
        duplicates = sum(n - 1 for chat, n in received.items() if n > 1)
        lost = len(expected - set(received))
        wrongly = len(blocked & set(received))
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats["statuses"].items()))
        print(f"  requests for the announcement: {stats['attempts']} ({statuses})")
        print(f"  from first to last request: {elapsed:.1f} s")
        cap = self.args.rate
        share = overall / cap * 100 if cap else float("nan")
        restart = ", restart included" if killed_at is not None else ""
        print(
            f"  achieved rate{restart}: {overall:.1f} messages/s against a cap of {cap:g}/s ({share:.1f}%); "
            f"the announcement {rate:.1f}/s, answers and progress the rest"
        )
        if killed_at is not None and elapsed > stats["gap"] > 0:
            running = (stats["all_requests"] - 1) / (elapsed - stats["gap"])
            print(
                f"  while a bot was running (the {stats['gap']:.1f} s without requests left out): "
                f"{running:.1f} messages/s ({running / cap * 100:.1f}% of the cap)"
            )
        others = len(set(received) - expected)
        print(
            f"  delivered to {len(expected & set(received))} of the {len(expected)} subscribers who did not "
            "block the bot" + (f", and to {others} people who started the bot meanwhile" if others else "")
        )
        print(f"  duplicates: {duplicates}, losses: {lost}, sent to blocked users: {wrongly}")
        latencies = sorted(stats["latencies"])
        if latencies:
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(
                f"  questions during the broadcast: {len(latencies)} of {stats['asked']} answered, "
                f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
            )
        for line in listing[:1]:
            print(f"  the bot's record: {line[:40]}…{line[line.find('sent') :]}" if "sent" in line else line)


async def seed(path: Path, subscribers: list[int]) -> None:
    from bot.storage.database import Database
    from bot.storage.sql import now_text

    db = await Database.open(path)
    langs = ("en", "zh", "th")
    now = now_text()
    async with db.transaction() as tx:
        await tx.rows("UPDATE users SET blocked = 0")
        await tx.executemany(
            """INSERT INTO users (user_id, telegram_language, first_seen, last_seen) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id) DO NOTHING""",
            [(user_id, langs[user_id % 3], now, now) for user_id in subscribers],
        )
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="the bot's TELEGRAM_RATE_LIMIT (messages/s)")
    parser.add_argument(
        "--blocked", type=float, default=0.05, help="share of subscribers who blocked the bot"
    )
    parser.add_argument("--floods", type=int, default=10, help="429 answers spread over the broadcast")
    parser.add_argument("--ask-every", type=float, default=0.5, help="seconds between questions asked")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for one broadcast")
    parser.add_argument("--knowledge", type=Path, default=None)
    parser.add_argument("--scenario", choices=("both", "straight", "killed"), default="both")
    args = parser.parse_args()

    subscribers = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + args.subscribers))
    blocked = set(random.Random(7).sample(subscribers, int(len(subscribers) * args.blocked)))
    expected = set(subscribers) - blocked
    conn, child_conn = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=fake_process, args=(child_conn, sorted(blocked), args.ask_every), daemon=True
    )
    child.start()
    fake = conn.recv()
    print(
        f"{args.subscribers} subscribers ({len(blocked)} blocked the bot), cap {args.rate:g} messages/s, "
        f"{args.floods} flood errors (retry after 1 s), a question every {args.ask_every:g} s"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(args, conn, fake, Path(tmp))
            names = ("straight", "killed") if args.scenario == "both" else (args.scenario,)
            for name in names:
                asyncio.run(seed(Path(tmp) / "bot.sqlite3", subscribers))
                bench.scenario(name, expected, blocked, kill=name == "killed")
    finally:
        conn.send(None)
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


if __name__ == "__main__":
    main()
