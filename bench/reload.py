"""Knowledge hot swap under load: how long from Apply to the new version answering, and how answers fare
meanwhile.

The real bot (Application, long polling, the real engine) runs against the local Bot API fake in this
process. Simulated attendees ask a question every ``1 / --rate`` seconds, each from a new user so every
reply is matched to its question exactly. An admin uploads ``faq.yaml`` with one entry changed, waits for
the preview, and presses Apply. Two knowledge bases:

* ``shipped``: the knowledge in ``knowledge/``;
* ``20x``: the same plus 19 generated copies of every entry but the changed one (new ids, the same
  texts, references renamed), so indexes 20 times larger; the copies' vectors come from the embedding
  cache, as they would after the first build of a real knowledge base of that size.

For each it prints: seconds from pressing Apply to the first answer from the new version (the changed
text), the time the bot reported, answer latency p50/p99/max before and during the rebuild, questions
left unanswered or answered with an error (should be 0), and the resident memory of the process before,
at its peak during the swap (old and new engines both alive), and once every question is answered. Then
``/rollback`` is confirmed: the time until the old version is live again, and whether the engine it
replaced was freed.

    python bench/reload.py [--rate 10] [--data /tmp/summit-bench-reload]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import shutil
import statistics
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import yaml  # noqa: E402
from botapi_fake import Call, FakeBotApi  # noqa: E402

PROBE = "When is the summit?"
OLD = "(Wednesday to Friday)"
NEW = "(Wednesday to Friday; badges can be collected from 8:00)"
CHANGED_ID = "faq-dates"
ADMIN = 1
SECTIONS = ("facts", "sessions", "venues", "routes", "faq")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    """Samples the resident set size every 5 ms; ``peak`` over a window set with ``mark``."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.monotonic(), rss_mb()))
            time.sleep(0.005)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def peak(self, start: float, end: float) -> float:
        return max((mb for at, mb in self.samples if start <= at <= end), default=0.0)


