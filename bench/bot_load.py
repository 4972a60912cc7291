"""Load on the whole bot: simulated users ask questions at once through the local Bot API fake.

The real Application (long polling) and the real engine run against ``tests/botapi_fake.py`` in this
process. Every user sends their questions one after another, each as soon as the previous one is
answered; all users start together. Prints answers per second and the latency from injecting an update
to the bot's reply (p50, p99). The overall rate limiter is turned off: the fake has no flood limits.

    python bench/bot_load.py [--users 200] [--questions 5] [--knowledge knowledge]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from aiohttp import web  # noqa: E402
from bot_harness import running_bot, settings_for  # noqa: E402
from botapi_fake import FakeBotApi  # noqa: E402

from index.engine import Engine  # noqa: E402

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


class ReplyClock(FakeBotApi):
    """The fake, also telling a waiting user the moment the bot sends a message to their chat."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[float]] = {}

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        call = self.calls[-1]  # recorded by this request: nothing ran in between
        waiter = self.waiting.pop(call.chat_id, None) if call.ok and call.method == "sendMessage" else None
        if waiter is not None:
            waiter.set_result(call.at)
        return response


async def user(fake: ReplyClock, user_id: int, count: int, latencies: list[float]) -> None:
    """Ask ``count`` questions, each after the answer to the previous one arrived."""
    loop = asyncio.get_running_loop()
    for n in range(count):
        reply = fake.waiting[user_id] = loop.create_future()
        update_id = fake.user_message(user_id, QUESTIONS[(user_id + n) % len(QUESTIONS)])
        latencies.append(await asyncio.wait_for(reply, 120) - fake.injected_at(update_id))


async def main(users: int, questions: int, knowledge: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.load(knowledge, Path(tmp) / "index")
        async with ReplyClock() as fake:
            settings = settings_for(fake, Path(tmp) / "data", TELEGRAM_RATE_LIMIT="0")
            async with running_bot(settings, engine) as application:
                await fake.wait_for(lambda c: c.method == "getUpdates")
                latencies: list[float] = []
                started = time.monotonic()
                await asyncio.gather(*(user(fake, 1000 + u, questions, latencies) for u in range(users)))
                elapsed = time.monotonic() - started
                stored = await application.bot_data["services"].db.usage()
    latencies.sort()
    total = len(latencies)
    print(
        f"{users} users × {questions} questions, {total} answers, {elapsed:.2f} s ({stored.questions} stored)"
    )
    print(f"answers/s: {total / elapsed:.0f}")
    print(f"latency p50: {statistics.median(latencies) * 1000:.0f} ms")
    print(f"latency p99: {latencies[min(total - 1, int(total * 0.99))] * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.users, args.questions, args.knowledge))
