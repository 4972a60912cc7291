"""Fixtures shared across test modules: the Bot API fake, and the engines every module reuses.

Building an engine takes seconds (the embedder, tokenisers and indexes), so the two engines the suite
needs, over the small fixture knowledge and over the shipped knowledge, are each built once per run.
An engine answers without changing itself; a test that swaps a part of it puts the part back.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botapi_fake import FakeBotApi

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
def fixture_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    """The engine over ``tests/fixtures/knowledge`` and the data directory holding its index and cache.

    The directory is only to be copied from: a test that writes a data directory makes its own.
    """
    data = tmp_path_factory.mktemp("fixture-index")
    return Engine.load(FIXTURE_KNOWLEDGE, data), data


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
def shipped_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    """The engine over the shipped ``knowledge/`` and its data directory (only to be copied from)."""
    data = tmp_path_factory.mktemp("shipped-index")
    return Engine.load(SHIPPED_KNOWLEDGE, data), data


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
