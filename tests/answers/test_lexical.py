"""BM25 search and query coverage over a small passage set in three languages."""

from __future__ import annotations

import pytest

from index.lexical import LexicalIndex
from index.types import Passage

TEXTS = [
    ("dates", "en", "The 2023 Wuzhen Summit takes place from 8 to 10 November 2023 in Wuzhen, Zhejiang."),
    ("hall", "en", "The main hall of the convention center seats 3,000 people."),
    ("rail", "en", "Tongxiang Station is the nearest high-speed rail station to Wuzhen."),
    ("bus", "en", "From Tongxiang Station take bus K282 or a taxi to Wuzhen, about 30 minutes."),
    (
        "architect",
        "en",
        "The Wuzhen Internet International Convention and Exhibition Center was designed by Wang Shu.",
    ),
    ("dates", "zh", "2023年世界互联网大会乌镇峰会于11月8日至10日在浙江乌镇举行。"),
    ("hall", "zh", "会展中心主会场可容纳3000人。"),
    ("rail", "zh", "距离乌镇最近的高铁站是桐乡站。"),
    ("bus", "zh", "从桐乡站可乘坐K282路公交车或出租车前往乌镇，约30分钟。"),
    ("architect", "zh", "乌镇互联网国际会展中心由建筑师王澍设计。"),
    ("dates", "th", "การประชุมสุดยอดอูเจิ้นปี 2023 จัดขึ้นระหว่างวันที่ 8 ถึง 10 พฤศจิกายน ณ ตำบลอูเจิ้น มณฑลเจ้อเจียง"),
    ("hall", "th", "ห้องประชุมใหญ่ของศูนย์การประชุมจุคนได้ 3,000 คน"),
    ("rail", "th", "สถานีรถไฟความเร็วสูงที่ใกล้อูเจิ้นที่สุดคือสถานีถงเซียง"),
    ("bus", "th", "จากสถานีถงเซียงไปอูเจิ้นนั่งรถประจำทาง K282 หรือแท็กซี่ ใช้เวลาประมาณ 30 นาที"),
    ("architect", "th", "ศูนย์การประชุมและนิทรรศการนานาชาติอินเทอร์เน็ตอูเจิ้นออกแบบโดยสถาปนิกหวังซู่"),
]
PASSAGES = [Passage(f"{entry}-{lang}", entry, lang, "body", text) for entry, lang, text in TEXTS]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex(PASSAGES)


def _top_entry(index: LexicalIndex, query: str, lang: str) -> str:
    hits = index.search(query, lang)
    assert hits, query
    return PASSAGES[hits[0].index].entry_id


@pytest.mark.parametrize(
    ("query", "lang", "entry"),
    [
        ("When does the 2023 Wuzhen Summit take place?", "en", "dates"),
        ("How many people can the main hall hold?", "en", "hall"),
        ("What is the nearest high-speed rail station to Wuzhen?", "en", "rail"),
        ("How do I get from Tongxiang station to Wuzhen by bus?", "en", "bus"),
        ("Who designed the convention centre? Wang Shu?", "en", "architect"),
        ("2023年乌镇峰会什么时候举行？", "zh", "dates"),
        ("主会场能容纳多少人？", "zh", "hall"),
        ("离乌镇最近的高铁站是哪个？", "zh", "rail"),
        ("從桐鄉站怎麼去烏鎮？坐公交車", "zh", "bus"),
        ("会展中心是谁设计的？", "zh", "architect"),
        ("การประชุมสุดยอดอูเจิ้นปี 2023 จัดวันไหน", "th", "dates"),
        ("ห้องประชุมใหญ่จุคนได้กี่คน", "th", "hall"),
        ("สถานีรถไฟความเร็วสูงที่ใกล้อูเจิ้นที่สุดคือที่ไหน", "th", "rail"),
        ("จากสถานีถงเซียงไปอูเจิ้นนั่งแท็กซี่ได้ไหม", "th", "bus"),
        ("ใครเป็นผู้ออกแบบศูนย์การประชุม", "th", "architect"),
    ],
)
def test_right_passage_ranks_first(index: LexicalIndex, query: str, lang: str, entry: str) -> None:
    assert _top_entry(index, query, lang) == entry


