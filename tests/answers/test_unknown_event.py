"""The rule ``unknown-event``: a question about an event or forum the knowledge never names is declined
(a fact about the knowledge, like the kinds no entry states), and one about an event or forum it names
is not touched."""

from __future__ import annotations

import pytest

from index.decision import model_features
from index.engine import Engine
from index.event_names import KnownEvents, event_names
from index.rules.unknown_event import UnknownEvent
from index.schema import Session
from index.types import LANGS


@pytest.fixture(scope="module")
def engine(shipped_engine: Engine) -> Engine:
    return shipped_engine


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("When is the Zorblax Forum held?", "zorblax"),
        ("who spoke at the forum on quantum gardening", "quantum gardening"),
        ("蓝鲸星球论坛在哪里开", "鲸星球"),
        ("ใครพูดในฟอรั่มบล็อกเชนคะ", "บล็อกเชน"),
        ("มีฟอรัมเรื่องบล็อกเชนไหม", "บล็อกเชน"),
    ],
)
def test_the_name_next_to_an_event_noun_is_read(question: str, name: str) -> None:
    assert name in event_names(question)


@pytest.mark.parametrize(
    "question",
    [
        "when does the summit start?",
        "which forum is on the last day",
        "is the main conference in the morning",
        "分论坛有哪些",
        "本届峰会几号开幕",
        "ฟอรัมย่อยมีกี่รายการ",
        "isnt the summit in the city",
    ],
)
def test_a_generic_event_word_names_no_event(question: str) -> None:
    assert event_names(question) == ()


def test_every_session_the_knowledge_names_is_known(engine: Engine) -> None:
    """Each session's title, asked about in its own language, names a known event."""
    known = KnownEvents(engine.kb, engine.facts.answers.values())
    sessions = [e for e in engine.kb.entries() if isinstance(e, Session)]
    asked = {"en": "who spoke at the {} ?", "zh": "{}有哪些嘉宾", "th": "ใครพูดใน {} บ้าง"}
    for session in sessions:
        for lang in LANGS:
            question = asked[lang].format(session.title.get(lang))
            assert known.unknown(event_names(question)) == (), question


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("When is the Zorblax Forum held this year?", "en"),
        ("What are the dates of the Quibbleton Expo?", "en"),
        ("蓝鲸星球论坛什么时候开", "zh"),
        ("ใครเป็นวิทยากรในฟอรั่มบล็อกเชนคะ", "th"),
    ],
)
def test_an_event_the_knowledge_never_names_is_declined(engine: Engine, question: str, lang: str) -> None:
    on = engine.ask(question, lang)
    assert on.outcome == "decline" and on.rule == "unknown-event", question
    assert on.reason.startswith("unknown event")
    assert engine.without_rules({"unknown-event"}).ask(question, lang).rule != "unknown-event"


def test_the_objection_is_certain_not_weighed() -> None:
    assert UnknownEvent.certain and "rule:unknown-event" not in model_features()
