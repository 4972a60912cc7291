"""A persisted FAISS index of passage embeddings, with a manifest and an embedding cache.

Layout under ``data_dir``::

    index/<embedder slug>/index.faiss     inner-product index of half-precision rows, one per passage, in
                                          passage order
    index/<embedder slug>/manifest.json   Manifest fields, the passage ids and the sha256 of index.faiss
    cache/<embedder slug>.npz             embedding cache (see EmbeddingCache)

The index is reused only when its manifest matches the embedder, the knowledge hash and the passage ids;
otherwise it is rebuilt, embedding only texts missing from the cache. Every file is written to a temporary
file in its own directory and moved into place with ``os.replace``. ``manifest.json`` is written last and
records the checksum of the index file it describes, so a reader never pairs a manifest with an index from
another build; anything unreadable or inconsistent is rebuilt with a warning instead of failing.

Passages of kind ``question`` (FAQ phrasings) are embedded as queries, not passages: a user's message is
itself a question, and query-to-query similarity matches it better than query-to-document similarity for
models with asymmetric prompts. Names and bodies are embedded as passages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from index.embedders import Embedder
from index.files import write_atomic
from index.types import Hit, Passage

log = logging.getLogger("index.vectors")

FORMAT_VERSION = 2
EmbedKind = Literal["query", "passage"]
Progress = Callable[[int, int], None]
_BATCH = 64
SEARCH_THREADS = 1
"""OpenMP threads faiss may use for a search."""


@dataclass(frozen=True)
class Manifest:
    """What a stored index was built from."""

    embedder_id: str
    dim: int
    knowledge_hash: str
    passage_count: int
    built_at: str
    format_version: int


@dataclass(frozen=True)
class BuildReport:
    """Outcome of :meth:`DenseIndex.load_or_build`.

    ``embedded`` texts went through the model; ``reused`` vectors came from the cache (on a rebuild) or
    from the stored index (on a load, where it equals the passage count).
    """

    rebuilt: bool
    embedded: int
    reused: int
    seconds: float


def slug(text: str) -> str:
    """A file-name-safe form of an embedder id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "default"