def test_hits_point_into_the_original_sequence_and_stay_in_language(index: LexicalIndex) -> None:
    hits = index.search("乌镇", "zh")
    assert hits
    assert all(PASSAGES[h.index].lang == "zh" for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)


def test_k_limits_the_hits(index: LexicalIndex) -> None:
    assert len(index.search("Wuzhen", "en", k=2)) == 2


def test_numbers_match_with_or_without_separators(index: LexicalIndex) -> None:
    assert _top_entry(index, "3000 people", "en") == "hall"
    assert _top_entry(index, "3,000", "zh") == "hall"


def test_latin_code_inside_thai_or_chinese_matches(index: LexicalIndex) -> None:
    assert _top_entry(index, "K282 ไปไหน", "th") == "bus"
    assert _top_entry(index, "K282路", "zh") == "bus"


def test_latin_name_in_thai_question_also_searches_english(index: LexicalIndex) -> None:
    hits = index.search("Wang Shu เป็นใคร", "th")
    assert hits
    assert PASSAGES[hits[0].index].entry_id == "architect"
    assert PASSAGES[hits[0].index].lang == "en"


@pytest.mark.parametrize(
    ("query", "lang"),
    [("🙂🙂", "en"), ("", "th"), ("the of a", "en"), ("sushi restaurant Tokyo", "en"), ("推荐火锅店", "zh")],
)
def test_no_hits_without_matching_words(index: LexicalIndex, query: str, lang: str) -> None:
    assert index.search(query, lang) == []


def test_language_without_passages_gives_no_hits() -> None:
    only_english = LexicalIndex([p for p in PASSAGES if p.lang == "en"])
    assert only_english.search("乌镇", "zh") == []
    assert LexicalIndex([]).search("Wuzhen", "en") == []


def _position(entry: str, lang: str) -> int:
    return next(i for i, p in enumerate(PASSAGES) if p.entry_id == entry and p.lang == lang)


def test_coverage_full_partial_and_none(index: LexicalIndex) -> None:
    rail = _position("rail", "en")
    full = index.coverage("nearest high-speed rail station to Wuzhen", "en", rail)
    partial = index.coverage("nearest rail station to Hangzhou airport", "en", rail)
    none = index.coverage("sushi restaurant in Tokyo", "en", rail)
    assert full == pytest.approx(1.0)
    assert 0.0 < partial < 0.8
    assert none == 0.0


def test_coverage_ignores_question_words(index: LexicalIndex) -> None:
    hall = _position("hall", "en")
    assert index.coverage("How many people in the main hall?", "en", hall) == pytest.approx(1.0)
    assert index.coverage("主会场能容纳多少人？", "zh", _position("hall", "zh")) == pytest.approx(1.0)
    assert index.coverage("ห้องประชุมใหญ่จุคนได้กี่คน", "th", _position("hall", "th")) == pytest.approx(1.0)


def test_coverage_weights_rare_words_more(index: LexicalIndex) -> None:
    bus = _position("bus", "en")
    # "wuzhen" is in most passages, "sushi" in none: missing the rare word costs more.
    with_common_missing = index.coverage("K282 taxi Wuzhen", "en", _position("hall", "en"))
    assert with_common_missing == 0.0
    rare_found = index.coverage("K282 Hangzhou", "en", bus)
    common_found = index.coverage("Wuzhen Hangzhou", "en", bus)
    assert rare_found > common_found > 0.0


def test_coverage_of_a_question_without_content_words_is_zero(index: LexicalIndex) -> None:
    assert index.coverage("how many?", "en", _position("hall", "en")) == 0.0
    assert index.coverage("🙂", "zh", _position("hall", "zh")) == 0.0


