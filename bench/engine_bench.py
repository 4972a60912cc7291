"""Answer-engine benchmark: prints latency, build and rebuild times, cold start and peak memory.

Run with ``.venv/bin/python bench/engine_bench.py [--model SPEC] [--rounds N]``. Targets on a 2-core
machine with the default embedder: p50 <= 5 ms and at most 1.5 times the embedder's own time for one
question (measured in the same run), p99 <= 20 ms, one-entry rebuild <= 1 s, cold start <= 5 s, peak
RSS of a fresh process that has answered a question in each language <= 320 MB. The script reports
figures; it does not judge them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.engine import Engine  # noqa: E402
from index.reading import question_form  # noqa: E402

QUESTIONS = [
    "When does the summit take place?",
    "Where is the conference held?",
    "What is the theme this year?",
    "how many sub forums are there",
    "How far is Wuzhen from Hangzhou?",
    "Who designed the convention centre?",
    "how do i get from tongxiang station to wuzhen",
    "What's the weather like in Paris?",
    "峰会几号开始？",
    "乌镇离杭州多远",
    "從桐鄉站怎麼去烏鎮？",
    "全体会议几点开始",
    "推荐一家好吃的餐厅",
    "งานจัดวันที่เท่าไหร่",
    "จากหางโจวไปอูเจิ้นยังไง",
    "ใครออกแบบศูนย์ประชุม",
    "ฟุตบอลโลกใครชนะ",
    "Wuzhen summit ปีนี้มีแขกกี่คน",
]

LANGUAGE_QUESTIONS = ["乌镇离杭州多远", "จากหางโจวไปอูเจิ้นยังไง"]
"""Asked after the first answer, so that the peak counts the Chinese and Thai segmenters' dictionaries,
which a server loads on its first question in those languages."""

COLD_START = f"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from index.engine import Engine
engine = Engine.load(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
answer = engine.ask("How far is Wuzhen from Hangzhou?")
elapsed = time.perf_counter() - t0
for question in {LANGUAGE_QUESTIONS!r}:
    engine.ask(question)
with open("/proc/self/status", encoding="ascii") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": elapsed, "answered": answer.answered, "peak_rss_mb": peak_kb / 1024}}))
"""
"""The cold process. Its peak memory is read from ``VmHWM``, the peak of this process's own memory:
``getrusage``'s ``ru_maxrss`` carries over the parent's peak into a child started by ``vfork`` and
``exec`` (as ``subprocess`` starts it), so it showed this benchmark's own peak instead."""


BLOCK = 10
"""Passes over the question list per timed block."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def edit_one_entry(knowledge: Path) -> str:
    """Change the English answer of the first FAQ entry; return its id."""
    import yaml

    path = knowledge / "faq.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = data["faq"][0]
    entry["answer"]["en"] += f" (edited {time.time():.0f})"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return entry["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedder spec (default: use-multilingual)")
    parser.add_argument("--rounds", type=int, default=60, help="passes over the question list for latency")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(ROOT / "knowledge", knowledge)
        data_dir = Path(tmp) / "data"

        started = time.perf_counter()
        engine = Engine.load(knowledge, data_dir, args.model)
        build_s = time.perf_counter() - started
        print(f"embedder                 {engine.embedder.id}")
        print(f"passages                 {len(engine.passages)} from {len(engine.kb.by_id)} entries")
        print(f"index build (cold cache) {build_s:.2f} s (includes loading the embedder)")

        edited = edit_one_entry(knowledge)
        started = time.perf_counter()
        engine2 = Engine.load(knowledge, data_dir, embedder=engine.embedder)
        rebuild_s = time.perf_counter() - started
        report = engine2.build_report
        print(
            f"one-entry rebuild        {rebuild_s:.3f} s (entry {edited}: "
            f"{report.embedded} passages embedded, {report.reused} reused)"
        )

        for q in QUESTIONS:  # warm up every code path once
            engine2.ask(q)
        # The engine and the embedder alone (one question at a time, same process) are timed in
        # alternating blocks, so a change in the machine's load during the run weighs on both alike.
        latencies: list[float] = []
        embed_ms: list[float] = []
        for start in range(0, args.rounds, BLOCK):
            rounds = range(min(BLOCK, args.rounds - start))
            for _ in rounds:
                for q in QUESTIONS:
                    t0 = time.perf_counter()
                    engine2.ask(q)
                    latencies.append((time.perf_counter() - t0) * 1000)
            for _ in rounds:
                for q in QUESTIONS:
                    t0 = time.perf_counter()
                    engine2.embedder.embed_queries([question_form(q)])
                    embed_ms.append((time.perf_counter() - t0) * 1000)
        p50, embed_p50 = statistics.median(latencies), statistics.median(embed_ms)
        print(
            f"latency per question     p50 {statistics.median(latencies):.2f} ms, "
            f"p99 {percentile(latencies, 99):.2f} ms, max {max(latencies):.2f} ms "
            f"({len(latencies)} questions, warm)"
        )
        print(
            f"embedder alone           p50 {embed_p50:.2f} ms per question; "
            f"engine p50 = {p50 / embed_p50:.2f}x the embedder's (target <= 1.5x)"
        )

        command = [sys.executable, "-c", COLD_START, str(ROOT), str(knowledge), str(data_dir)]
        if args.model:
            command.append(args.model)
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        wall0 = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        wall = time.perf_counter() - wall0
        cold = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"cold start to 1st answer {wall:.2f} s wall (process start to answer), "
            f"{cold['seconds']:.2f} s inside Python"
        )
        print(f"peak RSS (cold process)  {cold['peak_rss_mb']:.0f} MB (after a question in each language)")


if __name__ == "__main__":
    main()
