"""Fixtures shared across test modules: the Bot API fake, and the engines every module reuses.

Building an engine takes seconds (the embedder, tokenisers and indexes), so the two engines the suite
needs, over the small fixture knowledge and over the shipped knowledge, are each built once per run.
An engine answers without changing itself; a test that swaps a part of it puts the part back.

Loading the embedder's model and tokeniser takes seconds of its own: one embedder (:func:`embedder`)
serves every engine a test process builds. Under pytest-xdist the test processes build each index once
between them: the first to need it builds it in a directory they share, the others copy it and load it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botapi_fake import FakeBotApi

from index.embedders import Embedder, create_embedder
from index.engine import Engine

TESTS = Path(__file__).resolve().parent
FIXTURE_KNOWLEDGE = TESTS / "fixtures" / "knowledge"
SHIPPED_KNOWLEDGE = TESTS.parent / "knowledge"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on 127.0.0.1 with the default test token, stopped after the test."""
    async with FakeBotApi() as server:
        yield server


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default embedder, shared by every engine of this test process (it holds no state of an index)."""
    return create_embedder()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_shared(
    knowledge: Path, name: str, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Engine, Path]:
    """The engine over ``knowledge`` with its data directory ``name`` of this process's own.

    Under pytest-xdist the index is built once for the whole run, in a directory the test processes
    share (the parent of their base temporary directories, which is this run's own), and copied from
    there; run alone, the process builds it in place.
    """
    data = tmp_path_factory.mktemp(name)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
        with _locked(shared.with_suffix(".lock")):
            if not shared.exists():
                building = shared.with_suffix(".building")
                Engine.load(knowledge, building, embedder=embedder)
                building.rename(shared)
            shutil.copytree(shared, data, dirs_exist_ok=True)
    return Engine.load(knowledge, data, embedder=embedder), data


@pytest.fixture(scope="session")
def fixture_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Engine, Path]:
    """The engine over ``tests/fixtures/knowledge`` and the data directory holding its index and cache.

    The directory is only to be copied from: a test that writes a data directory makes its own.
    """
    return load_shared(FIXTURE_KNOWLEDGE, "fixture-index", tmp_path_factory, embedder)


@pytest.fixture(scope="session")
def fixture_engine(fixture_index: tuple[Engine, Path]) -> Engine:
    return fixture_index[0]


@pytest.fixture
def fixture_data(fixture_index: tuple[Engine, Path], tmp_path: Path) -> Path:
    """A data directory of this test's own, holding the fixture knowledge's index already built, so a bot
    started in another process loads the index instead of embedding every passage again."""
    data = tmp_path / "data"
    shutil.copytree(fixture_index[1], data)
    return data


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Engine, Path]:
    """The engine over the shipped ``knowledge/`` and its data directory (only to be copied from)."""
    return load_shared(SHIPPED_KNOWLEDGE, "shipped-index", tmp_path_factory, embedder)


@pytest.fixture(scope="session")
def shipped_engine(shipped_index: tuple[Engine, Path]) -> Engine:
    return shipped_index[0]


@pytest.fixture
def shipped_data(shipped_index: tuple[Engine, Path], tmp_path: Path) -> Path:
    """A data directory of this test's own, holding the shipped knowledge's index already built, so a
    command started in another process loads the index instead of embedding every passage again."""
    data = tmp_path / "data"
    shutil.copytree(shipped_index[1], data)
    return data
