"""Yes/no questions that check a belief: read once (the values asserted, the question behind them) and
answered with yes or no and the true value, in every language."""

from __future__ import annotations

import pytest

from index.belief import read_belief
from index.numerals import canonical_places
from index.textproc import normalise
from index.wording import format_date, phrase

PLACES = tuple(normalise(p, limit=None) for p in canonical_places())


def _read(question: str, lang: str):
    return read_belief(normalise(question), lang, PLACES)


@pytest.mark.parametrize(
    ("question", "lang", "days", "asks"),
    [
        ("someone said it wraps up on the 9th, right?", "en", {9}, "which day"),
        ("峰会11号还开吗", "zh", {11}, "哪天"),
        ("วันสุดท้ายคือวันที่9ใช่ป่ะ", "th", {9}, "วันไหน"),
    ],
)
def test_asserted_day_is_replaced_by_the_question_behind_it(question, lang, days, asks) -> None:
    belief, behind = _read(question, lang)
    assert belief is not None and belief.days == days
    assert asks in behind
    assert not any(str(day) in behind for day in days)
    # The markers of the check are left out of what is searched.
    assert "right" not in behind and "还" not in behind and "ใช่" not in behind


def test_years_numbers_and_places_are_asserted_values() -> None:
    year, behind = _read("WIC是2020年变成国际组织的吧", "zh")
    assert year is not None and year.years == {2020} and "哪年" in behind and "2020" not in behind
    number, _ = _read("wic has like 500 members yeah?", "en")
    assert number is not None and number.numbers == {500}
    # Of two places the first is what is asked about, the other what is believed.
    place, behind = _read("wuzhen is in jiangsu right?", "en")
    assert place is not None and place.places == {"jiangsu"} and behind.startswith("wuzhen")
    # With a day asserted, the place named is the subject, not the belief.
    dated, _ = _read("the wuzhen summit ends on the 9th, right?", "en")
    assert dated is not None and dated.days == {9} and not dated.places


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("ได้ยินว่าทีมไป่ตู้ไปบรรยายที่อูเจิ้นด้วย หัวข้ออะไรคะ", "th"),
        ("听说阿里巴巴的人去乌镇演讲了，讲的是什么", "zh"),
        ("someone told me IBM spoke in Wuzhen, which session was it", "en"),
    ],
)
def test_a_belief_check_asking_something_of_its_own_asserts_no_place(question, lang) -> None:
    belief, behind = _read(question, lang)
    assert belief is None or not belief.places
    assert any(place in behind for place in PLACES)  # the place stays part of the question
    assert "where" not in behind and "ที่ไหน" not in behind and "哪里" not in behind


@pytest.mark.parametrize(
    ("question", "lang"),
    [("when does it end?", "en"), ("开幕式是哪天", "zh"), ("is there a youth forum", "en"), ("จัดที่ไหน", "th")],
)
def test_plain_questions_check_no_belief(question, lang) -> None:
    belief, behind = _read(question, lang)
    assert belief is None and behind == normalise(question)


@pytest.mark.parametrize(
    ("wrong", "right", "lang"),
    [
        ("the summit ends on the 9th, right?", "the summit ends on the 10th, right?", "en"),
        ("峰会是9号结束的吧", "峰会是10号结束的吧", "zh"),
        ("การประชุมจบวันที่9ใช่ไหม", "การประชุมจบวันที่10ใช่ไหม", "th"),
    ],
)
def test_belief_about_the_last_day_is_answered_yes_or_no_with_the_true_date(
    shipped_engine, wrong, right, lang
) -> None:
    end = shipped_engine.kb.event.end_date
    no = shipped_engine.ask(wrong, lang)
    assert no.answered
    assert no.text.startswith(phrase("belief_no_date", lang, date=format_date(end, lang)))
    yes = shipped_engine.ask(right, lang)
    assert yes.answered
    assert yes.text.startswith(phrase("belief_yes", lang))
    # The entry's own text follows the verdict.
    assert yes.text.split("\n\n", 1)[1] == shipped_engine.entry_answer(yes.best, lang)


@pytest.mark.parametrize(
    ("question", "lang"),
    [("the opening ceremony is on the 9th, right?", "en"), ("开幕式是9号吧", "zh"), ("พิธีเปิดวันที่9ใช่ไหม", "th")],
)
def test_belief_about_a_session_day_is_checked_against_its_date(shipped_engine, question, lang) -> None:
    answer = shipped_engine.ask(question, lang)
    session = shipped_engine.kb.by_id[answer.best]
    assert answer.answered and session.date is not None and session.date.day != 9
    assert answer.text.startswith(phrase("belief_no_date", lang, date=format_date(session.date, lang)))


@pytest.mark.parametrize(
    ("question", "lang"),
    [("isn't the summit held in hangzhou?", "en"), ("峰会是在杭州开的吧", "zh"), ("งานจัดที่หางโจวใช่ไหม", "th")],
)
def test_belief_in_a_place_the_answer_does_not_name_is_answered_no(shipped_engine, question, lang) -> None:
    answer = shipped_engine.ask(question, lang)
    assert answer.answered
    assert answer.text.startswith(phrase("belief_no", lang))
    assert "hangzhou" not in normalise(shipped_engine.entry_answer(answer.best, "en"))
    assert answer.text.endswith(shipped_engine.entry_answer(answer.best, lang))


def test_a_question_checking_nothing_gets_no_verdict(shipped_engine) -> None:
    answer = shipped_engine.ask("when does the summit end", "en")
    assert answer.answered
    assert answer.text == shipped_engine.entry_answer(answer.best, "en")
