"""Language detection from the scripts of a question."""

from __future__ import annotations

import pytest

from index.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("สถานีรถไฟความเร็วสูงที่ใกล้อูเจิ้นที่สุดคือที่ไหน", "th"),
        ("ใครคือ Wang Shu", "th"),
        ("จากสถานีถงเซียงไปอูเจิ้นด้วย K282 bus ได้ไหม", "th"),
        ("乌镇 ที่ไหน", "th"),
        ("离乌镇最近的高铁站是哪个？", "zh"),
        ("K282路公交车在哪坐", "zh"),
        ("烏鎮互聯網國際會展中心在哪裡", "zh"),
        ("谁?", "zh"),
        ("Where is Wuzhen?", "en"),
        ("Where is the convention center in 乌镇?", "en"),
        ("Wūzhèn café", "en"),
        ("ｗｈｅｒｅ", "en"),
    ],
)
def test_detects_language_from_script(text: str, expected: str) -> None:
    assert detect_language(text, fallback="en" if expected != "en" else "th") == expected


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂", "2023", "5G", "!!?", "\x00\x01", "안녕하세요", "Привет"])
def test_text_without_telling_letters_gives_fallback(text: str) -> None:
    assert detect_language(text, fallback="th") == "th"
    assert detect_language(text, fallback="zh") == "zh"


def test_kana_do_not_count_as_chinese() -> None:
    assert detect_language("こんにちは", fallback="en") == "en"


def test_long_message_is_decided_by_its_start() -> None:
    assert detect_language("乌镇" * 5000 + "hello" * 1000) == "zh"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("What's the theme of the 乌镇峰会 this year?", "en"),
        ("when is the 未成年人网络保护 forum?", "en"),
        ("How far is 乌镇 from 杭州?", "en"),
        ("今年是第几年办Wuzhen Summit了？", "zh"),
        ("wuzhen峰会的plenary session几点开始", "zh"),
        ("会展中心有WiFi吗", "zh"),
        # Thai with English names: Thai when the Thai words carry its grammar, though fewer letters
        ("Outstanding Partners and Special Contributorsมีใครบ้าง", "th"),
        ("Global Youth Leaders Programme certificates ได้วันไหน", "th"),
        ("Light of Internet Expo Center อยู่ไหน", "th"),
        ("is อูเจิ้น the same place as Wuzhen in the Internet Conference news", "en"),
    ],
)
def test_mixed_scripts_follow_the_grammar(text: str, lang: str) -> None:
    assert detect_language(text) == lang
