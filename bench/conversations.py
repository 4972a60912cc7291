"""Conversation files played through the real bot: follow-up turns right per language.

The bot (the real PTB application with long polling, over the shipped knowledge or ``--knowledge``)
runs in this process against the local Bot API fake; each conversation talks to it in a chat of its
own, on the answering service's clock (``tests/conversation_player.py``, the same player the tests
use). Prints, per file and language, the follow-up turns (every turn after a conversation's first)
that were right; a turn expecting ``decline`` is also right when the bot says the fact is not
published (``gap``). With ``--failures`` it prints the wrong turns too: leave it off for a file that
must stay unread.

    python bench/conversations.py FILE.yaml [FILE.yaml ...] [--failures] [--knowledge knowledge]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot_harness import driving  # noqa: E402
from conversation_player import Clock, followup_figures, load, play  # noqa: E402

from index.engine import Engine  # noqa: E402


async def main(files: list[Path], knowledge: Path, failures: bool) -> None:
    chats = count(9_000_001)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.load(knowledge, Path(tmp) / "index")
        async with driving(engine, Path(tmp) / "bot") as bot:
            for path in files:
                turns = []
                for name, conversation in load(path):
                    played = await play(bot, conversation, next(chats), Clock(), lenient=True)
                    turns += played
                    if failures:
                        for turn in played:
                            if not turn.right:
                                print(f"  {name}: {turn.describe()}")
                figures = followup_figures(turns)
                firsts = [t for t in turns if not t.followup]
                shown = ", ".join(f"{lang} {figure}" for lang, figure in figures.items())
                print(f"{path}: follow-up turns right {shown}; first turns right "
                      f"{sum(t.right for t in firsts)}/{len(firsts)}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--failures", action="store_true", help="print the wrong turns")
    args = parser.parse_args()
    asyncio.run(main(args.files, args.knowledge, args.failures))
