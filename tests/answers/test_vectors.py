"""The persisted dense index: reuse, rebuilds, the embedding cache and search."""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index import files, vectors
from index.embedders import create_embedder
from index.types import Passage
from index.vectors import DenseIndex, Manifest


class BagOfWordsEmbedder:
    """A tiny deterministic embedder (hashed bag of words) that records what it was asked to embed."""

    dim = 64

    def __init__(self, id: str = "test-bow") -> None:
        self.id = id
        self.calls: list[tuple[str, str]] = []

    def _embed(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        self.calls.extend((kind, text) for text in texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(out, texts, strict=True):
            for word in re.findall(r"\w+", text.lower()):
                row[zlib.crc32(word.encode()) % self.dim] += 1.0
            row /= max(float(np.linalg.norm(row)), 1e-9)
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("query", texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("passage", texts)


PASSAGES = [
    Passage("venue-en-name", "venue", "en", "name", "Wuzhen Internet International Convention Center"),
    Passage("venue-en-q0", "venue", "en", "question", "Where is the main venue"),
    Passage("bus-en-body", "bus", "en", "body", "Shuttle buses leave the hotel every twenty minutes"),
    Passage("bus-en-q0", "bus", "en", "question", "When does the shuttle bus leave"),
    Passage("food-en-body", "food", "en", "body", "Lunch is served in the west hall restaurant at noon"),
    Passage("wifi-en-body", "wifi", "en", "body", "The conference wifi password is printed on your badge"),
]


def _build(
    passages: Sequence[Passage], embedder: BagOfWordsEmbedder, data_dir: Path, knowledge_hash: str = "k1"
) -> tuple[DenseIndex, vectors.BuildReport]:
    return DenseIndex.load_or_build(passages, knowledge_hash, embedder, data_dir)


def _ranking(
    index: DenseIndex, embedder: BagOfWordsEmbedder, query: str, k: int = 3
) -> list[tuple[int, float]]:
    return [(hit.index, hit.score) for hit in index.search(embedder.embed_queries([query]), k)[0]]


def test_build_then_load_reuses_the_stored_index(tmp_path: Path) -> None:
    embedder = BagOfWordsEmbedder()
    built, report = _build(PASSAGES, embedder, tmp_path)
    assert report.rebuilt and report.embedded == len(PASSAGES) and report.reused == 0
    assert built.manifest.passage_count == len(PASSAGES) and built.manifest.dim == 64
    before = _ranking(built, embedder, "shuttle bus time")

    fresh = BagOfWordsEmbedder()
    loaded, report = _build(PASSAGES, fresh, tmp_path)
    assert not report.rebuilt and report.embedded == 0
    assert fresh.calls == []
    assert loaded.manifest == built.manifest
    assert _ranking(loaded, fresh, "shuttle bus time") == before


def test_search_ranks_the_matching_passage_first_with_cosine_scores(tmp_path: Path) -> None:
    embedder = BagOfWordsEmbedder()
    index, _ = _build(PASSAGES, embedder, tmp_path)
    hits = index.search(embedder.embed_queries(["wifi password", "lunch restaurant"]), k=2)
    assert [h[0].index for h in hits] == [5, 4]
    expected = float(
        embedder.embed_queries(["wifi password"])[0] @ embedder.embed_passages([PASSAGES[5].text])[0]
    )
    assert hits[0][0].score == pytest.approx(expected, abs=1e-5)
    assert hits[0][0].score > hits[0][1].score


def test_search_edge_cases(tmp_path: Path) -> None:
    embedder = BagOfWordsEmbedder()
    index, _ = _build(PASSAGES, embedder, tmp_path)
    query = embedder.embed_queries(["bus"])
    assert len(index.search(query, k=50)[0]) == len(PASSAGES)
    assert index.search(query, k=0) == [[]]
    with pytest.raises(ValueError, match="shape"):
        index.search(np.zeros((1, 32), dtype=np.float32), k=1)
    empty, report = _build([], embedder, tmp_path / "empty")
    assert report.rebuilt and empty.search(query, k=3) == [[]]


def test_questions_are_embedded_as_queries_and_the_rest_as_passages(tmp_path: Path) -> None:
    embedder = BagOfWordsEmbedder()
    _build(PASSAGES, embedder, tmp_path)
    kinds = {text: kind for kind, text in embedder.calls}
    assert {p.text: kinds[p.text] for p in PASSAGES} == {
        p.text: "query" if p.kind == "question" else "passage" for p in PASSAGES
    }


def test_changed_knowledge_hash_rebuilds_from_the_cache(tmp_path: Path) -> None:
    _build(PASSAGES, BagOfWordsEmbedder(), tmp_path, "k1")
    embedder = BagOfWordsEmbedder()
    index, report = _build(PASSAGES, embedder, tmp_path, "k2")
    assert report.rebuilt and report.embedded == 0 and report.reused == len(PASSAGES)
    assert embedder.calls == []
    assert index.manifest.knowledge_hash == "k2"
    assert not _build(PASSAGES, embedder, tmp_path, "k2")[1].rebuilt


def test_editing_one_passage_re_embeds_only_that_passage(tmp_path: Path) -> None:
    _build(PASSAGES, BagOfWordsEmbedder(), tmp_path, "k1")
    edited = list(PASSAGES)
    edited[4] = Passage("food-en-body", "food", "en", "body", "Dinner is served in the east hall at seven")
    embedder = BagOfWordsEmbedder()
    index, report = _build(edited, embedder, tmp_path, "k2")
    assert report.rebuilt and report.embedded == 1 and report.reused == len(PASSAGES) - 1
    assert embedder.calls == [("passage", edited[4].text)]
    assert _ranking(index, embedder, "dinner east hall")[0][0] == 4

    # The cache keeps only the current knowledge: going back embeds the old text again.
    reverting = BagOfWordsEmbedder()
    _, report = _build(PASSAGES, reverting, tmp_path, "k1")
    assert reverting.calls == [("passage", PASSAGES[4].text)]


def test_changed_passage_ids_rebuild_even_with_the_same_hash(tmp_path: Path) -> None:
    _build(PASSAGES, BagOfWordsEmbedder(), tmp_path)
    reordered = [*PASSAGES[1:], PASSAGES[0]]
    embedder = BagOfWordsEmbedder()
    index, report = _build(reordered, embedder, tmp_path)
    assert report.rebuilt and report.embedded == 0
    assert (
        _ranking(index, embedder, "Wuzhen Internet International Convention Center")[0][0]
        == len(PASSAGES) - 1
    )


def test_each_embedder_keeps_its_own_index(tmp_path: Path) -> None:
    _build(PASSAGES, BagOfWordsEmbedder("model-a"), tmp_path)
    other = BagOfWordsEmbedder("model-b")
    assert _build(PASSAGES, other, tmp_path)[1].embedded == len(PASSAGES)
    assert not _build(PASSAGES, BagOfWordsEmbedder("model-a"), tmp_path)[1].rebuilt
    assert len(list((tmp_path / "index").iterdir())) == 2


def _index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index" / vectors.slug("test-bow")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: (d / "manifest.json").write_text("{not json"), id="garbled-manifest"),
        pytest.param(lambda d: (d / "manifest.json").write_text("[]"), id="manifest-not-an-object"),
        pytest.param(lambda d: (d / "index.faiss").write_bytes(b"\0" * 40), id="truncated-index"),
        pytest.param(lambda d: (d / "index.faiss").unlink(), id="missing-index"),
    ],
)
def test_damaged_index_files_are_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage
) -> None:
    embedder = BagOfWordsEmbedder()
    built, _ = _build(PASSAGES, embedder, tmp_path)
    expected = _ranking(built, embedder, "shuttle bus")
    damage(_index_dir(tmp_path))

    with caplog.at_level(logging.WARNING, logger="index.vectors"):
        index, report = _build(PASSAGES, embedder, tmp_path)
    assert report.rebuilt and report.embedded == 0
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert _ranking(index, embedder, "shuttle bus") == expected
    assert not _build(PASSAGES, embedder, tmp_path)[1].rebuilt


def test_manifest_records_what_the_index_was_built_from(tmp_path: Path) -> None:
    _build(PASSAGES, BagOfWordsEmbedder(), tmp_path, "abc123")
    record = json.loads((_index_dir(tmp_path) / "manifest.json").read_text())
    assert record["passage_ids"] == [p.passage_id for p in PASSAGES]
    manifest = Manifest(**{k: record[k] for k in Manifest.__dataclass_fields__})
    assert (manifest.embedder_id, manifest.knowledge_hash, manifest.format_version) == (
        "test-bow",
        "abc123",
        vectors.FORMAT_VERSION,
    )
    assert manifest.built_at.endswith("+00:00")


def test_unreadable_cache_is_ignored_and_rewritten(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _build(PASSAGES, BagOfWordsEmbedder(), tmp_path, "k1")
    cache_file = tmp_path / "cache" / "test-bow.npz"
    cache_file.write_bytes(b"garbage")
    embedder = BagOfWordsEmbedder()
    with caplog.at_level(logging.WARNING, logger="index.vectors"):
        _, report = _build(PASSAGES, embedder, tmp_path, "k2")
    assert report.embedded == len(PASSAGES)
    assert "embedding cache" in caplog.text
    _, report = _build(PASSAGES, BagOfWordsEmbedder(), tmp_path, "k3")
    assert report.embedded == 0


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "manifest.json"
    target.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_progress_counts_texts_sent_to_the_model(tmp_path: Path) -> None:
    many = [Passage(f"p{i}", f"e{i}", "en", "body", f"passage number {i}") for i in range(150)]
    seen: list[tuple[int, int]] = []
    DenseIndex.load_or_build(
        many, "k", BagOfWordsEmbedder(), tmp_path, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (150, 150)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_multilingual_search_with_the_default_model(tmp_path: Path) -> None:
    embedder = create_embedder("use-multilingual")
    passages = [
        Passage("bus", "bus", "en", "body", "Free shuttle buses run between the hotels and the venue."),
        Passage("food", "food", "zh", "body", "午餐在西厅餐厅供应，时间为中午十二点。"),
        Passage("wifi", "wifi", "th", "body", "รหัสผ่านไวไฟของงานประชุมพิมพ์อยู่บนบัตรของคุณ"),
    ]
    index, _ = DenseIndex.load_or_build(passages, "k", embedder, tmp_path)
    queries = embedder.embed_queries(
        ["มีรถบัสรับส่งไปสถานที่จัดงานไหม", "Where can I have lunch?", "无线网络密码是什么"]
    )
    assert [hits[0].index for hits in index.search(queries, k=3)] == [0, 1, 2]
