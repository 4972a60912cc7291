"""Load on the whole bot: simulated users ask questions through the local Bot API fake.

The bot (the real Application with long polling and the real engine, started as ``run_bot`` starts it)
runs in this process. The Bot API fake (``tests/botapi_fake.py``) and the simulated users run in a
child process, as Telegram is remote in reality: the cost of serving the Bot API is not charged to the
bot's core. Two scenarios, one after the other against the same running bot:

* burst: every user sends their questions one after another, each as soon as the answer to the previous
  one arrives, all users at once (a closed loop, about ``--users`` questions always in flight): the
  answers per second are the bot's capacity.
* steady: the same number of questions offered at a fixed rate (``--rate`` per second), each sent at its
  scheduled time whether or not earlier ones were answered (an open loop); questions go round the users,
  so a user's next question comes ``users / rate`` seconds after their previous one.

Latency is from the fake queueing the update to the fake receiving the message with the answer's 👍/👎
buttons (its last part); answers in a chat are matched to that chat's questions in order. The bot's
overall rate limiter is off: the fake has no flood limits. Before the scenarios, one user asks each
question once, unmeasured, so that first-use costs are not counted.

Per scenario it prints answers per second, latency p50/p99, and a breakdown: the bot process's CPU time
per answer (all its threads), engine time per question, and Bot API calls per answer by method.

    python bench/bot_load.py [--users 200] [--questions 5] [--rate 150] [--knowledge knowledge]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from aiohttp import web  # noqa: E402
from botapi_fake import Call, FakeBotApi  # noqa: E402

QUESTIONS = [
    "When is the summit?",
    "峰会什么时候举行？",
    "การประชุมจัดขึ้นเมื่อไร",
    "How do I get to Wuzhen from Hangzhou?",
    "Where is the opening ceremony?",
    "会场有无线网络吗？",
    "What is the capital of France?",
    "ต้องนำอะไรไปงานประชุม",
]
FIRST_USER = 1000
WARM_UP_USER = 999
REPLY_TIMEOUT = 120.0


def ends_answer(call: Call) -> bool:
    """Whether the bot's call is the last message of an answer: the one carrying the 👍/👎 buttons."""
    markup = call.params.get("reply_markup")
    if not (call.ok and call.method == "sendMessage" and isinstance(markup, dict)):
        return False
    rows = markup.get("inline_keyboard") or [[]]
    return any(str(button.get("callback_data", "")).startswith("fb:") for button in rows[-1])


