"""Programme import benchmark: a real frab export to the first answer about one of its talks.

Run with ``.venv/bin/python bench/schedule_import.py [FILE] [--copies N]``. FILE defaults to
``../shared/schedule-formats/frab-camp2019.json`` (beside the repository). ``--copies N`` imports the
programme N times over (each copy on the following days, with its own guids), for a larger programme.

In a fresh process, with an empty data directory (no embedding cache), it times:

- *read*: parsing and checking the programme file;
- *write*: the knowledge file written from it, and the whole set validated (what an upload's preview does);
- *index*: the engine built for the new knowledge (every passage embedded: the cold case);
- *first answer*: "When is <a talk> and where?" answered;

and prints the peak resident memory of the process. The script reports figures; it does not judge them.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.schedule.knowledge import SCHEDULE_FILE, programme_documents  # noqa: E402
from bot.schedule.readers import read_programme  # noqa: E402
from index.engine import Engine  # noqa: E402
from index.knowledge import validate_documents  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "schedule-formats" / "frab-camp2019.json"


def scaled(data: bytes, copies: int) -> bytes:
    """The programme repeated ``copies`` times, each copy shifted by its length in days, new guids."""
    if copies <= 1:
        return data
    doc = json.loads(data)
    days = doc["schedule"]["conference"]["days"]
    span = len(days)
    extra = []
    for n in range(1, copies):
        for day in copy.deepcopy(days):
            shift = dt.timedelta(days=span * n)
            day["index"] += span * n
            day["date"] = (dt.date.fromisoformat(day["date"]) + shift).isoformat()
            for events in day["rooms"].values():
                for event in events:
                    event["guid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event['guid']}/{n}"))
                    event["date"] = (dt.datetime.fromisoformat(event["date"]) + shift).isoformat()
                    event["title"] = f"{event['title']} ({n + 1})"
            extra.append(day)
    days.extend(extra)
    return json.dumps(doc).encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    if not args.file.is_file():
        print(f"skipped: {args.file} not found (the shared schedule formats sit beside the repository)")
        return
    data = scaled(args.file.read_bytes(), args.copies)
    started = time.perf_counter()
    programme = read_programme(args.file.name, data, ZoneInfo("UTC"))
    read = time.perf_counter()
    documents, summary = programme_documents(programme, {}, source=args.file.name)
    validate_documents(documents)
    written = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Path(tmp) / "knowledge"
        knowledge.mkdir()
        (knowledge / SCHEDULE_FILE).write_text(documents[SCHEDULE_FILE], encoding="utf-8")
        engine = Engine.load(knowledge, Path(tmp) / "data")
        indexed = time.perf_counter()
        talk = max(programme.sessions, key=lambda s: len(s.title.get("en", "")))
        answer = engine.ask(f"When is {talk.title['en']} and where?")
        answered = time.perf_counter()
        passages = len(engine.passages)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    right = answer.outcome == "answer" and answer.sources[:1] == [talk.guid]
    print(
        f"programme: {args.file.name} x{args.copies}: {summary.sessions} sessions, "
        f"{len(summary.new_rooms)} rooms, {passages} passages"
    )
    print(f"read            {read - started:7.2f} s")
    print(f"write+validate  {written - read:7.2f} s")
    print(f"index (cold)    {indexed - written:7.2f} s")
    verdict = "right talk" if right else f"wrong: {answer.outcome}"
    print(f"first answer    {answered - indexed:7.2f} s  ({verdict})")
    print(f"total           {answered - started:7.2f} s")
    print(f"peak RSS        {peak:7.0f} MB")


if __name__ == "__main__":
    main()
