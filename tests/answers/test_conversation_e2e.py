"""End to end through the local Bot API fake: small talk, "Did you mean …?" buttons that answer at once,
and follow-up questions in a chat."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bot_harness import BotDriver, buttons, driving
from typer.testing import CliRunner

from bot.cli import app
from index.composer import clarify_text
from index.engine import Answer, Engine, Suggestion
from index.types import Lang

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
AMBIGUOUS = "the ceremony thing"


class ClarifyingEngine:
    """The real engine, except that :data:`AMBIGUOUS` gets a clarification with two topics."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def ask_many(
        self, questions: Sequence[str], fallback: Lang = "en", *args: Any, **kwargs: Any
    ) -> list[Answer]:
        answers = self._engine.ask_many(questions, fallback, *args, **kwargs)
        topics = [
            Suggestion("opening-ceremony", "Opening Ceremony"),
            Suggestion("faq-dates", "When is the summit?"),
        ]
        wording = clarify_text([t.title for t in topics], "en")
        return [
            Answer(q, "en", False, wording, [], 0.5, topics, reason="middling", outcome="clarify")
            if q == AMBIGUOUS
            else a
            for q, a in zip(questions, answers, strict=True)
        ]


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    async with driving(ClarifyingEngine(engine), tmp_path) as driver:  # type: ignore[arg-type]
        yield driver


async def test_small_talk_replies_in_its_language_withoutbuttons(bot: BotDriver) -> None:
    svc = bot.services
    replies = {q: await bot.say(21, q) for q in ("hi!", "谢谢", "คุณเป็นใครคะ")}
    assert "Wuzhen Summit" in replies["hi!"].params["text"]
    assert "不客气" in replies["谢谢"].params["text"]
    assert "/agenda" in replies["คุณเป็นใครคะ"].params["text"]
    assert all("reply_markup" not in r.params for r in replies.values())
    stored = await svc.db.questions.recent_questions(3)
    assert [await svc.db.questions.outcome(q.id) for q in stored] == ["smalltalk"] * 3
    assert [q.language for q in reversed(stored)] == ["en", "zh", "th"]
    question = await bot.say(21, "hi, when is the summit?")
    assert "8 to 10 November" in question.params["text"]
    assert [t for t, _ in buttons(question)] == ["👍", "👎"]


async def test_clarification_buttons_answer_at_once_and_set_the_topic(bot: BotDriver) -> None:
    svc = bot.services
    asked = await bot.say(22, AMBIGUOUS)
    assert asked.params["text"] == "Did you mean one of these?\n• Opening Ceremony\n• When is the summit?"
    assert buttons(asked) == [
        ("Opening Ceremony", "e:en:opening-ceremony"),
        ("When is the summit?", "e:en:faq-dates"),
    ]
    clarified = await svc.db.questions.questions_with_outcome(("clarify",))
    assert [(q.text, q.chat_id) for q in clarified] == [(AMBIGUOUS, 22)]

    shown = await bot.press(22, "e:en:opening-ceremony")
    assert "Opening Ceremony" in shown.params["text"] and "09:30" in shown.params["text"]
    topic = await svc.db.conversation.topic(22)
    assert topic is not None and topic.entry_id == "opening-ceremony"

    follow = await bot.say(22, "and where is it held?")
    assert "Opening Ceremony" in follow.params["text"]
    assert [t for t, _ in buttons(follow)] == ["⭐ Add to my agenda", "👍", "👎"], "a session's answer"


async def test_the_command_line_and_the_chat_ask_the_same_clarifying_question(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine words a clarification once: ``summit-bot ask`` prints it, and the chat sends the same
    words (escaped for HTML) with a button per topic."""
    shipped = engine.gate
    engine.gate = replace(shipped, answer_min=1.0, clarify_min=0.0)  # every question lands in between
    monkeypatch.setattr("bot.app_context.load_engine", lambda settings, **_: engine)
    try:
        questions = {"en": "When does the summit start?", "zh": "峰会几号开始", "th": "งานเริ่มวันไหน"}
        printed = {}
        for lang, question in questions.items():
            result = CliRunner().invoke(app, ["ask", "--json", "--data-dir", str(tmp_path / "cli"), question])
            assert result.exit_code == 0, result.output
            printed[lang] = json.loads(result.output)
        async with driving(engine, tmp_path / "bot") as bot:
            sent = {lang: await bot.say(40 + i, q) for i, (lang, q) in enumerate(questions.items())}
    finally:
        engine.gate = shipped
    for lang, answer in printed.items():
        assert answer["outcome"] == "clarify" and answer["language"] == lang
        titles = [title for title, _ in buttons(sent[lang])]
        assert len(titles) == len(answer["suggestions"]) >= 1
        assert answer["answer"] == clarify_text(titles, lang)  # wording, topics and their order
        assert sent[lang].params["text"] == html.escape(answer["answer"], quote=False)
    assert len({a["answer"].splitlines()[0] for a in printed.values()}) == 3  # each in its own language
