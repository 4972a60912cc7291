"""Normalisation and tokenisation in Thai, Chinese and English."""

from __future__ import annotations

import pytest
from pythainlp.corpus import thai_words
from pythainlp.util import Trie

from index.textproc import QUERY_LIMIT, SortedWords, normalise, stem_en, terms, tokenize


def test_normalise_converts_traditional_chinese() -> None:
    assert normalise("烏鎮互聯網國際會展中心") == "乌镇互联网国际会展中心"


def test_normalise_keeps_thai_sara_am_and_tone_marks() -> None:
    # NFKC alone splits SARA AM (U+0E33) into NIKHAHIT + SARA AA.
    assert normalise("น้ำ ทำ กำลัง") == "น้ำ ทำ กำลัง"
    assert normalise("ที่ไหน") == "ที่ไหน"


def test_normalise_removes_invisible_characters_and_folds_width_and_case() -> None:
    assert normalise("Ｗｕｚｈｅｎ\u200d\x00\u202e  Summit\t\n") == "wuzhen summit"
    assert normalise("ถงเซียง\u200bอูเจิ้น") == "ถงเซียง อูเจิ้น"


def test_normalise_caps_length() -> None:
    assert len(normalise("a" * 10_000)) == QUERY_LIMIT
    assert len(normalise("a" * 10_000, limit=None)) == 10_000


def test_thai_sentence_is_split_into_words() -> None:
    tokens = tokenize("สถานีรถไฟความเร็วสูงที่ใกล้อูเจิ้นที่สุดคือที่ไหน", "th")
    assert any(t in tokens for t in ("สถานี", "สถานีรถไฟ"))
    assert "ความเร็ว" in tokens
    assert "ใกล้" in tokens  # PyThaiNLP lists it as a stopword; it matters here
    assert "ที่ไหน" in tokens  # question word kept
    assert "คือ" not in tokens  # stopword dropped
    assert "สถานี" in tokenize("จากสถานีถงเซียงไปอูเจิ้นยังไง", "th")


@pytest.mark.parametrize(
    "text",
    ["สถานีรถไฟความเร็วสูงที่ใกล้อูเจิ้นที่สุดคือที่ไหน", "ห้องประชุมใหญ่ของศูนย์ประชุมนานาชาติ", "กกกกก"],
)
def test_sorted_words_find_the_words_a_trie_finds(text: str) -> None:
    """At every position, the same words, in the same order, as PyThaiNLP's trie of the same words."""
    # The words starting with a character of the text are all a position of it can match.
    words = [w for w in thai_words() if w[0] in text] + ["ก", "กก", "กกก"]
    trie, sorted_words = Trie(words), SortedWords(set(words))
    assert len(sorted_words) == len(trie)
    found = [sorted_words.prefixes(text, start) for start in range(len(text) + 1)]
    assert found == [trie.prefixes(text, start) for start in range(len(text) + 1)]
    assert any(len(words) > 1 for words in found)


def test_sorted_words_give_every_word_at_a_position_shortest_first() -> None:
    words = SortedWords(["ข", "กข", "ก", "กกก", "กก", "คก"])
    assert words.prefixes("กกข") == ["ก", "กก"]
    assert words.prefixes("กกข", 1) == ["ก", "กข"]
    assert words.prefixes("กกข", 3) == []
    assert words.prefixes("งก") == []


def test_chinese_sentence_is_split_into_words() -> None:
    tokens = tokenize("离乌镇最近的高铁站是哪个？", "zh")
    assert "乌镇" in tokens
    assert "高铁" in tokens
    assert "哪个" in tokens
    assert "的" not in tokens
    assert "是" not in tokens
    assert "?" not in tokens and "？" not in tokens


@pytest.mark.parametrize(
    ("text", "asking", "verb"),
    [
        ("在哪开啊", "哪", "开"),
        ("在哪办", "哪", "办"),
        ("峰会在哪开", "哪", "开"),
        ("峰会 哪天 开吗", "哪天", "开"),
        ("峰会哪天开吗", "哪天", "开"),
    ],
)
def test_question_word_glued_to_a_verb_is_split_off(text: str, asking: str, verb: str) -> None:
    words = [t.word for t in terms(text, "zh")]
    assert asking in words
    assert verb in words


def test_question_words_in_the_dictionary_stay_whole() -> None:
    words = [t.word for t in terms("哪些嘉宾来了几个国家", "zh")]
    assert "哪些" in words
    assert "几个" in words


def test_compounds_also_give_their_parts() -> None:
    assert {"开幕式", "开幕"} <= set(tokenize("开幕式几点开始", "zh"))
    assert {"人工智能", "智能"} <= set(tokenize("人工智能论坛", "zh"))
    assert {"主会场", "会场"} <= set(tokenize("主会场", "zh"))
    assert {"ผู้ออกแบบ", "ออกแบบ"} <= set(tokenize("ใครเป็นผู้ออกแบบ", "th"))
    assert {"สถานีรถไฟ", "สถานี", "รถไฟ"} <= set(tokenize("สถานีรถไฟความเร็วสูง", "th"))


