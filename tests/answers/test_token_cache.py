"""The on-disk token cache of the lexical index."""

from pathlib import Path

import pytest

from index import lexical
from index.lexical import LexicalIndex, TokenCache
from index.types import Passage

PASSAGES = [
    Passage("a:th:body:1", "a", "th", "body", "สถานีรถไฟความเร็วสูงที่ใกล้ที่สุดคือสถานีถงเซียง"),
    Passage("b:zh:body:1", "b", "zh", "body", "离乌镇最近的高铁站是桐乡站"),
    Passage("c:en:body:1", "c", "en", "body", "The nearest high-speed railway station is Tongxiang"),
]


def test_second_build_reads_tokens_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = LexicalIndex(PASSAGES, TokenCache(tmp_path))
    [cache_file] = tmp_path.glob("tokens-*.json")

    def fail(*_args: object, **_kwargs: object) -> list[str]:
        raise AssertionError("tokenised again")

    monkeypatch.setattr(lexical, "tokenize", fail)
    second = LexicalIndex(PASSAGES, TokenCache(tmp_path))
    assert [h.index for h in second.search("高铁站", "zh")] == [h.index for h in first.search("高铁站", "zh")]
    assert cache_file.exists()


def test_changed_text_is_tokenised_and_stale_entries_dropped(tmp_path: Path) -> None:
    LexicalIndex(PASSAGES, TokenCache(tmp_path))
    edited = [*PASSAGES[:2], Passage("c:en:body:1", "c", "en", "body", "Take bus K282 from the station")]
    index = LexicalIndex(edited, TokenCache(tmp_path))
    assert index.search("K282", "en")[0].index == 2
    [cache_file] = tmp_path.glob("tokens-*.json")
    assert "railway" not in cache_file.read_text(encoding="utf-8")


def test_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    LexicalIndex(PASSAGES, TokenCache(tmp_path))
    [cache_file] = tmp_path.glob("tokens-*.json")
    cache_file.write_text("{not json", encoding="utf-8")
    assert LexicalIndex(PASSAGES, TokenCache(tmp_path)).search("Tongxiang", "en")[0].index == 2
