"""Classes of follow-up the reading must see through: a belief checked as a follow-up, thanks before the
next question, an aspect the topic's own entry tells of, a pointer after the new thing a turn names, and
a place named in another script. Read against the shipped knowledge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from index.answers import Topic
from index.belief import read_belief
from index.followup import read_followup
from index.numerals import canonical_places
from index.smalltalk import after_small_talk
from index.textproc import normalise

PLACES = tuple(normalise(p, limit=None) for p in canonical_places())


def _topic(entry_id: str, lang: str, question: str) -> Topic:
    return Topic(entry_id, lang, question, datetime(2023, 11, 8, 9, tzinfo=UTC))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("question", "lang", "days", "years"),
    [
        ("so the last day is the 11th?", "en", {11}, set()),
        ("所以闭幕是12号？", "zh", {12}, set()),
        ("สรุปว่าปิดงานวันที่ 7", "th", {7}, set()),
        ("所以首届在2016年", "zh", set(), {2016}),
    ],
)
def test_a_conclusion_drawn_in_a_follow_up_checks_a_belief(question, lang, days, years) -> None:
    text = normalise(question)
    belief, behind = read_belief(text, lang, PLACES, followup=True)
    assert belief is not None and belief.days == days and belief.years == years
    assert not any(str(value) in behind for value in days | years)
    # Without a previous answer to draw it from, the same statement checks nothing.
    assert read_belief(text, lang, PLACES)[0] is None


@pytest.mark.parametrize(
    ("question", "lang"),
    [("so when does it end on the 9th?", "en"), ("所以几号闭幕", "zh"), ("สรุปว่าปิดวันไหน", "th")],
)
def test_a_conclusion_that_asks_checks_no_belief(question, lang) -> None:
    assert read_belief(normalise(question), lang, PLACES, followup=True)[0] is None


def test_an_ordinal_is_not_an_asserted_number() -> None:
    belief, behind = read_belief(normalise("所以第一届是2016年？"), "zh", PLACES, followup=True)
    assert belief is not None and belief.years == {2016} and not belief.numbers
    assert "第1届" in behind


@pytest.mark.parametrize(
    ("lang", "topic_question", "question", "true_day"),
    [
        ("en", "what are the summit's dates?", "so the last day is the 11th?", "10 November"),
        ("zh", "峰会是哪几天", "所以闭幕是11号？", "11月10日"),
        ("th", "งานจัดวันไหนคะ", "สรุปว่าปิดงานวันที่ 11 ใช่มะ", "10 พฤศจิกายน"),
    ],
)
def test_a_belief_checked_as_a_follow_up_gets_the_true_date(
    shipped_engine, lang, topic_question, question, true_day
) -> None:
    first = shipped_engine.ask(topic_question, lang)
    assert first.outcome == "answer"
    topic = _topic(first.sources[0], lang, topic_question)
    answer = shipped_engine.ask(question, lang, topic)
    assert answer.outcome == "answer"
    assert answer.text.split("\n")[0].startswith(("No", "不是", "ไม่ใช่"))
    assert true_day in answer.text


@pytest.mark.parametrize(
    ("question", "rest"),
    [
        ("thanks! and who chaired it?", "and who chaired it"),
        ("ok great, how much is it", "how much is it"),
        ("好的谢谢，那几点结束", "那几点结束"),
        ("ขอบคุณค่ะ แล้วเริ่มกี่โมง", "แล้วเริ่มกี่โมง"),
    ],
)
def test_thanks_before_a_follow_up_is_set_aside(question, rest) -> None:
    rests = after_small_talk(question)
    assert rest in rests
    assert all(len(r) <= len(rest) or r.endswith(rest) for r in rests)


@pytest.mark.parametrize(
    "question", ["行程怎么安排", "ได้ยินว่าปิดวันที่ 9", "and the closing?", "okinawa flights?"]
)
def test_a_message_that_does_not_open_with_small_talk_keeps_its_words(question) -> None:
    assert after_small_talk(question) == []


def test_thanks_does_not_hide_a_follow_up(kb) -> None:
    topic = _topic("opening-ceremony", "en", "When is the opening ceremony?")
    plain = read_followup("and who spoke?", "en", topic, kb)
    thanked = read_followup("thanks! and who spoke?", "en", topic, kb)
    assert plain is not None and thanked is not None
    assert thanked == plain and not thanked.new_topic


def test_an_aspect_the_topics_entry_tells_of_keeps_the_topic(kb) -> None:
    museum = _topic("internet-science-museum", "zh", "科技馆什么时候开馆")
    # Its site area is told in the museum's description and names no session or venue.
    area = read_followup("占地多大", "zh", museum, kb)
    assert area is not None and not area.new_topic and "科技馆" in area.query
    # A venue's alias the description mentions is another thing.
    other = read_followup("那博览中心呢", "zh", museum, kb)
    assert other is not None and other.new_topic and "科技馆" not in other.query


def test_a_pointer_after_a_new_thing_points_at_that_thing(kb) -> None:
    opening = _topic("opening-ceremony", "en", "When is the opening ceremony?")
    assert read_followup("and the closing, where is it held?", "en", opening, kb) is None
    assert read_followup("the closing press conference, who gave it?", "en", opening, kb) is None
    kept = read_followup("and where is it held?", "en", opening, kb)
    assert kept is not None and not kept.new_topic and "opening ceremony" in kept.query.casefold()


def test_a_swapped_thing_keeps_what_was_asked_and_drops_the_topics_title(kb) -> None:
    thai = read_followup("พิธีปิดล่ะ", "th", _topic("opening-ceremony", "th", "พิธีเปิดวันที่เท่าไหร่"), kb)
    assert thai is not None and thai.new_topic and "วันที่" in thai.query and "พิธีเปิด" not in thai.query
    english = read_followup(
        "what about the closing?", "en", _topic("opening-ceremony", "en", "when is the opening?"), kb
    )
    assert english is not None and "opening" not in english.query and "when" in english.query


def test_a_place_in_another_script_is_read_in_the_questions_language(shipped_engine) -> None:
    reader = shipped_engine.reader
    assert "hangzhou" in reader.read("any trains from 杭州 to wuzhen?", "en").text
    assert "上海" in reader.read("从Shanghai怎么去乌镇", "zh").text


@pytest.fixture(scope="module")
def kb(shipped_engine):
    return shipped_engine.kb
