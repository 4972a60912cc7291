"""``summit-bot backup FILE``: a copy of the database that opens and holds the same rows."""

from __future__ import annotations

import contextlib
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage.backup import BackupError, backup_database
from bot.storage.database import CURRENT_VERSION, Database


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


async def filled_database(data_dir: Path) -> Database:
    db = await Database.open(data_dir / "bot.sqlite3")
    for user in range(1, 6):
        await db.users.touch_user(user, "th")
        await db.questions.record_question(
            user_id=user,
            chat_id=user,
            text=f"คำถาม {user}",
            language="th",
            outcome="answer",
            score=0.8,
            sources=[],
        )
    await db.users.set_subscribed(3, False)
    return db


async def test_backup_command_copies_a_database_in_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = await filled_database(data_dir)  # stays open, as when the bot runs (its last writes sit in the WAL)
    try:
        target = tmp_path / "backups" / "bot-copy.sqlite3"
        result = subprocess.run(
            [sys.executable, "-m", "bot", "backup", str(target), "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "users 5" in result.stdout and "questions 5" in result.stdout
        original = dump(data_dir / "bot.sqlite3")
    finally:
        await db.close()

    assert list(target.parent.iterdir()) == [target]  # one self-contained file, no partial file left
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # readable by its owner only, like the database
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert dump(target) == original
    assert len(original["users"]) == 5 and len(original["questions"]) == 5
    copy = await Database.open(target)  # the bot can open it (no migration needed)
    try:
        assert await copy.schema_version() == CURRENT_VERSION
        assert not (await copy.users.get_user(3)).subscribed
    finally:
        await copy.close()


def test_backup_refuses_a_missing_database_and_overwriting_the_source(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="there is no database"):
        backup_database(tmp_path / "nothing.sqlite3", tmp_path / "copy.sqlite3")
    source = tmp_path / "bot.sqlite3"
    sqlite3.connect(source).close()
    with pytest.raises(BackupError, match="must not replace"):
        backup_database(source, tmp_path / "." / "bot.sqlite3")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "backup",
            str(tmp_path / "copy.sqlite3"),
            "--data-dir",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1
    assert "there is no database" in result.stderr
