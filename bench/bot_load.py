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

Two more scenarios run ``summit-bot run`` in its own process (as an operator starts it, with the
default overall limit of 25 messages a second), the fake and the users in this one:

* kill: 50 users ask 10 questions each, one a second (50 questions a second in all, twice the sending
  limit, so replies queue up); when half the answers are delivered the bot is killed
  (SIGKILL) and started again on the same data. It prints the answers delivered, the questions answered
  twice and the questions never answered, and what the killed process left in its inbox and outbox.
* flood: 50 users each ask 5 questions, one every 2.5 s (20 questions a second in all), first alone,
  then while one more user sends 300 messages in 3 seconds. It prints the 50 users' latency p50/p99
  without and with the flood.
* paste: 20 users each send 20 questions at once (400 in the same instant), with the default settings
  (10 questions per user per 30 s, 25 messages a second overall, one a second per chat). Every question
  must be answered exactly once and in order: it prints the replies per user, the questions answered
  more than once or never, whether each user's questions were stored once each in the order sent (the
  bot answers a user's questions one after another, so the k-th reply answers the k-th question), the
  notices sent, and the time to answer p50/p99 over all 400, for the first 10 of each user (within the
  rate) and for the other 10 (which wait for the window).

    python bench/bot_load.py [--users 200] [--questions 5] [--rate 150] [--knowledge knowledge]
                             [--only burst,steady,kill,flood,paste]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
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


# ----------------------------------------------------------------- the bot in its own process

KILL_USERS, KILL_QUESTIONS = 50, 10
FLOOD_USERS, FLOOD_QUESTIONS = 50, 5
FLOOD_PACE = 2.5
"""Seconds between one user's questions in the flood scenario: 50 users ask 20 a second together, under
the overall limit of 25 messages a second, so that the figures show waiting, not the limit itself."""
FLOOD_MESSAGES, FLOOD_SECONDS = 300, 3.0
FLOODER = 9999


def answers_by_chat(fake: FakeBotApi) -> Counter[int]:
    return Counter(call.chat_id for call in fake.calls if ends_answer(call))  # type: ignore[misc]


