"""What a question asks for, and known gaps."""

import pytest

from index.kinds import asked_kinds, is_gap, poles


@pytest.mark.parametrize(
    ("question", "lang", "kinds"),
    [
        ("What time does the plenary start?", "en", {"time"}),
        ("where is the closing press conference", "en", {"where"}),
        ("How much does the museum ticket cost?", "en", {"price"}),
        ("how many countries took part", "en", {"count"}),
        ("who designed the convention centre", "en", {"who"}),
        ("全体会议几点开始", "zh", {"time"}),
        ("閉幕發佈會在哪裡舉行", "zh", {"where"}),
        ("科技馆门票多少钱", "zh", {"price"}),
        ("พิพิธภัณฑ์เปิดกี่โมง", "th", {"time"}),
        ("ใครออกแบบศูนย์ประชุม", "th", {"who"}),
        ("งานเริ่มวันไหน", "th", {"when"}),
        ("forum AI ห้องไหน", "th", {"where"}),
        ("主题英文怎么说", "zh", {"english"}),
        ("ชื่อภาษาอังกฤษของงานคืออะไร", "th", {"english"}),
    ],
)
def test_asked_kinds(question: str, lang: str, kinds: set[str]) -> None:
    assert kinds <= asked_kinds(question, lang)  # type: ignore[arg-type]


def test_plain_topic_question_asks_no_kind() -> None:
    assert asked_kinds("Tell me about the Youth forum", "en") == frozenset()


def test_gap_only_when_everything_asked_is_unpublished() -> None:
    unpublished = frozenset({"time", "price"})
    assert is_gap(frozenset({"time"}), unpublished)
    assert is_gap(frozenset({"time", "price"}), unpublished)
    assert not is_gap(frozenset({"time", "when"}), unpublished)  # the date is published
    assert not is_gap(frozenset(), unpublished)  # a question about the topic in general
    assert is_gap(frozenset(), frozenset({"all"}))


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("When does the summit start?", "en", {"start"}),
        ("is it all over by the 10th", "en", {"end"}),
        ("峰会几号闭幕", "zh", {"end"}),
        ("大会哪天开幕", "zh", {"start"}),
        ("งานเริ่มวันไหน", "th", {"start"}),
        ("การประชุมสิ้นสุดวันไหน", "th", {"end"}),
        ("มีการเปิดตัวรายงานอะไรบ้าง", "th", set()),  # "launch" is neither end, and เปิด is not ปิด
    ],
)
def test_poles(text: str, lang: str, found: set[str]) -> None:
    assert poles(text, lang) == found  # type: ignore[arg-type]


def test_english_words_inside_thai_text_are_found() -> None:
    from index.kinds import uncovered_kinds

    assert uncovered_kinds("ที่งานมีwifiฟรีมั้ยครับ", "th") == {"facility"}


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("who is the mayor of hangzhou", "en", {"office"}),
        ("did the french ambassador come", "en", {"office"}),
        ("what did the vice-governor say at the press conference", "en", set()),  # a deputy's office
        ("杭州市长来了吗", "zh", {"office"}),
        ("副省长在闭幕会上说了什么", "zh", set()),
        ("นายกรัฐมนตรีจีนมาร่วมงานหรือเปล่า", "th", {"office"}),
        ("รองผู้ว่าพูดอะไรในงานแถลงข่าว", "th", set()),
        ("who will succeed the chair when the term ends", "en", {"succession"}),
        ("who becomes the next wic president", "en", {"succession"}),
        ("理事长的继任者会是谁", "zh", {"succession"}),
        ("ประธานคนถัดไปจะเป็นใคร", "th", {"succession"}),
        ("what comes next after the opening ceremony", "en", set()),
    ],
)
def test_office_holders_and_successors_are_uncovered(text: str, lang: str, found: set[str]) -> None:
    from index.kinds import uncovered_kinds

    assert uncovered_kinds(text, lang) == found  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("does the summit have its own phone app?", "en", {"online"}),
        ("where can i stream the keynote live", "en", {"online"}),
        ("what's the url of the agenda", "en", {"online"}),
        ("大会有没有官方网站", "zh", {"online"}),
        ("开幕式哪里可以看直播", "zh", {"online"}),
        ("มีลิงก์ดูถ่ายทอดสดไหมคะ", "th", {"online"}),
        ("which bus links the station and the town", "en", set()),  # a verb, not a link asked for
        ("is lenovo's booth in the expo center?", "en", {"booth"}),
        ("how much is a booth for exhibitors", "en", {"booth"}),
        ("小米的展台在几号馆", "zh", {"booth"}),
        ("บูธของอาลีบาบาอยู่ที่ไหนคะ", "th", {"booth"}),
        ("how many companies set up booths at the expo", "en", set()),  # asks a number of exhibitors
        ("参展商哪天开始搭展台", "zh", set()),  # asks when setting up began
        ("is there a clinic or first aid point at the venue", "en", {"facility"}),
        ("会场有医务室吗", "zh", {"facility"}),
        ("ใกล้งานมีโรงพยาบาลไหม", "th", {"facility"}),
        ("what time is it now in wuzhen", "en", {"now"}),
        ("乌镇现在几点了", "zh", {"now"}),
        ("ตอนนี้ที่จีนกี่โมงแล้ว", "th", {"now"}),
        ("what time does the plenary start", "en", set()),
    ],
)
def test_online_booths_services_and_the_clock_are_uncovered(text: str, lang: str, found: set[str]) -> None:
    """A website or app, an exhibitor's booth, a clinic, the time right now: the knowledge states none
    of them (an entry that does speak of one is exempt, see ``EntryFacts.covers``)."""
    from index.kinds import uncovered_kinds

    assert uncovered_kinds(text, lang) == found  # type: ignore[arg-type]


