"""Fixtures shared across test modules: the Bot API fake, and the engines every module reuses.

Building an engine takes seconds (the embedder, tokenisers and indexes), so the two engines the suite
needs, over the small fixture knowledge and over the shipped knowledge, are each built once per run.
An engine answers without changing itself; a test that swaps a part of it puts the part back.

Loading the embedder's model and tokeniser takes seconds of its own: one embedder (:func:`embedder`)
serves every engine a test process builds, those of the commands and bots it runs included. Under
pytest-xdist a test process that needs an index another one has built already copies it and loads it
(see :func:`load_shared`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from botapi_fake import FakeBotApi

from index import engine as engine_module
from index.embedders import DEFAULT_SPEC, Embedder, create_embedder
from index.engine import Engine

TESTS = Path(__file__).resolve().parent
FIXTURE_KNOWLEDGE = TESTS / "fixtures" / "knowledge"
SHIPPED_KNOWLEDGE = TESTS.parent / "knowledge"


# The longest test modules (seconds each on two cores, from ``pytest --durations``), longest first. The
# suite runs a module whole in one test process (``--dist loadfile --no-loadscope-reorder`` in the
# Makefile) and hands out modules in collection order; starting with these leaves no long module to run
# alone at the end. The first two need different indexes (the shipped knowledge's, the fixture's), so
# two processes do not both build the larger one at the start.
LONGEST_MODULES = (
    "answers/test_engine.py",  # 41
    "delivery/test_delivery_e2e.py",  # 33
    "announcements/test_announcement_crash.py",  # 32
    "admin/test_admin_e2e.py",  # 25
    "operations/test_startup_faults.py",  # 25
    "operations/test_run_command.py",  # 20
    "operations/test_hardening_e2e.py",  # 18
    "agenda/test_webapp_browser.py",  # 17
    "answers/test_people.py",  # 16
    "answers/test_fact_coverage.py",  # 14
    "operations/test_webserver.py",  # 14
    "delivery/test_webhook_fuzz_e2e.py",  # 12
    "answers/test_embedders.py",  # 11
    "announcements/test_announcements.py",  # 11
    "answers/test_conversations.py",  # 10
    "test_package.py",  # 9
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests of :data:`LONGEST_MODULES` first, in that order; the others keep theirs."""
    missing = [name for name in LONGEST_MODULES if not (TESTS / name).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_MODULES names modules that are gone: {missing}")
    rank = {TESTS / name: n for n, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path, len(rank)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on 127.0.0.1 with the default test token, stopped after the test."""
    async with FakeBotApi() as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def embedder() -> Iterator[Embedder]:
    """The default embedder, shared by every engine this test process builds (it holds no state of an
    index): those the tests build, and those that commands and bots run in this process build for
    themselves (``Engine.load`` asks ``create_embedder`` for the default one, and gets this one)."""
    shared = create_embedder()

    def default_is_shared(spec: str | None = None) -> Embedder:
        return shared if (spec or "").strip() in ("", DEFAULT_SPEC) else create_embedder(spec)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "create_embedder", default_is_shared)
        yield shared


def load_shared(
    knowledge: Path, name: str, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Engine, Path]:
    """The engine over ``knowledge`` with its data directory ``name`` of this process's own.

    Under pytest-xdist the test processes share what one of them built: the first to finish building the
    index leaves a copy in a directory they share (the parent of their base temporary directories, which
    is this run's own); a process needing the index later copies that and only loads it. Nobody waits for
    another: processes needing it at the same time each build it.
    """
    data = tmp_path_factory.mktemp(name)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return Engine.load(knowledge, data, embedder=embedder), data
    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    if shared.is_dir():
        shutil.copytree(shared, data, dirs_exist_ok=True)
        return Engine.load(knowledge, data, embedder=embedder), data
    engine = Engine.load(knowledge, data, embedder=embedder)
    draft = shared.with_name(f"{shared.name}-{worker}")
    shutil.copytree(data, draft)
    try:
        draft.rename(shared)  # complete or not there at all, for the others
    except OSError:  # another process was first
        shutil.rmtree(draft)
    return engine, data


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
