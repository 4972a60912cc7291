"""Data derived from package files, kept in the cache directory between starts (index.derived)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from index.derived import Derived
from index.people import HanNames, _han_person_names, homophones


def counted(stem: str, key: tuple[str, ...], builds: list[int]) -> tuple[Derived[dict], object]:
    def build() -> dict:
        builds.append(1)
        return {"built": len(builds), "key": list(key)}

    return Derived(stem, key, lambda v: json.dumps(v).encode(), json.loads), build


def test_built_once_then_read_and_a_new_key_builds_again(tmp_path: Path) -> None:
    builds: list[int] = []
    kept, build = counted("thing", ("v1",), builds)
    assert kept.get(tmp_path, build) == {"built": 1, "key": ["v1"]}
    assert kept.get(tmp_path, build) == {"built": 1, "key": ["v1"]}
    assert builds == [1]
    other, build_other = counted("thing", ("v2",), builds)
    assert other.get(tmp_path, build_other)["built"] == 2
    assert len(list(tmp_path.glob("thing-*.bin"))) == 2


def test_a_damaged_file_is_rebuilt_and_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    builds: list[int] = []
    kept, build = counted("thing", ("v1",), builds)
    kept.get(tmp_path, build)
    kept.path(tmp_path).write_bytes(b"{not json")
    with caplog.at_level(logging.WARNING):
        assert kept.get(tmp_path, build)["built"] == 2
    assert "unreadable cache file" in caplog.text
    assert json.loads(kept.path(tmp_path).read_bytes())["built"] == 2


def test_an_unwritable_directory_only_means_building_every_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    builds: list[int] = []
    kept, build = counted("thing", ("v1",), builds)
    assert kept.get(blocked / "cache", build)["built"] == 1
    assert kept.get(blocked / "cache", build)["built"] == 2
    assert kept.get(None, build)["built"] == 3


def test_kept_han_names_find_what_the_dictionary_does(tmp_path: Path) -> None:
    built = _han_person_names(tmp_path)
    [path] = tmp_path.glob("han-names-*.bin")
    read = HanNames.load(path.read_bytes())
    text = "马斯克和马化腾来乌镇了吗"
    for size in HanNames.SIZES:
        assert read.starts(text, size) == built.starts(text, size)
    assert built.starts(text, 3) == [0, 4]  # both names, found in the kept copy too


def test_kept_homophones_equal_the_table_scan(tmp_path: Path) -> None:
    fresh = homophones("贤马")
    assert fresh and homophones("贤马", tmp_path) == fresh
    assert len(list(tmp_path.glob("homophones-*.bin"))) == 1
    assert homophones("马贤", tmp_path) == fresh  # the same characters are the same key
    assert len(list(tmp_path.glob("homophones-*.bin"))) == 1