def test_how_much_per_unit_asks_a_price() -> None:
    assert "price" in asked_kinds("how much per person for the boat", "en")
    assert "price" not in asked_kinds("how much time do i need between the sessions", "en")


def test_relative_years() -> None:
    from index.kinds import relative_years

    assert relative_years("when is it next year?", "en", 2023) == {2024}
    assert relative_years("去年的峰会在哪天", "zh", 2023) == {2022}
    assert relative_years("ปีหน้างานจัดวันไหน", "th", 2023) == {2024}
    assert relative_years("10 ปีที่ผ่านมามีผู้จัดแสดงกี่ราย", "th", 2023) == set()  # the past ten years
    assert relative_years("when is the summit this year", "en", 2023) == set()


def test_words_the_kinds_look_for_are_not_spell_corrected() -> None:
    from index.kinds import pattern_words
    from index.spelling import SpellFixer

    fixer = SpellFixer(["whether the hall is open", "Tongxiang station"], keep=pattern_words())
    assert fixer.correct("what is the weather like") == "what is the weather like"
    assert fixer.correct("is there halal food") == "is there halal food"
    assert "tongxiang" in fixer.correct("Tongxaing station")


def test_kept_words_are_never_a_correction() -> None:
    from index.spelling import SpellFixer

    fixer = SpellFixer(["companies showing at the expo"], keep=["snowing"])
    assert fixer.correct("companies shoing at the expo") == "companies showing at the expo"
    assert fixer.correct("is it snowing") == "is it snowing"


@pytest.mark.parametrize(
    ("question", "lang", "where"),
    [
        ("Robin Li from Baidu - where did he speak?", "en", False),
        ("โรบิน หลี่ พูดที่ไหน", "th", False),
        ("where does the plenary take place?", "en", True),
        ("งานจัดที่ไหน", "th", True),
    ],
)
def test_where_someone_spoke_asks_for_the_session_not_a_place(question: str, lang: str, where: bool) -> None:
    assert ("where" in asked_kinds(question, lang)) is where


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("งานแถลงข่าวก่อนเริ่ม summit จัดที่ไหน", "th", set()),
        ("峰会开幕之前的新闻发布会是在哪开的", "zh", set()),
        ("what happened before the summit opened?", "en", set()),
        ("峰会几号开幕", "zh", {"start"}),
        ("is everything over by friday or does it end earlier?", "en", {"end"}),
    ],
)
def test_an_end_named_as_the_time_of_something_else_is_not_asked(
    text: str, lang: str, found: set[str]
) -> None:
    assert poles(text, lang) == found


def test_two_swapped_letters_are_corrected() -> None:
    from index.spelling import SpellFixer

    fixer = SpellFixer(["the first summit", "Tongxiang station"])
    assert fixer.correct("the frist summit") == "the first summit"
    assert fixer.correct("wehn is it") == "when is it"
    assert fixer.correct("the fisrt summit") == "the first summit"