def generate_twenty_times(source: Path, target: Path) -> None:
    """``source`` plus 19 copies of every entry (except the changed one) under new ids."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    originals = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(source.glob("*.yaml"))]
    ids = {e["id"] for doc in originals for s in SECTIONS for e in doc.get(s) or []}
    for k in range(1, 20):
        suffix = f"-x{k}"
        merged: dict[str, list[Any]] = {s: [] for s in SECTIONS}
        for doc in originals:
            for section in SECTIONS:
                for entry in doc.get(section) or []:
                    if entry["id"] == CHANGED_ID:
                        continue
                    entry = copy.deepcopy(entry)
                    entry["id"] += suffix
                    if entry.get("venue") in ids:
                        entry["venue"] += suffix
                    if "related" in entry:
                        entry["related"] = [
                            r + suffix if r in ids and r != CHANGED_ID else r for r in entry["related"]
                        ]
                    merged[section].append(entry)
        text = yaml.safe_dump(merged, allow_unicode=True, sort_keys=False)
        (target / f"copy-{k:02d}.yaml").write_text(text, encoding="utf-8")


def answered_chats(fake: FakeBotApi) -> set[int]:
    return {c.chat_id for c in fake.calls if c.ok and c.method == "sendMessage" and c.chat_id != ADMIN}  # type: ignore[misc]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def scenario(name: str, knowledge: Path, data: Path, rate: float) -> None:
    from bot_harness import running_bot, settings_for

    from bot.telegram.app import load_served_engine
    from index.knowledge import load_knowledge

    kb = load_knowledge(knowledge)
    faq = (knowledge / "faq.yaml").read_text(encoding="utf-8")
    assert OLD in faq, "the benchmark's change no longer applies to faq.yaml"
    async with FakeBotApi() as fake:
        settings = settings_for(
            fake, data, ADMIN_IDS=str(ADMIN), KNOWLEDGE_DIR=str(knowledge), TELEGRAM_RATE_LIMIT="0"
        )
        started = time.perf_counter()
        engine = await asyncio.to_thread(load_served_engine, settings)
        print(
            f"\n{name}: {len(kb.by_id)} entries, {len(engine.passages)} passages "
            f"(engine ready in {time.perf_counter() - started:.1f} s)"
        )
        async with running_bot(settings, engine) as app:
            del engine
            sampler = RssSampler()
            sampler.start()
            asked: list[tuple[int, int]] = []
            stop = asyncio.Event()

            async def attendees() -> None:
                user, next_at = 10_000, time.monotonic()
                while not stop.is_set():
                    user += 1
                    asked.append((user, fake.user_message(user, PROBE)))
                    next_at += 1 / rate
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))

            def admin_message(after: float, contains: str) -> Any:
                return fake.wait_for(
                    lambda c: (
                        c.ok
                        and c.at >= after
                        and c.chat_id == ADMIN
                        and c.method == "sendMessage"
                        and contains in str(c.params.get("text")) + str(c.params.get("reply_markup"))
                    ),
                    timeout=120,
                )

            asking = asyncio.create_task(attendees())
            await asyncio.sleep(2.0)
            upload = fake.document(ADMIN, "faq.yaml", faq.replace(OLD, NEW).encode())
            try:
                preview: Call = await admin_message(fake.injected_at(upload), "Apply")
            except TimeoutError:
                print([c.params.get("text") for c in fake.sent_to(ADMIN)])
                raise
            print(f"  preview after {time.monotonic() - fake.injected_at(upload):.2f} s", flush=True)
            rss_before = rss_mb()
            data_apply = preview.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            message_id = fake.bot_messages(ADMIN)[-1]["message_id"]
            pressed = fake.callback(ADMIN, data_apply, message_id=message_id)
            t_apply = fake.injected_at(pressed)
            live: Call = await admin_message(t_apply, "is live")
            await asyncio.sleep(2.0)
            stop.set()
            await asking
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and len(answered_chats(fake)) < len(asked):
                await asyncio.sleep(0.2)
            rss_after = rss_mb()

            # Roll back: the engine built by the Apply is replaced in turn and must be freed.
            applied = weakref.ref(app.bot_data["services"].holder.current)
            confirm_at = fake.injected_at(fake.user_message(ADMIN, "/rollback"))
            confirm: Call = await admin_message(confirm_at, "Roll back to")
            rollback_data = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            message_id = fake.bot_messages(ADMIN)[-1]["message_id"]
            rolled = fake.injected_at(fake.callback(ADMIN, rollback_data, message_id=message_id))
            back: Call = await admin_message(rolled, "live again")
            await asyncio.sleep(0.5)
            sampler.stop()
            reported = live.params["text"].split("after ")[1].split(" s")[0]

            replies: dict[int, Call] = {}
            for call in fake.calls:
                if (
                    call.ok
                    and call.method == "sendMessage"
                    and call.chat_id not in replies
                    and call.chat_id != ADMIN
                ):
                    replies[call.chat_id] = call  # type: ignore[index]
            before, during, missing, wrong = [], [], 0, 0
            first_new: float | None = None
            for user, update_id in asked:
                at = fake.injected_at(update_id)
                reply = replies.get(user)
                if reply is None:
                    missing += 1
                    continue
                text = reply.params["text"]
                if OLD.rstrip(")") not in text:
                    wrong += 1
                latency = reply.at - at
                if at < t_apply:
                    before.append(latency)
                elif at <= live.at:
                    during.append(latency)
                if NEW in text and first_new is None:
                    first_new = reply.at
            print(
                f"  Apply → first answer from the new version: {first_new - t_apply:.2f} s"
                if first_new
                else "  the new version never answered"
            )
            print(f"  time reported to the admin: {reported} s")
            for label, values in (("before Apply", before), ("during the rebuild", during)):
                if values:
                    p50, p99 = statistics.median(values) * 1000, percentile(values, 0.99) * 1000
                    print(
                        f"  latency {label}: {len(values)} answers, p50 {p50:.0f} ms,"
                        f" p99 {p99:.0f} ms, max {max(values) * 1000:.0f} ms"
                    )
            print(
                f"  questions asked {len(asked)}, unanswered {missing}, answered wrongly or refused {wrong}"
            )
            peak = sampler.peak(t_apply, live.at + 2.0)
            print(f"  RSS: {rss_before:.0f} MB before, peak {peak:.0f} MB during the swap,", end=" ")
            print(f"{rss_after:.0f} MB after")
            print(f"  /rollback confirmed → old version live: {back.at - rolled:.2f} s;", end=" ")
            print(f"engine it replaced freed: {applied() is None}")


async def main(rate: float, data: Path) -> None:
    shipped = ROOT / "knowledge"
    larger = data / "knowledge-20x"
    generate_twenty_times(shipped, larger)
    cache = data / "shared-cache"
    for name, knowledge in (("shipped", shipped), ("20x", larger)):
        run = data / name
        shutil.rmtree(run, ignore_errors=True)
        if cache.exists():
            shutil.copytree(cache, run / "cache")
        await scenario(name, knowledge, run, rate)
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(run / "cache", cache)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="questions per second from attendees")
    parser.add_argument("--data", type=Path, default=Path("/tmp/summit-bench-reload"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    args.data.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.rate, args.data))
