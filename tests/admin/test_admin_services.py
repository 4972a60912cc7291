"""The admins' services without Telegram: proposals, Apply under contention, versions, insights, CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import sys
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.services import knowledge as knowledge_service
from bot.services.engine_holder import EngineHolder
from bot.services.insights import AdminConfig, InsightsService, group_questions, render_chart
from bot.services.knowledge import (
    KnowledgeService,
    NotApplied,
    UploadRefused,
    decode_upload,
    diff_knowledge,
)
from bot.storage.database import Database
from bot.storage.knowledge_versions import VersionStore, served_directory
from index.embedders import Embedder
from index.engine import Engine
from index.knowledge import load_knowledge, validate_documents

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
ORIGINAL = (FIXTURE / "summit.yaml").read_text(encoding="utf-8")
UPDATED = ORIGINAL.replace("About 1,500 guests", "About 2,000 guests")


@pytest.fixture(scope="module")
def cache(fixture_index: tuple[Engine, Path]) -> Path:
    return fixture_index[1] / "cache"


def _data(cache: Path, tmp_path: Path) -> Path:
    shutil.copytree(cache, tmp_path / "data" / "cache")
    return tmp_path / "data"


def test_greedy_grouping_puts_similar_questions_together() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(4)[:3]
    rows, langs, texts = [], [], []
    for centre, count, name in ((1, 2, "b"), (0, 3, "a"), (2, 1, "c")):
        for i in range(count):
            v = centres[centre] + rng.normal(0, 0.05, 4)
            rows.append(v / np.linalg.norm(v))
            langs.append(["en", "zh", "th"][i % 3])
            texts.append(f"{name}{i}")
    groups = group_questions(texts, langs, np.array(rows, dtype=np.float32), threshold=0.8)
    assert [g.count for g in groups] == [3, 2, 1]
    assert [g.example for g in groups] == ["a0", "b0", "c0"]
    assert groups[0].languages == {"en": 1, "th": 1, "zh": 1}
    assert group_questions(texts, langs, np.array(rows, dtype=np.float32), threshold=1.01)[0].count == 1


def test_diff_lists_added_changed_and_removed_entries() -> None:
    old = load_knowledge(FIXTURE)
    text = UPDATED.replace("  - id: xizha\n", "  - id: xizha-town\n")
    new = validate_documents({"summit.yaml": text})
    diff = diff_knowledge(old, new, "en")
    assert [(c.entry_id, c.title) for c in diff.changed] == [("participants", "Number of participants")]
    assert [c.entry_id for c in diff.added] == ["xizha-town"]
    assert [(c.entry_id, c.title) for c in diff.removed] == [("xizha", "Xizha Scenic Area")]
    assert diff_knowledge(old, old, "zh").empty


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("../summit.yaml", b"x: 1", "name"),
        (".hidden.yaml", b"x: 1", "name"),
        ("summit.txt", b"x: 1", "name"),
        ("summit.yaml", b"x" * 2000, "size"),
        ("summit.yaml", "event: é".encode("latin-1"), "encoding"),
    ],
)
def test_uploads_that_are_not_knowledge_files_are_refused(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UploadRefused) as refused:
        decode_upload(name, data, max_bytes=1000)
    assert refused.value.reason == reason


async def test_concurrent_applies_do_not_interleave_and_the_old_engine_is_freed(
    cache: Path, tmp_path: Path, embedder: Embedder
) -> None:
    data = _data(cache, tmp_path)
    holder = EngineHolder(Engine.load(FIXTURE, data, embedder=embedder))
    old = weakref.ref(holder.current)
    db = await Database.open(data / "bot.sqlite3")
    service = KnowledgeService(holder, db, data, FIXTURE)
    try:
        one = await service.propose_upload(1, "summit.yaml", UPDATED.encode(), "en")
        other = await service.propose_upload(
            2, "summit.yaml", UPDATED.replace("2,000", "3,000").encode(), "en"
        )
        unchanged = await service.propose_upload(1, "summit.yaml", ORIGINAL.encode(), "en")
        assert unchanged is None and one is not None and other is not None
        results = await asyncio.gather(
            service.apply(one.proposal_id, 1, "Ann"),
            service.apply(other.proposal_id, 2),
            return_exceptions=True,
        )
        assert results[0].version.id == "v2" and results[0].version.applied_by_name == "Ann"
        assert isinstance(results[1], NotApplied) and results[1].reason == "changed"
        assert "2,000" in holder.current.ask("How many participants attended?").text
        with pytest.raises(NotApplied) as again:
            await service.apply(one.proposal_id, 1)
        assert again.value.reason == "applied"
        assert old() is None, "the replaced engine is still alive"

        store = VersionStore(data)
        assert [v.id for v in store.history()] == ["v2", "v1"]
        assert store.documents("v2") == {"summit.yaml": UPDATED}
        directory, version = served_directory(data, FIXTURE)
        assert version.id == "v2" and directory == store.files_dir("v2")

        back = await service.rollback("v1", 3)
        assert back.version.id == "v1" and store.current_id() == "v1"
        assert "1,500" in holder.current.ask("How many participants attended?").text
        with pytest.raises(NotApplied):
            await service.rollback("v1", 3)
    finally:
        await db.close()


def test_served_directory_falls_back_to_the_shipped_files(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    assert served_directory(tmp_path, FIXTURE) == (FIXTURE, None)
    version = store.create(
        {"summit.yaml": ORIGINAL},
        parent=None,
        source="shipped",
        applied_by=None,
        applied_by_name="",
        created_at="2023-11-01T00:00:00+00:00",
        content_hash="x",
    )
    assert served_directory(tmp_path, FIXTURE) == (FIXTURE, None)  # stored but never made current
    store.set_current(version.id)
    assert served_directory(tmp_path, FIXTURE) == (store.files_dir("v1"), version)
    shutil.rmtree(store.root / "v1")
    assert served_directory(tmp_path, FIXTURE) == (FIXTURE, None)  # missing: logged, shipped files served


async def _populate(db: Database, now: datetime) -> None:
    await db.users.touch_user(1, "en")
    await db.users.touch_user(2, "zh")
    await db.users.set_blocked(2, True)
    for text, lang, answered in (("When?", "en", True), ("Wifi?", "en", False), ("几点？", "zh", True)):
        qid = await db.questions.record_question(
            user_id=1,
            chat_id=1,
            text=text,
            language=lang,
            outcome="answer" if answered else "decline",
            score=0.5,
            sources=["wic-2023"],
        )
        await db.feedback.record_feedback(qid, 1, answered)


async def test_stats_count_per_day_and_language(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        now = datetime.now(UTC)
        await _populate(db, now)
        config = AdminConfig.load()
        service = InsightsService(db, None, config, now=lambda: now + timedelta(days=1))  # type: ignore[arg-type]
        stats = await service.stats()
        assert stats.totals.users == 2 and stats.totals.blocked == 1 and stats.totals.subscribers == 1
        assert stats.users_by_language == {"en": 1, "zh": 1}
        assert stats.days[-1] == (now + timedelta(days=1)).date() and len(stats.days) == config.stats_days
        assert stats.questions_per_day["en"][-2] == 2 and stats.questions_per_day["zh"][-2] == 1
        assert stats.answered_per_day[-2] == 2 and stats.answered_share == pytest.approx(2 / 3)
        png = render_chart(stats)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        disliked = await service._repo.disliked(5)
        assert [(d.text, d.down) for d in disliked] == [("Wifi?", 1)]
    finally:
        await db.close()


def test_cli_stats_and_csv_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def prepare() -> None:
        db = await Database.open(tmp_path / "bot.sqlite3")
        await _populate(db, datetime.now(UTC))
        await db.close()

    asyncio.run(prepare())
    monkeypatch.setenv("SUMMIT_BOT_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    shown = runner.invoke(cli, ["stats"])
    assert shown.exit_code == 0, shown.output
    assert "questions: 3; answered: 2 (67%)" in shown.output
    assert "knowledge served: as shipped" in shown.output

    today = datetime.now(UTC).date()
    exported = runner.invoke(cli, ["export", "--since", today.isoformat()])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert rows[0][:4] == ["id", "asked_at", "language", "answered"]
    assert [(r[6], r[7], r[8]) for r in rows[1:]] == [
        ("When?", "1", "0"),
        ("Wifi?", "0", "1"),
        ("几点？", "1", "0"),
    ]
    later = runner.invoke(cli, ["export", "--since", (today + timedelta(days=1)).isoformat()])
    assert len(list(csv.reader(io.StringIO(later.stdout)))) == 1
    assert runner.invoke(cli, ["export", "--since", "yesterday"]).exit_code == 2


def test_a_build_lets_answers_have_the_interpreter_often_and_restores_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a new engine is built on a worker thread, answering threads get the interpreter back after
    at most BUILD_SWITCH_INTERVAL; afterwards, whether the build worked or not, the setting is as before."""
    before = sys.getswitchinterval()
    seen: list[float] = []

    def fake_load(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        if len(seen) == 2:
            raise ValueError("a broken knowledge file")
        return "engine"

    monkeypatch.setattr(Engine, "load", fake_load)
    like = SimpleNamespace(embedder=None)
    assert knowledge_service._build(Path("k"), Path("d"), like) == "engine"
    with pytest.raises(ValueError):
        knowledge_service._build(Path("k"), Path("d"), like)
    assert seen == [knowledge_service.BUILD_SWITCH_INTERVAL] * 2
    assert sys.getswitchinterval() == before
