"""Classes of question the reading must see through: a bare question about an aspect of the event, a
code-mixed question, a clause that only tells the reason, a person named by their role."""

from __future__ import annotations

import pytest

from index.kinds import asked_kinds
from index.mixing import bridged
from index.textproc import normalise


@pytest.mark.parametrize(
    ("question", "lang", "place"),
    [("where's it at?", "en", "wuzhen"), ("在哪儿开呀", "zh", "乌镇"), ("จัดที่ไหนอะ", "th", "อูเจิ้น")],
)
def test_a_bare_where_question_is_about_the_event(shipped_engine, question, lang, place) -> None:
    answer = shipped_engine.ask(question, lang)
    assert answer.outcome == "answer"
    assert place in normalise(answer.text, None)


def test_a_bare_question_is_searched_with_the_event_and_one_naming_something_is_not(shipped_engine) -> None:
    reader = shipped_engine.reader
    assert reader.read_many(["how long is it"])[0].text.startswith(reader.event_word["en"])
    assert reader.read_many(["几点开始"])[0].text.startswith(reader.event_word["zh"])
    for named in ("when does the youth forum start", "where is xizha", "where did daren tang speak"):
        assert not reader.read_many([named])[0].text.startswith(reader.event_word["en"])


def test_a_casual_belief_about_the_last_day_gets_the_true_date(shipped_engine) -> None:
    answer = shipped_engine.ask("it wraps up on the 9th, right?", "en")
    assert answer.outcome == "answer"
    assert answer.text.startswith("No") and "10 November" in answer.text


@pytest.mark.parametrize(
    ("question", "lang", "day"),
    [
        ("the 开幕式 is which day?", "en", "8 november"),
        ("opening ceremony是哪天", "zh", "11月8日"),
        ("opening ceremony จัดวันไหน", "th", "8 พฤศจิกายน"),
    ],
)
def test_a_name_in_another_script_is_read_in_the_question_language(
    shipped_engine, question, lang, day
) -> None:
    answer = shipped_engine.ask(question, lang)
    assert answer.outcome == "answer" and answer.language == lang
    assert day in normalise(answer.text, None)


def test_kinds_are_read_with_foreign_words_bridged() -> None:
    assert bridged("ไป venue ยังไงดี", "th") == "ไปยังไงดี"
    assert bridged("the 开幕式 is which day", "en") == "the is which day"
    assert "route" in asked_kinds("ไป venue ยังไงดี", "th")
    assert "route" in asked_kinds("去 venue 怎么走", "zh")
    # An English question with Chinese words is also read with the Chinese patterns.
    assert "when" in asked_kinds("the closing 是几号", "en")


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("จองตั๋วเครื่องบินกลับไว้แล้ว อยากรู้ว่างานปิดวันไหน", "th"),
        ("景区门票我已经买好了, 想问峰会哪天结束", "zh"),
        ("I already have my ticket home, so when does the summit end?", "en"),
    ],
)
def test_a_telling_clause_does_not_decide_the_kind_asked(shipped_engine, question, lang) -> None:
    reading = shipped_engine.reader.read_many([question])[0]
    assert reading.kinds == {"when"}
    assert "price" in asked_kinds(question, lang)  # the ticket, in the clause that only tells


@pytest.mark.parametrize(
    ("question", "person"),
    [
        ("exec deputy sec gen name pls", "Liang Hao"),
        ("国际电联副秘书长叫啥", "Tomas Lamanauskas"),
        ("GSMA的CEO是谁", "John Hoffman"),
        ("รองเลขาธิการ ITU ชื่ออะไร", "Tomas Lamanauskas"),
        ("did the WIPO director general come in person", "Daren Tang"),
        ("浙江省委书记讲话了吗", "Yi Lianhong"),
        # one of two roles held together ("WIC Vice-Chair, former WIPO Director General")
        ("which former WIPO director general was on stage", "Francis Gurry"),
        ("世界知识产权组织前总干事是谁", "Francis Gurry"),
        ("did the WIC chair give a keynote", "Zhuang Rongwen"),
        ("ประธาน WIC คือใคร", "Zhuang Rongwen"),
    ],
)
def test_people_are_found_by_their_role(shipped_engine, question, person) -> None:
    reading = shipped_engine.reader.read_many([question])[0]
    assert shipped_engine.people.find(reading.text) == [person]


def test_a_short_title_needs_its_organisation(shipped_engine) -> None:
    people = shipped_engine.people
    assert people.find("who is the ceo") == []
    assert people.find("ceo of alibaba") == ["Eddie Wu Yongming"]


@pytest.mark.parametrize(
    ("question", "lang", "name"),
    [
        ("GSMA的CEO是谁", "zh", "洪曜庄"),
        ("exec deputy sec gen name pls", "en", "liang hao"),
        ("รองเลขาธิการ ITU ชื่ออะไร", "th", "lamanauskas"),
    ],
)
def test_a_person_asked_by_role_is_answered_with_their_name(shipped_engine, question, lang, name) -> None:
    answer = shipped_engine.ask(question, lang)
    assert answer.outcome == "answer"
    assert name in normalise(answer.text, None)
