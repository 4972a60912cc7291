"""Pieces of the answer engine that hold for whole classes of questions: Latin names in Thai replies,
chat shorthand, prices the knowledge does not give, people it never mentions, the event's own year."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.composer import NameGlosses, answer_text, entry_text
from index.kinds import price_subjects, priced_subjects, without_this_year
from index.knowledge import load_knowledge
from index.people import unknown_names
from index.shorthand import expand_shorthand

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")


def test_thai_reply_gives_latin_name_after_first_mention_only(kb) -> None:
    glosses = NameGlosses(kb)
    text = "มีเริ่น เสียนเลียง เลขาธิการ WIC เป็นประธาน และเริ่น เสียนเลียง กล่าวปิด"
    out = glosses.apply(text, "th")
    assert out.count("(Ren Xianliang)") == 1
    assert out.index("(Ren Xianliang)") < out.index("กล่าวปิด")
    # Written without the space, the name is still found.
    assert "(Ren Xianliang)" in glosses.apply("มีเริ่นเสียนเลียงเป็นประธาน", "th")


def test_no_gloss_where_latin_form_stands_nearby_or_outside_thai(kb) -> None:
    glosses = NameGlosses(kb)
    given = "เริ่น เสียนเลียง (Ren Xianliang) เป็นประธาน"
    assert glosses.apply(given, "th") == given
    zh = entry_text(kb.by_id["faq-plenary-time"], kb, "zh")
    assert answer_text(kb.by_id["faq-plenary-time"], kb, "zh") == zh


def test_gloss_joins_a_role_in_brackets(kb) -> None:
    card = answer_text(kb.by_id["opening-ceremony"], kb, "th")
    assert "หลี่ ซูเหลย (Li Shulei, " in card
    assert "(Li Shulei) (" not in card


def test_every_thai_answer_naming_a_known_person_carries_the_latin_name(kb) -> None:
    """The class, not one entry: each Thai answer mentioning a speaker's Thai name gives the Latin name,
    and so does each Chinese answer mentioning a transliterated one."""
    glosses = NameGlosses(kb)
    for lang in ("th", "zh"):
        for entry in kb.entries():
            text = entry_text(entry, kb, lang)
            glossed = glosses.apply(text, lang)
            for pattern, latin, _ in glosses._names[lang]:
                if pattern.search(text):
                    assert latin.casefold() in glossed.casefold(), (lang, entry.id, latin)


@pytest.mark.parametrize(
    ("written", "expanded"),
    [
        ("whats the theme this yr", "what is the theme this year"),
        ("central gov or the province?", "central government or the province?"),
        ("which orgs got it", "which organisations got it"),
        ("r u free tmrw pls", "are you free tomorrow please"),
        ("intl conf info", "international conference information"),
        ("咋去乌镇", "怎么去乌镇"),
        ("啥时候开始", "什么时候开始"),
        ("มีรถรับส่งรึเปล่า", "มีรถรับส่งหรือเปล่า"),
    ],
)
def test_shorthand_is_written_out(written: str, expanded: str) -> None:
    assert expand_shorthand(written) == expanded


@pytest.mark.parametrize(
    "text", ["u.s. delegates", "r&d forum", "a u-turn", "info@wicinternet.org", "your union"]
)
def test_shorthand_inside_other_words_is_left_alone(text: str) -> None:
    assert expand_shorthand(text) == text


def test_price_subjects_of_questions() -> None:
    assert price_subjects("how much are hotels in xizha", "en") == {"hotel"}
    assert price_subjects("西栅里面的酒店大概多少钱一晚", "zh") == {"hotel"}
    assert price_subjects("แท็กซี่จากสถานีราคาเท่าไหร่", "th") == {"taxi"}
    assert price_subjects("when does it start", "en") == frozenset()


@pytest.mark.parametrize(
    "question", ["ค่าแท็กซี่จากสถานีไปอูเจิ้นเท่าไหร่", "โรงแรมคืนละเท่าไหร่คะ", "西栅的酒店一晚多少钱"]
)
def test_thai_and_chinese_price_questions_ask_a_price(question: str) -> None:
    from index.kinds import asked_kinds

    lang = "zh" if question[0] == "西" else "th"
    assert "price" in asked_kinds(question, lang)


def test_entries_price_only_what_stands_with_an_amount(kb) -> None:
    # The scenic area's card names hotels, but prices only its tickets and the free electric cart.
    assert "hotel" not in priced_subjects(kb.by_id["xizha-scenic-area"], kb)
    assert "cart" in priced_subjects(kb.by_id["xizha-scenic-area"], kb)
    assert "train" in priced_subjects(kb.by_id["route-hangzhou-east-tongxiang-train"], kb)
    assert priced_subjects(kb.by_id["faq-theme"], kb) == frozenset()


def test_unknown_names_are_capitalised_pairs_of_words_the_knowledge_never_uses() -> None:
    known = {
        "did",
        "speak",
        "at",
        "the",
        "summit",
        "robin",
        "li",
        "world",
        "internet",
        "conference",
    }.__contains__
    assert unknown_names("did Sam Altman speak at the summit?", known) == ["Sam Altman"]
    assert unknown_names("did Robin Li speak?", known) == []
    assert unknown_names("World Internet Conference dates", known) == []
    # Without capitals, a pair counts only between "did" and what the person did.
    assert unknown_names("did sam altman speak", known) == ["sam altman"]
    assert unknown_names("can i just watch online or do i need to be there in person", known) == []
    assert unknown_names("did Jensen Li speak?", known) == ["Jensen Li"]  # a Li, but no Jensen
    assert unknown_names("did Robin Lee speak?", known) == []  # a short word may be a misspelling
    # A capitalised first word of the sentence does not hide the name after it.
    assert unknown_names("Did Sam Altman speak at the summit?", known) == ["Sam Altman"]
    assert unknown_names("Did Robin Li speak?", known) == []


def test_words_naming_this_year_are_left_out() -> None:
    assert without_this_year("งาน WIC ปีนี้ที่อูเจิ้น อยู่มณฑลไหน", "th") == "งาน wic ที่อูเจิ้น อยู่มณฑลไหน"
    assert without_this_year("what's the theme this year", "en") == "what's the theme"
    assert without_this_year("今年", "zh") == "今年"  # nothing else left: kept as it was


@pytest.mark.parametrize(
    ("written", "normalised"),
    [("哪一年", "哪一年"), ("同一天", "同一天"), ("这一天", "这一天"), ("一天", "1天"), ("第一届", "第1届")],
)
def test_yi_picking_one_thing_out_is_not_a_count(written: str, normalised: str) -> None:
    from index.textproc import normalise

    assert normalise(written) == normalised


def test_chinese_reply_gives_latin_form_of_transliterated_names_only(kb) -> None:
    """尼·夸纳 is our transliteration of Nii Quaynor; 任贤良 is a Chinese name and needs no gloss."""
    glosses = NameGlosses(kb)
    out = glosses.apply("互联网先驱尼·夸纳和任贤良都发表了讲话，尼·夸纳还谈到非洲。", "zh")
    assert out.count("（Nii Quaynor）") == 1
    assert "任贤良（" not in out
    card = answer_text(kb.by_id["plenary-session"], kb, "zh")
    assert "弗朗西斯·高锐 (Francis Gurry, " in card