class EmbeddingCache:
    """Vectors already computed by one embedder, keyed by ``sha256(embedder id, kind, text)``.

    Stored as one ``.npz`` file per embedder (``keys``: raw digests, ``vectors``: float32 rows). Saving
    keeps only the entries looked up or added since opening, so after a build the cache holds exactly the
    current knowledge base and never grows with edits.
    """

    def __init__(self, data_dir: Path, embedder: Embedder) -> None:
        self.path = Path(data_dir) / "cache" / f"{slug(embedder.id)}.npz"
        self._embedder = embedder
        self._stored: dict[bytes, np.ndarray] = {}
        self._used: dict[bytes, np.ndarray] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        dim = self._embedder.dim
        try:
            with np.load(self.path, allow_pickle=False) as z:
                keys, vectors = z["keys"], z["vectors"]
            if keys.shape != (len(vectors), 32) or vectors.shape[1:] != (dim,):
                raise ValueError(f"unexpected shapes {keys.shape} and {vectors.shape}")
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("Ignoring unreadable embedding cache %s: %s", self.path, exc)
            return
        vectors = vectors.astype(np.float32, copy=False)
        self._stored = {key.tobytes(): vector for key, vector in zip(keys, vectors, strict=True)}

    def _key(self, kind: EmbedKind, text: str) -> bytes:
        return hashlib.sha256(f"{self._embedder.id}\0{kind}\0{text}".encode()).digest()

    def vectors(
        self, items: Sequence[tuple[EmbedKind, str]], progress: Progress | None = None
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``(kind, text)`` items as an ``(n, dim)`` float32 array, and how many were embedded.

        Only distinct items missing from the cache go to the model, in batches; ``progress(done, total)``
        is called after each batch with counts of those items.
        """
        keys = [self._key(kind, text) for kind, text in items]
        todo: dict[bytes, tuple[EmbedKind, str]] = {}
        for key, item in zip(keys, items, strict=True):
            if key not in self._stored:
                todo.setdefault(key, item)
        done = 0
        for kind, embed in (
            ("query", self._embedder.embed_queries),
            ("passage", self._embedder.embed_passages),
        ):
            pending = [(key, text) for key, (k, text) in todo.items() if k == kind]
            for start in range(0, len(pending), _BATCH):
                batch = pending[start : start + _BATCH]
                for (key, _), vector in zip(batch, embed([text for _, text in batch]), strict=True):
                    self._stored[key] = vector
                done += len(batch)
                if progress is not None:
                    progress(done, len(todo))
        out = np.empty((len(items), self._embedder.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self._used[key] = self._stored[key]
        return out, len(todo)

    def save(self) -> None:
        """Write the entries used since opening, atomically."""
        keys = np.array([np.frombuffer(key, dtype=np.uint8) for key in self._used], dtype=np.uint8)
        vectors = np.array(list(self._used.values()), dtype=np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, keys=keys.reshape(-1, 32), vectors=vectors.reshape(-1, self._embedder.dim))
        write_atomic(self.path, buffer.getvalue())


class DenseIndex:
    """Cosine-similarity search over passage vectors: the inner product of unit vectors, scanned in full.

    The passage vectors are stored as half-precision floats (faiss's fp16 scalar quantizer): half the
    memory a search streams through, which keeps the scan and the embedder's weights in the CPU cache
    together; a score moves by less than 1e-4 against float32.
    """

    def __init__(self, index: faiss.Index, manifest: Manifest) -> None:
        # One question is one short scan: faiss's OpenMP team would only add the cost of waking its
        # threads, which on a busy 2-core machine is milliseconds (the setting is process-wide).
        faiss.omp_set_num_threads(SEARCH_THREADS)
        self._index = index
        self.manifest = manifest

    @classmethod
    def load_or_build(
        cls,
        passages: Sequence[Passage],
        knowledge_hash: str,
        embedder: Embedder,
        data_dir: Path,
        progress: Progress | None = None,
    ) -> tuple[DenseIndex, BuildReport]:
        """Load the stored index for ``embedder`` if it matches these passages, else build and store it.

        ``progress(done, total)`` reports texts sent to the model during a rebuild.
        """
        started = time.perf_counter()
        directory = Path(data_dir) / "index" / slug(embedder.id)
        passage_ids = [p.passage_id for p in passages]
        dim = embedder.dim
        loaded = _load(directory, embedder.id, dim, knowledge_hash, passage_ids)
        if loaded is not None:
            report = BuildReport(False, 0, len(passages), time.perf_counter() - started)
            log.info("Loaded dense index %s: %d passages in %.2fs", directory, len(passages), report.seconds)
            return loaded, report

        cache = EmbeddingCache(data_dir, embedder)
        items: list[tuple[EmbedKind, str]] = [
            ("query" if p.kind == "question" else "passage", p.text) for p in passages
        ]
        vectors, embedded = cache.vectors(items, progress)
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        index.add(vectors)
        manifest = Manifest(
            embedder_id=embedder.id,
            dim=dim,
            knowledge_hash=knowledge_hash,
            passage_count=len(passages),
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            format_version=FORMAT_VERSION,
        )
        _store(directory, index, manifest, passage_ids)
        cache.save()
        report = BuildReport(True, embedded, len(passages) - embedded, time.perf_counter() - started)
        log.info(
            "Built dense index %s: %d passages (%d texts embedded, %d vectors from cache) in %.2fs",
            directory,
            len(passages),
            report.embedded,
            report.reused,
            report.seconds,
        )
        return cls(index, manifest), report

    def search(self, query_vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """The ``k`` most similar passages for each row of ``query_vectors`` (``(n, dim)``), best first.

        ``Hit.index`` is the passage's position in the sequence the index was built from and ``Hit.score``
        the cosine similarity. Fewer than ``k`` hits come back when the index holds fewer passages.
        """
        return [
            [Hit(index=i, score=s) for i, s in zip(row_i, row_s, strict=True)]
            for row_i, row_s in self.search_rows(query_vectors, k)
        ]

    def similarities(self, query_vector: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Cosine similarity of one query vector (``(dim,)``) to the passages at ``positions``."""
        stored = self._index.reconstruct_batch(np.asarray(positions, dtype=np.int64))
        return stored @ np.asarray(query_vector, dtype=np.float32)

    def search_rows(self, query_vectors: np.ndarray, k: int) -> list[tuple[list[int], list[float]]]:
        """:meth:`search` as plain lists: for each query, the passage positions and their scores."""
        queries = np.ascontiguousarray(query_vectors, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.manifest.dim:
            raise ValueError(f"expected query vectors of shape (n, {self.manifest.dim}), got {queries.shape}")
        k = min(k, self._index.ntotal)
        if k <= 0:
            return [([], []) for _ in range(len(queries))]
        scores, positions = self._index.search(queries, k)
        rows = []
        for row_i, row_s in zip(positions.tolist(), scores.tolist(), strict=True):
            kept = row_i.index(-1) if -1 in row_i else len(row_i)
            rows.append((row_i[:kept], row_s[:kept]))
        return rows


def _store(directory: Path, index: faiss.Index, manifest: Manifest, passage_ids: list[str]) -> None:
    data = faiss.serialize_index(index).tobytes()
    write_atomic(directory / "index.faiss", data)
    record = dataclasses.asdict(manifest) | {
        "index_sha256": hashlib.sha256(data).hexdigest(),
        "passage_ids": passage_ids,
    }
    write_atomic(directory / "manifest.json", json.dumps(record, ensure_ascii=False, indent=1).encode())


def _load(
    directory: Path, embedder_id: str, dim: int, knowledge_hash: str, passage_ids: list[str]
) -> DenseIndex | None:
    """The stored index if it is readable and matches; ``None`` (with the reason logged) otherwise."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        log.info("No dense index at %s yet", directory)
        return None
    try:
        record = json.loads(manifest_path.read_text(encoding="utf-8"))
        fields = {f.name for f in dataclasses.fields(Manifest)}
        manifest = Manifest(**{name: record[name] for name in fields})
        stale = _stale_reason(manifest, record["passage_ids"], embedder_id, dim, knowledge_hash, passage_ids)
        if stale:
            log.info("Dense index at %s is stale (%s): rebuilding", directory, stale)
            return None
        data = (directory / "index.faiss").read_bytes()
        if hashlib.sha256(data).hexdigest() != record["index_sha256"]:
            raise ValueError("index.faiss does not match the checksum in manifest.json")
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if index.ntotal != manifest.passage_count or index.d != manifest.dim:
            raise ValueError(f"index holds {index.ntotal} vectors of dim {index.d}, manifest disagrees")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        log.warning("Unreadable dense index at %s (%s): rebuilding", directory, exc)
        return None
    return DenseIndex(index, manifest)


def _stale_reason(
    manifest: Manifest,
    stored_ids: list[str],
    embedder_id: str,
    dim: int,
    knowledge_hash: str,
    passage_ids: list[str],
) -> str:
    """Why a readable manifest does not describe these passages, or ``""`` when it does."""
    if manifest.format_version != FORMAT_VERSION:
        return f"format {manifest.format_version}, expected {FORMAT_VERSION}"
    if manifest.embedder_id != embedder_id or manifest.dim != dim:
        return f"built with {manifest.embedder_id} ({manifest.dim}d)"
    if manifest.knowledge_hash != knowledge_hash:
        return "knowledge changed"
    if stored_ids != passage_ids:
        return "passage list changed"
    return ""
