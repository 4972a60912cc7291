"""Conversations as data (``tests/data/conversations/*.yaml``): small talk, follow-ups, written forms.

Each conversation runs turn by turn through the engine over the shipped knowledge, with the chat's topic
kept between turns the way ``summit-bot chat`` and the answering service keep it, on a simulated clock.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from index.engine import Engine
from index.followup import Topic, topic_after
from index.language import detect_language

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS_DIR = ROOT / "tests/data/conversations"
OUTCOMES = {"answer", "clarify", "decline", "gap", "smalltalk"}


def _load() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(CONVERSATIONS_DIR.glob("*.yaml")):
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8")):
            found.append((f"{path.stem}: {conversation['name']}", conversation))
    return found


CASES = _load()


@pytest.fixture(scope="module")
def engine(shipped_engine: Engine) -> Engine:
    return shipped_engine


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def test_conversation_files_are_well_formed() -> None:
    assert len(CASES) >= 15
    languages = set()
    for name, conversation in CASES:
        assert conversation["turns"], name
        for turn in conversation["turns"]:
            assert set(turn) <= {"say", "expect", "not_expect", "outcome", "lang", "wait_minutes"}, name
            assert ("say" in turn) != ("wait_minutes" in turn), name
            assert turn.get("outcome", "answer") in OUTCOMES, name
            if "say" in turn:
                languages.add(detect_language(turn["say"]))
    assert languages == {"en", "zh", "th"}


@pytest.mark.parametrize("conversation", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_conversation(engine: Engine, conversation: dict) -> None:
    now = datetime(2023, 11, 8, 9, 0, tzinfo=UTC)
    topic: Topic | None = None
    for number, turn in enumerate(conversation["turns"], 1):
        if "wait_minutes" in turn:
            now += timedelta(minutes=turn["wait_minutes"])
            continue
        recent = topic if topic is not None and topic.fresh(now) else None
        answer = engine.ask(turn["say"], "en", recent)
        topic = topic_after(answer, now, recent, engine.kb) or topic
        where = f"turn {number} {turn['say']!r}: {answer.outcome} {answer.sources} {answer.text[:160]!r}"
        if "outcome" in turn:
            assert answer.outcome == turn["outcome"], where
        if "lang" in turn:
            assert answer.language == turn["lang"], where
            assert detect_language(answer.text, turn["lang"]) == turn["lang"], where
        reply = _fold(answer.text)
        for item in turn.get("expect", []):
            alternatives = item if isinstance(item, list) else [item]
            assert any(_fold(alt) in reply for alt in alternatives), f"none of {alternatives}; {where}"
        for item in turn.get("not_expect", []):
            assert _fold(item) not in reply, f"{item!r} in the reply; {where}"
        now += timedelta(seconds=30)
