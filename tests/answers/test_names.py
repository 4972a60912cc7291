"""Fuzzy name matching inside questions in Thai, Chinese and English."""

from __future__ import annotations

import pytest

from index.names import NameMatcher

NAMES = [
    ("wuzhen", "Wuzhen"),
    ("wuzhen", "乌镇"),
    ("wuzhen", "อูเจิ้น"),
    ("tongxiang", "Tongxiang"),
    ("tongxiang", "桐乡"),
    ("tongxiang", "ถงเซียง"),
    ("wang-shu", "Wang Shu"),
    ("wang-shu", "王澍"),
    ("ai-forum", "AI"),
    ("ai-forum", "Artificial Intelligence Forum"),
    ("center", "乌镇互联网国际会展中心"),
    ("center", "Wuzhen Internet International Convention and Exhibition Center"),
    ("center", "ศูนย์การประชุมและนิทรรศการนานาชาติอินเทอร์เน็ตอูเจิ้น"),
    ("youth", "Youth and Digital Future Forum"),
    ("xizha", "Xizha"),
    ("xizha", "ซีจ้า"),
]


@pytest.fixture(scope="module")
def matcher() -> NameMatcher:
    return NameMatcher(NAMES)


def _ids(matcher: NameMatcher, query: str) -> list[str]:
    return [entry_id for entry_id, _ in matcher.match(query)]


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("How do I get to Wuzen?", "wuzhen"),
        ("Tongxaing station", "tongxiang"),
        ("who is Wang Su", "wang-shu"),
        ("wang shu", "wang-shu"),
        ("烏鎮互聯網國際會展中心在哪裡", "center"),
        ("乌镇互联网国际会展中心", "center"),
        ("ศูนย์การประชุมและนิทรรศการนานาชาติอินเทอรเน็ตอูเจิ้นอยู่ไหน", "center"),
        ("ถงเซยงอยู่ไหน", "tongxiang"),  # vowel mark missing
        ("ไปอูเจินยังไง", "wuzhen"),  # tone mark missing
        ("ซีจายังไง", "xizha"),  # tone mark missing
        ("ไปซีจ้ายังไง", "xizha"),
        ("when is the youth and digital futur forum", "youth"),
        ("AI forum, when?", "ai-forum"),
        ("从桐乡站怎么去乌镇", "tongxiang"),
    ],
)
def test_finds_names_with_typos_and_in_any_script(matcher: NameMatcher, query: str, entry: str) -> None:
    assert entry in _ids(matcher, query)


@pytest.mark.parametrize(
    "query",
    [
        "what did she said about email training?",
        "maintain the chain",
        "when does it start",
        "forum",
        "Can you recommend a good sushi restaurant in Tokyo?",
        "ใครชนะฟุตบอลโลก 2022",
        "明天北京会下雨吗",
        "🙂🙂",
        "",
    ],
)
def test_no_false_matches(matcher: NameMatcher, query: str) -> None:
    assert matcher.match(query) == []


def test_short_latin_name_needs_a_whole_word(matcher: NameMatcher) -> None:
    assert _ids(matcher, "ai") == ["ai-forum"]
    assert _ids(matcher, "Tell me about A.I.") == []  # letters apart are not the word "ai"
    assert _ids(matcher, "said") == []


def test_one_result_per_entry_best_first(matcher: NameMatcher) -> None:
    results = matcher.match("Wuzhen 乌镇 อูเจิ้น Wuzen, Tongxaing")
    assert [entry_id for entry_id, _ in results] == ["wuzhen", "tongxiang"]
    assert results[0][1] == 100.0
    assert 80.0 <= results[1][1] < 100.0


def test_k_and_min_score(matcher: NameMatcher) -> None:
    query = "Wuzhen, Tongxaing, Wang Shu, Xizha"
    assert len(matcher.match(query, k=2)) == 2
    assert _ids(matcher, "Tongxaing") == ["tongxiang"]
    assert matcher.match("Tongxaing", min_score=95.0) == []


def test_empty_or_blank_names_are_ignored() -> None:
    matcher = NameMatcher([("a", ""), ("b", "  "), ("c", "Wuzhen")])
    assert matcher.match("Wuzhen") == [("c", 100.0)]
    assert NameMatcher([]).match("Wuzhen") == []