def test_coverage_of_english_passage_for_latin_words_in_thai_question(index: LexicalIndex) -> None:
    architect = _position("architect", "en")
    assert index.coverage("ใครคือ Wang Shu", "th", architect) == pytest.approx(1.0)
    assert index.coverage("Wang Shu ออกแบบอาคารอะไรบ้าง", "th", architect) < 0.7


def test_passages_without_words_do_not_break_the_index() -> None:
    passages = [
        Passage("e1", "emoji", "en", "name", "🙂"),
        Passage("e2", "wuzhen", "en", "name", "Wuzhen"),
        Passage("t1", "emoji", "th", "name", "🙂"),
    ]
    index = LexicalIndex(passages)
    assert [h.index for h in index.search("Wuzhen", "en")] == [1]
    assert index.search("ทดสอบ", "th") == []
    assert index.coverage("ทดสอบ", "th", 2) == 0.0
    assert index.coverage("Wuzhen", "en", 0) == 0.0


def test_question_words_alone_do_not_outrank_the_topic() -> None:
    passages = [
        Passage("q1", "closing", "th", "question", "จบวันไหน"),
        Passage("q2", "venue", "th", "question", "จัดที่ไหน"),
        Passage(
            "b1",
            "youth",
            "th",
            "body",
            "โครงการผู้นำเยาวชนระดับโลกคัดเลือกผู้นำเยาวชน 18 คนจาก 14 ประเทศ "
            "และร่วมในฟอรัมเยาวชนกับอนาคตดิจิทัลวันที่ 9 พฤศจิกายน 2023 ณ ศูนย์การประชุมอูเจิ้น",
        ),
    ]
    hits = LexicalIndex(passages).search("ฟอรัมเยาวชนจัดวันไหน", "th")
    assert passages[hits[0].index].entry_id == "youth"


def test_compound_in_question_matches_its_parts_in_passage() -> None:
    passages = [
        Passage("a", "architect", "th", "body", "อาคารนี้ออกแบบโดยสถาปนิกหวังซู่"),
        Passage("b", "hall", "th", "body", "ห้องใหญ่จุคนได้สามพันคน"),
    ]
    index = LexicalIndex(passages)
    hits = index.search("ใครเป็นผู้ออกแบบ", "th")
    assert [h.index for h in hits] == [0]
    assert index.coverage("ผู้ออกแบบ", "th", 0) == pytest.approx(1.0)


def test_synonyms_find_and_cover_the_other_wording() -> None:
    from index.lexical import LexicalIndex, synonyms
    from index.types import Passage

    assert "เผยแพร่" in synonyms("th")["เปิดตัว"]
    assert "交界" in synonyms("zh")["挨着"]
    passages = [
        Passage("p1", "a", "th", "body", "มีการเผยแพร่รายงานการพัฒนาอินเทอร์เน็ตโลก"),
        Passage("p2", "b", "th", "body", "พิธีเปิดจัดขึ้นในช่วงเช้า"),
    ]
    index = LexicalIndex(passages)
    hits = index.search("เปิดตัวรายงานอะไรบ้าง", "th")
    assert hits and hits[0].index == 0
    assert index.coverage("เปิดตัวรายงาน", "th", 0) == 1.0


def test_bm25_sums_are_those_of_adding_each_column_with_add_at(index: LexicalIndex) -> None:
    """A token's BM25 column is added to the scores with an indexed addition: the sums are those of
    ``np.add.at`` (which allows repeated documents), token by token."""
    import numpy as np

    for lang, lang_index in index._indexes.items():
        ids = list(range(len(lang_index._starts) - 1))  # every column
        assert ids, lang
        expected = np.zeros(lang_index.size, dtype=lang_index._dtype)
        for token_id in ids:
            start, end = lang_index._starts[token_id], lang_index._starts[token_id + 1]
            np.add.at(expected, lang_index._docs[start:end], lang_index._scores[start:end])
        got = lang_index.scores(ids)
        assert got.tolist() == expected.tolist()
        assert np.count_nonzero(got) > 0