async def wait_answers(fake: FakeBotApi, total: int, timeout: float, quiet: float = 15.0) -> None:
    """Until ``total`` answers are delivered, ``quiet`` seconds pass without a new one, or ``timeout``."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_total = sum(answers_by_chat(fake).values())
        if now_total >= total:
            return
        if now_total != last:
            last, last_change = now_total, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return
        await asyncio.sleep(0.1)


async def kill_scenario(
    fake: ReplyClock, data: Path, log: Path, knowledge: Path
) -> asyncio.subprocess.Process:
    """The kill scenario; returns the restarted bot, still running."""
    import sqlite3

    from bot_harness import start_bot_process

    users = range(FIRST_USER, FIRST_USER + KILL_USERS)
    total = KILL_USERS * KILL_QUESTIONS
    bot = await start_bot_process(fake, data, log, KNOWLEDGE_DIR=str(knowledge))
    await fake.wait_for(lambda c: c.method == "getUpdates", timeout=300)
    started = time.monotonic()

    async def ask_all() -> None:  # a question from every user each second: 50 a second, twice the limit
        for n in range(KILL_QUESTIONS):
            for user in users:
                fake.user_message(user, question(user, n))
                await asyncio.sleep(1.0 / KILL_USERS)

    asking = asyncio.create_task(ask_all())
    await wait_answers(fake, total // 2, timeout=120)
    bot.send_signal(signal.SIGKILL)
    await bot.wait()
    killed_at = time.monotonic() - started
    before = sum(answers_by_chat(fake).values())
    with contextlib.closing(sqlite3.connect(data / "bot.sqlite3")) as db, db:
        pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        unhandled = db.execute("SELECT count(*) FROM inbox WHERE handled_at IS NULL").fetchone()[0]
    restart = time.monotonic()
    bot = await start_bot_process(fake, data, log, KNOWLEDGE_DIR=str(knowledge))
    await asking
    await wait_answers(fake, total, timeout=300)
    done = time.monotonic()
    await asyncio.sleep(3.0)  # answers sent twice would come now
    got = answers_by_chat(fake)
    delivered = sum(min(got[user], KILL_QUESTIONS) for user in users)
    twice = sum(max(0, got[user] - KILL_QUESTIONS) for user in users)
    print(
        f"kill: {KILL_USERS} users × {KILL_QUESTIONS} questions, one a second each; "
        f"SIGKILL after {killed_at:.1f} s"
    )
    print(f"  answers delivered before the kill: {before}")
    print(f"  the killed process left: {pending} replies queued, {unhandled} updates stored but not handled")
    print(f"  after the restart: all delivered {done - restart:.1f} s after it (start-up included)")
    print(f"  questions answered: {delivered} of {total}; lost: {total - delivered}; answered twice: {twice}")
    return bot


async def flood_scenario(fake: ReplyClock) -> None:
    users = range(FIRST_USER + 1000, FIRST_USER + 1000 + FLOOD_USERS)

    async def one_user(user: int) -> list[float]:
        await asyncio.sleep((user - users[0]) * FLOOD_PACE / len(users))  # spread over the first pace
        latencies = []
        for n in range(FLOOD_QUESTIONS):
            latencies.append(await fake.ask(user, question(user, n)))
            await asyncio.sleep(max(0.0, FLOOD_PACE - latencies[-1]))
        return latencies

    async def normal_users() -> list[float]:
        per_user = await asyncio.gather(*(one_user(u) for u in users))
        return [latency for latencies in per_user for latency in latencies]

    async def flooder() -> None:
        for n in range(FLOOD_MESSAGES):
            fake.user_message(FLOODER, f"{question(FLOODER, n)} {n}")
            await asyncio.sleep(FLOOD_SECONDS / FLOOD_MESSAGES)

    alone = sorted(await normal_users())
    flooding = asyncio.create_task(flooder())
    beside = sorted(await normal_users())
    await flooding

    def figures(latencies: list[float]) -> str:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"

    flooder_got = answers_by_chat(fake)[FLOODER]
    print(f"flood: {FLOOD_USERS} users × {FLOOD_QUESTIONS} questions, each user one every {FLOOD_PACE:g} s")
    print(f"  alone:                                  {figures(alone)}")
    print(f"  beside {FLOOD_MESSAGES} messages in {FLOOD_SECONDS:.0f} s from one user: {figures(beside)}")
    print(f"  the flooding user's answers delivered by the end: {flooder_got}")


PASTE_USERS, PASTE_QUESTIONS = 20, 20


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} s, p99 {p99:.2f} s"


WAITING_NOTICE = "I'll answer every one of them, in order"


def is_reply(call: Call, chats: range) -> bool:
    """A message the bot sent to one of ``chats`` that answers a question (an answer, a decline, a
    clarification), not the notice that questions wait."""
    return (
        call.ok
        and call.method == "sendMessage"
        and call.chat_id in chats
        and WAITING_NOTICE not in str(call.params.get("text"))
    )


async def paste_scenario(fake: ReplyClock, data: Path) -> None:
    """20 users × 20 questions at once; every one answered exactly once, in order, and how long it took."""
    import json
    import re
    import sqlite3

    users = range(FIRST_USER + 2000, FIRST_USER + 2000 + PASTE_USERS)
    total = PASTE_USERS * PASTE_QUESTIONS
    started = time.monotonic()
    sent: dict[int, list[int]] = {}  # per user, the update ids of their questions, in order
    for user in users:  # each user's twenty in a row, all 400 in the same instant
        sent[user] = [fake.user_message(user, f"{question(user, n)} ({n})") for n in range(PASTE_QUESTIONS)]
    deadline = started + 300
    while time.monotonic() < deadline and sum(is_reply(c, users) for c in fake.calls) < total:
        await asyncio.sleep(0.2)
    elapsed = time.monotonic() - started
    await asyncio.sleep(5.0)  # anything sent twice would come now
    replies: dict[int, list[Call]] = defaultdict(list)
    for call in fake.calls:
        if is_reply(call, users):
            replies[call.chat_id].append(call)  # type: ignore[index]
    notices = sum(1 for c in fake.calls if c.chat_id in users and WAITING_NOTICE in str(c.params.get("text")))
    with contextlib.closing(sqlite3.connect(data / "bot.sqlite3")) as db:
        rows = db.execute(
            "SELECT user_id, text FROM questions WHERE user_id BETWEEN ? AND ? ORDER BY id",
            (users[0], users[-1]),
        ).fetchall()
    handled: dict[int, list[int]] = defaultdict(list)  # per user, the questions' numbers in the order handled
    for user_id, text in rows:
        found = re.search(r"\((\d+)\)$", text)
        handled[user_id].append(int(found.group(1)) if found else -1)
    counts = Counter(len(replies[user]) for user in users)
    missing = sum(max(0, PASTE_QUESTIONS - len(replies[user])) for user in users)
    extra = sum(max(0, len(replies[user]) - PASTE_QUESTIONS) for user in users)
    in_order = sum(1 for user in users if handled[user] == list(range(PASTE_QUESTIONS)))
    # The k-th reply in a chat answers the chat's k-th question (the bot answers each user in order).
    latency = {
        (user, n): replies[user][n].at - fake.injected_at(update_id)
        for user in users
        for n, update_id in enumerate(sent[user])
        if n < len(replies[user])
    }
    within = [v for (_, n), v in latency.items() if n < 10]
    waited = [v for (_, n), v in latency.items() if n >= 10]
    print(
        f"paste: {PASTE_USERS} users × {PASTE_QUESTIONS} questions sent at once ({total}), default settings"
    )
    print(f"  replies per user: {json.dumps(sorted(counts.items()))} (answers, declines or clarifications)")
    print(
        f"  answered exactly once: {total - missing - extra} of {total}; "
        f"never: {missing}; more than once: {extra}"
    )
    print(f"  stored once each and handled in the order sent: {in_order} of {PASTE_USERS} users")
    print(f"  notices that questions wait: {notices}")
    print(f"  time to answer, all:                        {percentiles(list(latency.values()))}")
    print(f"  the first 10 of each user (within the rate): {percentiles(within)}")
    print(f"  the other 10 (waiting for the 30 s window):  {percentiles(waited)}")
    print(f"  last reply {elapsed:.1f} s after the questions were sent")


async def in_own_process(knowledge: Path, scenarios: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, log = Path(tmp) / "data", Path(tmp) / "bot.log"
        async with ReplyClock() as fake:
            bot = None
            try:
                if "kill" in scenarios:
                    bot = await kill_scenario(fake, data, log, knowledge)
                if "flood" in scenarios:
                    if bot is None:
                        from bot_harness import start_bot_process

                        bot = await start_bot_process(fake, data, log, KNOWLEDGE_DIR=str(knowledge))
                        await fake.wait_for(lambda c: c.method == "getUpdates", timeout=300)
                    for text in QUESTIONS:  # first-use costs are not measured
                        await fake.ask(WARM_UP_USER, text)
                    await flood_scenario(fake)
                if "paste" in scenarios:
                    if bot is None:
                        from bot_harness import start_bot_process

                        bot = await start_bot_process(fake, data, log, KNOWLEDGE_DIR=str(knowledge))
                        await fake.wait_for(lambda c: c.method == "getUpdates", timeout=300)
                        for text in QUESTIONS:  # first-use costs are not measured
                            await fake.ask(WARM_UP_USER, text)
                    await paste_scenario(fake, data)
            finally:
                if bot is not None and bot.returncode is None:
                    bot.send_signal(signal.SIGINT)
                    await asyncio.wait_for(bot.wait(), 60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=5, help="questions per user")
    parser.add_argument("--rate", type=float, default=150.0, help="questions per second in 'steady'")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--only", default="burst,steady,kill,flood,paste", help="scenarios to run, by name")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    chosen = [name.strip() for name in args.only.split(",")]
    for name in [name for name in SCENARIOS if name not in chosen]:
        del SCENARIOS[name]
    if SCENARIOS:
        asyncio.run(main(args.users, args.questions, args.rate, args.knowledge))
    if {"kill", "flood", "paste"} & set(chosen):
        asyncio.run(in_own_process(args.knowledge, chosen))
