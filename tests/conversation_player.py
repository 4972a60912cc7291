"""Conversations played through the real bot (tests and ``bench/conversations.py``).

A conversation file (``tests/data/conversations/*.yaml``, format in its README) is a list of
conversations, each a list of turns. :func:`play` sends every turn as a user message to a running bot
(:mod:`bot_harness`: the real PTB application against the local Bot API fake), one chat per
conversation, and checks the reply the user receives and the outcome the bot stored for the question.
Time passes on the answering service's clock: 30 seconds after each turn, ``wait_minutes`` when a turn
says so, so a chat's topic expires as it would in a real chat.

:func:`followup_figures` counts, per language, the follow-up turns (every turn after a conversation's
first) that were right. A turn that expects ``outcome: decline`` is right when the bot says the fact is
not published (``gap``) too: both are honest refusals.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import yaml
from bot_harness import BotDriver, buttons

from index.language import detect_language
from index.types import Lang

OUTCOMES = frozenset({"answer", "clarify", "decline", "gap", "smalltalk"})
TURN_KEYS = frozenset({"say", "expect", "not_expect", "outcome", "lang", "wait_minutes"})
START = datetime(2023, 11, 8, 9, 0, tzinfo=UTC)
BETWEEN_TURNS = timedelta(seconds=30)


def load(path: Path) -> list[tuple[str, dict]]:
    """The conversations of one file, each with a name "file: conversation"."""
    return [(f"{path.stem}: {c['name']}", c) for c in yaml.safe_load(path.read_text(encoding="utf-8"))]


def load_dir(folder: Path) -> list[tuple[str, dict]]:
    return [case for path in sorted(folder.glob("*.yaml")) for case in load(path)]


def problems(conversation: dict) -> list[str]:
    """What is wrong with a conversation's form (empty when it is well formed)."""
    found = []
    if not conversation.get("turns"):
        found.append("no turns")
    for turn in conversation.get("turns") or []:
        if not set(turn) <= TURN_KEYS:
            found.append(f"unknown keys {sorted(set(turn) - TURN_KEYS)}")
        if ("say" in turn) == ("wait_minutes" in turn):
            found.append(f"a turn says something or waits, not both or neither: {turn}")
        if turn.get("outcome", "answer") not in OUTCOMES:
            found.append(f"unknown outcome {turn['outcome']!r}")
    return found


class Clock:
    """The answering service's clock in a played conversation (set as its ``_now``)."""

    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class Turn:
    """One user message of a played conversation and how the bot did."""

    say: str
    number: int
    """1 for the conversation's first message, 2 for the second, ..."""
    lang: Lang
    """The language the turn is scored in: its ``lang``, else the language its text is written in."""
    outcome: str
    reply: str
    failures: tuple[str, ...]

    @property
    def right(self) -> bool:
        return not self.failures

    @property
    def followup(self) -> bool:
        return self.number > 1

    def describe(self) -> str:
        why = "; ".join(self.failures)
        return f"turn {self.number} {self.say!r}: {self.outcome} {self.reply[:160]!r} -- {why}"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def check(turn: dict, outcome: str, language: str, reply: str, *, lenient: bool) -> list[str]:
    """Why the bot's reply to ``turn`` is wrong (empty: it is right). ``lenient``: a ``gap`` counts as a
    ``decline`` (the bot refused honestly, saying the fact is not published)."""
    failures = []
    expected = turn.get("outcome")
    if (
        expected is not None
        and outcome != expected
        and not (lenient and (expected, outcome) == ("decline", "gap"))
    ):
        failures.append(f"outcome {outcome}, expected {expected}")
    if "lang" in turn and (language != turn["lang"] or detect_language(reply, turn["lang"]) != turn["lang"]):
        failures.append(f"reply not in {turn['lang']}")
    folded = _fold(reply)
    for item in turn.get("expect", []):
        alternatives = item if isinstance(item, list) else [item]
        if not any(_fold(alt) in folded for alt in alternatives):
            failures.append(f"none of {alternatives}")
    failures += [f"{item!r} in the reply" for item in turn.get("not_expect", []) if _fold(item) in folded]
    return failures


async def play(
    bot: BotDriver, conversation: dict, chat_id: int, clock: Clock, *, lenient: bool = False
) -> list[Turn]:
    """Send the conversation's turns to the bot in the private chat ``chat_id`` (a new one: the chat
    starts with no topic); every message turn with its result."""
    bot.services.answering._now = clock
    clock.at = START
    played: list[Turn] = []
    for turn in conversation["turns"]:
        if "wait_minutes" in turn:
            clock.at += timedelta(minutes=turn["wait_minutes"])
            continue
        call = await bot.say(chat_id, turn["say"])
        stored = (await bot.services.db.questions.recent_questions(1))[0]
        assert stored.chat_id == chat_id and stored.text == turn["say"], "the reply is not to this turn"
        outcome = stored.outcome
        reply = "\n".join([unescape(call.params["text"]), *(label for label, _ in buttons(call))])
        failures = check(turn, outcome, stored.language, reply, lenient=lenient)
        lang = turn.get("lang") or detect_language(turn["say"])
        played.append(Turn(turn["say"], len(played) + 1, lang, outcome, reply, tuple(failures)))
        clock.at += BETWEEN_TURNS
    return played


@dataclass(frozen=True)
class Figure:
    right: int
    total: int

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.right}/{self.total} ({self.share:.1%})"


def followup_figures(turns: list[Turn]) -> dict[str, Figure]:
    """Per language, the follow-up turns that were right out of all follow-up turns."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for turn in turns:
        if turn.followup:
            counts[turn.lang][0] += turn.right
            counts[turn.lang][1] += 1
    return {lang: Figure(*counts[lang]) for lang in sorted(counts)}