class ReplyClock(FakeBotApi):
    """The fake, also telling each waiting question of a chat, in order, when its answer arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, deque[asyncio.Future[float]]] = defaultdict(deque)

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        call = self.calls[-1]  # recorded by this request: nothing ran in between
        queue = self.waiting.get(call.chat_id) if ends_answer(call) else None  # type: ignore[arg-type]
        if queue:
            queue.popleft().set_result(call.at)
        return response

    async def ask(self, user_id: int, text: str) -> float:
        """Send ``text`` from the user; the seconds until the bot answered it."""
        reply = asyncio.get_running_loop().create_future()
        self.waiting[user_id].append(reply)
        update_id = self.user_message(user_id, text)
        return await asyncio.wait_for(reply, REPLY_TIMEOUT) - self.injected_at(update_id)


def question(user: int, n: int) -> str:
    return QUESTIONS[(user + n) % len(QUESTIONS)]


async def burst(fake: ReplyClock, users: int, questions: int, rate: float) -> list[float]:
    """Every user asks their questions back to back, all users at once."""

    async def one_user(user: int) -> list[float]:
        return [await fake.ask(FIRST_USER + user, question(user, n)) for n in range(questions)]

    per_user = await asyncio.gather(*(one_user(u) for u in range(users)))
    return [latency for latencies in per_user for latency in latencies]


async def steady(fake: ReplyClock, users: int, questions: int, rate: float) -> list[float]:
    """Question ``k`` is sent at ``k / rate`` seconds, from user ``k mod users``."""
    start = time.monotonic()
    asked: list[asyncio.Task[float]] = []
    for k in range(users * questions):
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        user, n = k % users, k // users
        asked.append(asyncio.create_task(fake.ask(FIRST_USER + user, question(user, n))))
    return list(await asyncio.gather(*asked))


SCENARIOS: dict[str, Callable[[ReplyClock, int, int, float], Awaitable[list[float]]]] = {
    "burst": burst,
    "steady": steady,
}


async def serve(conn: Connection, users: int, questions: int, rate: float) -> None:
    """The child's loop: report the fake's address, then run each scenario the parent names."""
    async with ReplyClock() as fake:
        conn.send({"token": fake.token, "base_url": fake.base_url})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # the bot is running (loading the engine takes a while)
        for text in QUESTIONS:
            await fake.ask(WARM_UP_USER, text)
        conn.send("ready")
        while (name := await loop.run_in_executor(None, conn.recv)) is not None:
            calls_before = len(fake.calls)
            started = time.monotonic()
            latencies = await SCENARIOS[name](fake, users, questions, rate)
            elapsed = time.monotonic() - started
            calls = Counter(c.method for c in fake.calls[calls_before:] if c.method != "getUpdates")
            polls = sum(1 for c in fake.calls[calls_before:] if c.method == "getUpdates")
            conn.send({"latencies": latencies, "elapsed": elapsed, "calls": dict(calls), "polls": polls})


def fake_process(conn: Connection, users: int, questions: int, rate: float) -> None:
    """Entry point of the child process: the Bot API fake and the simulated users."""
    asyncio.run(serve(conn, users, questions, rate))


def report(name: str, result: dict[str, Any], cpu: float, engine: tuple[float, int], rate: float) -> None:
    latencies = sorted(result["latencies"])
    total = len(latencies)
    engine_seconds, engine_questions = engine
    offered = f", offered {rate:.0f}/s" if name == "steady" else ""
    print(f"{name}: {total} answers in {result['elapsed']:.2f} s{offered}")
    print(f"  answers/s:   {total / result['elapsed']:.0f}")
    print(f"  latency p50: {statistics.median(latencies) * 1000:.0f} ms")
    print(f"  latency p99: {latencies[min(total - 1, int(total * 0.99))] * 1000:.0f} ms")
    print(f"  bot CPU per answer: {cpu / total * 1000:.2f} ms (all threads of the bot process)")
    if engine_questions:
        print(f"  engine per question: {engine_seconds / engine_questions * 1000:.2f} ms (wall, in batches)")
    calls = ", ".join(f"{method} {count / total:.2f}" for method, count in sorted(result["calls"].items()))
    print(f"  Bot API calls per answer: {calls}; getUpdates {result['polls']} in all")


async def main(users: int, questions: int, rate: float, knowledge: Path) -> None:
    from bot_harness import running_bot

    from bot.config import settings_from
    from index.engine import Engine

    conn, child_conn = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=fake_process, args=(child_conn, users, questions, rate), daemon=True
    )
    child.start()
    loop = asyncio.get_running_loop()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = Engine.load(knowledge, Path(tmp) / "index")
            fake = await loop.run_in_executor(None, conn.recv)
            settings = settings_from(
                {
                    "TELEGRAM_BOT_TOKEN": fake["token"],
                    "TELEGRAM_API_BASE_URL": fake["base_url"],
                    "SUMMIT_BOT_DATA_DIR": str(Path(tmp) / "data"),
                    "TELEGRAM_RATE_LIMIT": "0",
                }
            )
            async with running_bot(settings, engine) as application:
                answering = application.bot_data["services"].answering
                conn.send("started")
                assert await loop.run_in_executor(None, conn.recv) == "ready"
                print(f"{users} users × {questions} questions per scenario")
                for name in SCENARIOS:
                    cpu, engine_before = time.process_time(), answering.engine_stats()
                    conn.send(name)
                    result = await loop.run_in_executor(None, conn.recv)
                    engine_after = answering.engine_stats()
                    engine_delta = (engine_after[0] - engine_before[0], engine_after[1] - engine_before[1])
                    report(name, result, time.process_time() - cpu, engine_delta, rate)
    finally:
        conn.send(None)  # the fake stops only now that the bot no longer polls it
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=5, help="questions per user")
    parser.add_argument("--rate", type=float, default=150.0, help="questions per second in 'steady'")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.users, args.questions, args.rate, args.knowledge))
