"""Numbers and names as people write them, small-talk detection and follow-up reading, without an engine."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from index.followup import Topic, read_followup
from index.knowledge import load_knowledge
from index.numerals import chinese_numerals, event_days
from index.smalltalk import small_talk
from index.textproc import normalise, place_names, tokenize

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("主会场能坐三千人吗", "主会场能坐3000人吗"),
        ("一千八百位嘉宾", "1800位嘉宾"),
        ("一千八位嘉宾", "1800位嘉宾"),
        ("一千零八", "1008"),
        ("十号有什么活动", "10号有什么活动"),
        ("十一月八日开幕", "11月8日开幕"),
        ("二〇二三年", "2023年"),
        ("两万人", "20000人"),
        ("一万二", "12000"),
        ("第十届", "第10届"),
        ("十分钟", "10分钟"),
        ("三天", "3天"),
        # words that only look like numbers stay words
        ("十分重要", "十分重要"),
        ("快一点", "快一点"),
        ("千万别迟到", "千万别迟到"),
        ("统一安排一下", "统一安排一下"),
        ("一起去", "一起去"),
        ("万维网", "万维网"),
        ("三四十个", "三四十个"),
    ],
)
def test_chinese_numerals(text: str, expected: str) -> None:
    assert chinese_numerals(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how do i get to wu zhen", "how do i get to wuzhen"),
        ("wuzen summit", "wuzhen summit"),
        ("wu-zhen from hang zhou", "wuzhen from hangzhou"),
        ("shangai hongqiao", "shanghai hongqiao"),
        ("乌真峰会在杭洲附近吗", "乌镇峰会在杭州附近吗"),
        ("อู่เจิ้นไกลจากหังโจวไหม", "อูเจิ้นไกลจากหางโจวไหม"),
        ("ไปอูเจินจากเซียงไฮ้", "ไปอูเจิ้นจากเซี่ยงไฮ้"),
        # canonical spellings and the words around them are kept
        ("wuzhen and hangzhou", "wuzhen and hangzhou"),
        ("หางโจว", "หางโจว"),
        ("wuzhenese", "wuzhenese"),
    ],
)
def test_place_names(text: str, expected: str) -> None:
    assert place_names(text) == expected


def test_invisible_characters_thai_digits_and_traditional_characters() -> None:
    assert normalise("wh\u200bere is the sum\u200b\u200bmit?") == "where is the summit?"
    assert normalise("\u202eWhere\u202c is\u200e the\u2066 summit\u2069\ufeff") == "where is the summit"
    assert normalise("ไป\u200bอูเจิ้น") == "ไป อูเจิ้น"  # a word break in Thai
    assert normalise("วันที่ ๑๐ พ.ย.") == "วันที่ 10 พ.ย."
    assert normalise("烏鎮峰會幾號開始？三千人") == "乌镇峰会几号开始?3000人"
    assert tokenize("主會場能坐三千人嗎", "zh") == tokenize("主会场能坐3,000人吗", "zh")


@pytest.mark.parametrize(
    ("text", "intent", "lang"),
    [
        ("hi", "greeting", "en"),
        ("Heyyy 👋", "greeting", "en"),
        ("Good evening!", "greeting", "en"),
        ("thx!!", "thanks", "en"),
        ("Thank you very much for the info", "thanks", "en"),
        ("bye bye", "goodbye", "en"),
        ("Who are you?", "about", "en"),
        ("HELP", "about", "en"),
        ("hello, what can you do?", "about", "en"),
        ("你好啊", "greeting", "zh"),
        ("謝謝！", "thanks", "zh"),
        ("再见啦", "goodbye", "zh"),
        ("你会什么", "about", "zh"),
        ("สวัสดีค่ะ", "greeting", "th"),
        ("ขอบคุณคร้าบบบ", "thanks", "th"),
        ("สวัสดีค้าบบ", "greeting", "th"),
        ("ขอบใจนะ", "thanks", "th"),
        ("ลาก่อนนะคะ", "goodbye", "th"),
        ("ช่วยอะไรได้บ้างครับ", "about", "th"),
        ("โอเคค่ะ", "acknowledge", "th"),
        ("yes", "acknowledge", "en"),
        ("no", "acknowledge", "en"),
    ],
)
def test_small_talk_in_three_languages(text: str, intent: str, lang: str) -> None:
    found = small_talk(text)
    assert found is not None and (found.intent, found.language) == (intent, lang)
    assert found.reply


@pytest.mark.parametrize(
    "text",
    [
        "hi, where is the summit?",
        "thanks, and from Shanghai?",
        "help me get to Wuzhen",
        "Hello, who spoke at the opening ceremony?",
        "你好，开幕式几点开始？",
        "谢谢，那上海呢？",
        "สวัสดีค่ะ งานจัดวันไหน",
        "ขอบคุณค่ะ แล้วจากเซี่ยงไฮ้ล่ะ",
        "where?",
        "",
        "🙂",
        "hi " * 500,
    ],
)
def test_questions_are_not_small_talk(text: str) -> None:
    assert small_talk(text) is None


def test_no_labelled_question_is_small_talk() -> None:
    files = sorted((ROOT / "tests/data").glob("*.jsonl"))
    questions = [json.loads(line)["q"] for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(questions) > 300
    assert [q for q in questions if small_talk(q)] == []


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")


def _topic(entry_id: str, lang: str, question: str) -> Topic:
    return Topic(entry_id, lang, question, datetime(2023, 11, 8, 9, tzinfo=UTC))  # type: ignore[arg-type]


def test_follow_ups_are_read_with_the_topic(kb) -> None:
    route = _topic("faq-hangzhou-to-wuzhen", "en", "How do I get to Wuzhen from Hangzhou?")
    shanghai = read_followup("and from Shanghai?", "en", route, kb)
    assert shanghai is not None and shanghai.new_topic
    assert "shanghai" in shanghai.query and "hangzhou" not in shanghai.query and "how" in shanghai.query
    aspect = read_followup("那几点开始？", "zh", _topic("opening-ceremony", "zh", "开幕式在哪里？"), kb)
    assert aspect is not None and not aspect.new_topic and aspect.query.startswith("开幕式")
    thai = read_followup("แล้วจัดที่ไหน", "th", _topic("opening-ceremony", "th", "พิธีเปิดวันไหน"), kb)
    assert thai is not None and "พิธีเปิด" in thai.query


@pytest.mark.parametrize(
    "text",
    [
        "How many countries did the guests come from?",
        "And how many countries attended?",
        "What is the capital of France and why is it so famous among travellers?",
        "峰会在哪里举办？",
        "งานประชุมจัดที่ไหน",
    ],
)
def test_whole_questions_stand_alone(kb, text: str) -> None:
    topic = _topic("faq-hangzhou-to-wuzhen", "en", "How do I get to Wuzhen from Hangzhou?")
    lang = "zh" if "峰" in text else "th" if "งาน" in text else "en"
    assert read_followup(text, lang, topic, kb) is None  # type: ignore[arg-type]


def test_topic_freshness_and_unknown_entries(kb) -> None:
    topic = _topic("no-such-entry", "en", "x")
    assert read_followup("and from Shanghai?", "en", topic, kb) is None
    assert topic.fresh(topic.at + timedelta(minutes=4, seconds=59))
    assert not topic.fresh(topic.at + timedelta(minutes=5, seconds=1))
    assert not topic.fresh(topic.at - timedelta(seconds=1))


def test_a_bare_day_of_the_event_gets_its_month() -> None:
    import datetime as dt

    from index.numerals import event_days

    first, last = dt.date(2023, 11, 8), dt.date(2023, 11, 10)
    assert event_days("anything on the 10th?", "en", first, last).endswith("(10 November)")
    assert event_days("10号还有活动吗", "zh", first, last).endswith("(11月10日)")
    assert event_days("วันที่10ยังมีงานไหม", "th", first, last).endswith("(10 พฤศจิกายน)")
    # a tenth year, a date with its month, or a day outside the event stay as written
    for text, lang in [
        ("the 10th year", "en"),
        ("11月10日", "zh"),
        ("on the 20th", "en"),
        ("วันที่ 10 พ.ย.", "th"),
    ]:
        assert event_days(text, lang, first, last) == text


@pytest.mark.parametrize(
    ("text", "lang", "added"),
    [
        ("is it worth staying till friday?", "en", "10 November"),
        ("周五还有活动吗", "zh", "11月10日"),
        ("วันพฤหัสมีฟอรัมอะไรบ้าง", "th", "9 พฤศจิกายน"),
        ("what happens on tuesday before it opens", "en", "7 November"),
    ],
)
def test_a_day_of_the_week_names_the_event_day_it_falls_on(text: str, lang: str, added: str) -> None:
    assert added in event_days(text, lang, date(2023, 11, 8), date(2023, 11, 10))


def test_a_day_of_the_week_outside_the_event_adds_nothing() -> None:
    assert event_days("is anything on monday?", "en", date(2023, 11, 8), date(2023, 11, 10)) == (
        "is anything on monday?"
    )
