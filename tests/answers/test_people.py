"""Named people and organisations in questions, uncovered kinds, and the question clause of a long
message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.kinds import uncovered_kinds
from index.knowledge import load_knowledge
from index.people import HanNames, PeopleIndex, homophones
from index.reading import question_clause

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def people() -> PeopleIndex:
    return PeopleIndex(load_knowledge(KNOWLEDGE))


@pytest.mark.parametrize(
    ("question", "person"),
    [
        ("what did Arvind Krishna talk about", "Arvind Krishna"),
        ("Did WIPO's Darren Tang come in person?", "Daren Tang"),  # one letter off
        ("Ke Jixin's part in the summit?", "Ke Jixin"),  # possessive
        ("任贤良是谁", "Ren Xianliang"),
        ("任先良是干什么的", "Ren Xianliang"),  # same pinyin, one character wrong
        ("王静涛讲了什么", "Wang Jingtao"),
        ("ซีอีโอ IBM ขึ้นพูดที่ไหน", "Arvind Krishna"),  # an organisation alias, inside Thai
        ("ดาเรน ตัง มาที่อูเจิ้นไหม", "Daren Tang"),  # another Thai transliteration
        ("เทนเซ็นต์พูดเรื่องอะไร", "Guo Kaitian"),
    ],
)
def test_finds_people_in_any_script(people: PeopleIndex, question: str, person: str) -> None:
    assert person in people.find(question)


@pytest.mark.parametrize(
    "question",
    [
        "When does the summit start?",
        "how do I get to wuzhen from hangzhou",
        "乌镇在哪里",
        "王府井怎么走",
        "งานจัดที่ไหน",
    ],
)
def test_names_nobody_in_ordinary_questions(people: PeopleIndex, question: str) -> None:
    assert people.find(question) == []


def test_a_homophone_with_no_character_of_the_name_is_not_the_name(people: PeopleIndex) -> None:
    # 仁先凉 sounds like 任贤良 but shares none of its characters: too weak to call it the same person.
    assert people.find("仁先凉是谁") == []


def test_person_links_every_entry_that_mentions_them(people: PeopleIndex) -> None:
    entries = people.entries_for("who is Ren Xianliang")
    assert {"plenary-session", "fact-wic-leadership", "closing-press-conference"} <= entries.keys()


def test_homophones_keep_only_characters_sounding_like_the_names() -> None:
    table = homophones("贤")
    assert "xian" in table["先"]
    assert "良" not in table


@pytest.mark.parametrize(
    ("question", "lang", "kind"),
    [
        ("is there a dress code for the plenary?", "en", "dress"),
        ("How much is a delegate pass?", "en", "fee"),
        ("can you book me a hotel room in Xizha", "en", "booking"),
        ("how do I register for the summit", "en", "registration"),
        ("开幕式要穿正装吗", "zh", "dress"),
        ("会场附近能停车吗", "zh", "facility"),
        ("ค่าเข้าร่วมงานเท่าไหร่คะ", "th", "fee"),
        ("มีไวไฟในงานไหม", "th", "facility"),
        ("what's the phone number of the press office", "en", "contact"),
        ("秘书长的联系方式是什么", "zh", "contact"),
        ("ขอเบอร์โทรผู้จัดงานหน่อย", "th", "contact"),
        ("how much does the chair earn", "en", "pay"),
        ("秘书长月薪多少", "zh", "pay"),
        ("เลขาธิการได้เงินเดือนเท่าไหร่", "th", "pay"),
        ("membership fee for a company?", "en", "membership"),
        ("入会费多少", "zh", "membership"),
        ("ค่าสมาชิก WIC เท่าไหร่", "th", "membership"),
    ],
)
def test_uncovered_kinds(question: str, lang: str, kind: str) -> None:
    assert kind in uncovered_kinds(question, lang)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("How many projects entered the Straight to Wuzhen competition?", "en"),
        ("“直通乌镇”大赛有多少项目报名", "zh"),
        ("How much does the K282 bus cost?", "en"),
        ("ตั๋วเข้าอูเจิ้นตะวันตกราคาเท่าไหร่", "th"),
        ("how many members does WIC have", "en"),
        ("世界互联网大会有多少会员", "zh"),
        ("WIC มีสมาชิกกี่ราย", "th"),
        ("who paid for the expo", "en"),
    ],
)
def test_covered_questions_ask_no_uncovered_kind(question: str, lang: str) -> None:
    assert uncovered_kinds(question, lang) == frozenset()


def test_question_clause_of_a_long_message() -> None:
    long = (
        "Hello, my team is flying in from Lisbon next week and we are still sorting out hotels and "
        "visas. Our manager wants the schedule. When does the plenary start?"
    )
    assert question_clause(long) == "When does the plenary start?"
    assert question_clause("When does the plenary start?") is None
    assert question_clause(
        "我们公司派了三个人去参会，机票已经订好了，酒店还在看。想问一下全体会议是几点开始的？"
    ) == ("想问一下全体会议是几点开始的？")


def test_a_short_message_is_focused_on_a_question_introduced_after_a_story() -> None:
    assert question_clause("我下周五要回上海，想问一下峰会哪天结束") == "想问一下峰会哪天结束"
    assert question_clause("my train home leaves on friday, I was wondering when it closes") == (
        "i was wondering when it closes"
    )
    # No introducing phrase, or nothing told before it: nothing to focus on.
    assert question_clause("the opening ceremony, when is it?") is None
    assert question_clause("想问一下峰会最后一天是几号") is None


def test_a_western_name_in_chinese_is_found_by_its_family_name(people: PeopleIndex) -> None:
    """弗朗西斯·高锐 is also written 高锐."""
    assert people.find("高锐是谁？他跟乌镇峰会什么关系") == ["Francis Gurry"]


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("马斯克今年来乌镇了吗？讲了什么", ["马斯克"]),
        ("马化腾今年在主论坛发言了吗", ["马化腾"]),
        ("李彦宏在乌镇讲了啥", []),  # the knowledge names him
        ("西栅门票多少钱", []),  # the dictionary tags 多少钱 as a name: nobody takes part here
    ],
)
def test_unknown_chinese_names_are_people_taking_part(
    people: PeopleIndex, question: str, found: list[str]
) -> None:
    assert people.unknown_han_names(question) == found


def test_han_names_are_found_at_every_position_they_start() -> None:
    names = HanNames(["马斯克", "王小明", "欧阳小明", "张三", "诸葛孔明先生"])
    text = "马斯克和王小明、欧阳小明来了"
    assert names.starts(text, 3) == [0, 4]  # 阳小明, inside 欧阳小明, is not a name of its own
    assert names.starts(text, 4) == [8]
    assert names.starts("张三来了", 3) == []  # only three and four characters are kept
    assert names.starts("马斯", 3) == []
    assert HanNames([]).starts(text, 3) == []


def test_a_person_named_by_name_brings_the_entries_naming_them_not_their_organisation(
    people: PeopleIndex,
) -> None:
    """ "WIPO's Daren Tang" is about Daren Tang; "anyone from WIPO" may be about any entry naming WIPO."""
    by_name = people.entries_for("Did WIPO's Daren Tang attend in person?")
    by_organisation = people.entries_for("did anyone from WIPO speak at the opening?")
    assert "opening-ceremony" in by_name and "opening-ceremony" in by_organisation
    assert "plenary-session" not in by_name  # it names WIPO (Francis Gurry's former post), not him
    assert "plenary-session" in by_organisation


def test_answers_to_questions_naming_people_do_not_depend_on_the_hash_seed(shipped_data: Path) -> None:
    """Entries that mention the same named people equally often are ranked in one fixed order: two
    processes with different hash seeds (set iteration orders) give the same replies."""
    questions = "\n".join(
        [
            "习主席是亲自来乌镇还是视频?",
            "who spoke for WIPO?",
            "หลี่ ซูเหลย พูดที่ไหน",
            "anyone from the UN at the opening?",
        ]
    )
    # Both processes at once, each on a data directory of its own.
    runs = []
    for seed in ("0", "11"):
        data = shipped_data.with_name(f"data-{seed}")
        shutil.copytree(shipped_data, data)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "ask", "--json", "--data-dir", str(data)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=KNOWLEDGE.parent,
            env={**os.environ, "PYTHONHASHSEED": seed, "HF_HUB_OFFLINE": "1"},
        )
        runs.append(process)
    replies = []
    for process in runs:
        out, _ = process.communicate(questions, timeout=300)
        assert process.returncode == 0
        replies.append([(r["outcome"], r["sources"], r["answer"]) for r in map(json.loads, out.splitlines())])
    assert len(replies[0]) == 4 and replies[0] == replies[1]


def _every_role_named(people: PeopleIndex, words: set[str], compact: str) -> list[int]:
    """What ``_by_role`` finds, by comparing the question with every role of every person."""
    matched: dict[int, int] = {}
    for who, person in enumerate(people.people):
        for role in person.roles:
            if role.named_in(words, compact, False):
                matched[who] = max(matched.get(who, 0), len(role.title) or len(role.whole))
    most = max(matched.values(), default=0)
    return [who for who, size in matched.items() if size == most]


def test_role_index_finds_what_comparing_every_role_finds(people: PeopleIndex) -> None:
    """A question is compared only with the roles its words or characters may name: for a question made
    of each role (its Latin title words and organisation, or its Chinese or Thai form), the people found
    are those a comparison with every role finds."""
    questions = []
    for person in people.people:
        for role in person.roles:
            if role.title:
                questions.append((set(role.title | role.organisation), ""))
            else:
                questions.append((set(), f"谁是{role.whole}"))
    found = 0
    for words, compact in questions:
        expected = _every_role_named(people, words, compact)
        assert people._by_role(words, compact, {}) == expected, (words, compact)
        found += bool(expected)
    assert found > 20  # (a short title without its organisation names nobody)