def test_parts_stay_with_their_word() -> None:
    assert terms("ห้องประชุมใหญ่", "th")[0] == ("ห้องประชุม", ("ห้อง", "ประชุม"))
    assert terms("乌镇", "zh")[0].parts == ()  # single characters are not kept as parts
    # Rare dictionary fragments are not parts: ประชุม is not ประ + ชุม, แสดง is not แส + ดง.
    assert terms("ประชุม", "th")[0].parts == ()
    assert terms("แสดง", "th")[0].parts == ()


def test_traditional_and_simplified_tokenise_alike() -> None:
    assert tokenize("離烏鎮最近的高鐵站是哪個", "zh") == tokenize("离乌镇最近的高铁站是哪个", "zh")


def test_english_words_stopwords_and_plurals() -> None:
    tokens = tokenize("How many guests attended the Summit?", "en")
    assert tokens == ["how", "many", "guest", "attend", "summit"]


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("guests", "guest"),
        ("cities", "city"),
        ("routes", "route"),
        ("attended", "attend"),
        ("designer", "designed"),
    ],
)
def test_inflections_share_a_stem(word: str, other: str) -> None:
    assert stem_en(word) == stem_en(other)


@pytest.mark.parametrize("word", ["bus", "address", "how", "many", "k282", "wuzhen"])
def test_question_words_codes_and_names_keep_their_form(word: str) -> None:
    assert stem_en(word) == word


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("จากสถานีถงเซียงไปอูเจิ้น K282", "th", {"k282"}),
        ("ในเมืองถงเซียงมีสถานี 5G กี่แห่ง", "th", {"5g"}),
        ("ใครเป็นผู้ออกแบบ Wang Shu", "th", {"wang", "shu"}),
        ("从桐乡站坐K282去乌镇", "zh", {"k282"}),
        ("桐乡建了多少个5G基站", "zh", {"5g", "基站"}),
        ("2023年乌镇峰会", "zh", {"2023", "乌镇"}),
    ],
)
def test_latin_and_numbers_inside_other_scripts_are_tokens(text: str, lang: str, expected: set[str]) -> None:
    assert expected <= set(tokenize(text, lang))


def test_latin_words_in_thai_and_chinese_are_not_plural_folded() -> None:
    assert "stations" in tokenize("ถงเซียง stations", "th")
    assert "station" in tokenize("Tongxiang stations", "en")


@pytest.mark.parametrize("lang", ["en", "zh", "th"])
def test_thousands_separators_do_not_matter(lang: str) -> None:
    assert tokenize("3,000", lang) == tokenize("3000", lang) == ["3000"]
    assert tokenize("1,800 คน", lang) == tokenize("1800 คน", lang)
    assert tokenize("主会场能容纳3,000人", lang) == tokenize("主会场能容纳3000人", lang)


def test_full_width_digits_and_thai_digits_become_ascii() -> None:
    assert tokenize("３，０００", "zh") == ["3000"]
    assert tokenize("๒๐๒๓", "th") == ["2023"]


def test_list_of_numbers_keeps_each_number() -> None:
    assert tokenize("8,10,2023", "en") == ["8", "10", "2023"]


@pytest.mark.parametrize("text", ["", "🙂🙂🙂", "?!…。", "\x00\x07\u200d\ufeff"])
def test_text_without_words_gives_no_tokens(text: str) -> None:
    assert tokenize(text, "en") == []
    assert tokenize(text, "th") == []


def test_emoji_and_control_characters_do_not_split_or_hide_words() -> None:
    assert tokenize("🙂Wuzhen\x00 summit🙂", "en") == ["wuzhen", "summit"]
    assert tokenize("อูเจิ้น🙂ถงเซียง", "th") == tokenize("อูเจิ้น ถงเซียง", "th")


@pytest.mark.parametrize(
    "text",
    ["ก" * 10_000, "สถานีรถไฟความเร็วสูง" * 600, "離烏鎮最近的高鐵站" * 1200, "wuzhen " * 2000, "\x00" * 50_000],
)
def test_long_input_is_cut_to_the_query_limit(text: str) -> None:
    words = terms(text, "th")
    assert sum(len(term.word) for term in words) <= QUERY_LIMIT
    assert words == terms(text[: QUERY_LIMIT * 4], "th")


def test_returned_list_is_a_fresh_copy() -> None:
    first = tokenize("Wuzhen summit", "en")
    first.append("changed")
    assert tokenize("Wuzhen summit", "en") == ["wuzhen", "summit"]
