"""A consistent copy of the bot's database while the bot keeps running (SQLite's online backup API).

The copy is written page by page to a temporary file beside the target, checked, and then renamed over
the target, so a failed or interrupted backup never leaves a half-written file under the target's name.
The bot may write to the database meanwhile: SQLite restarts the copy of the pages that changed.
The copy holds what users wrote, so it is private like the database: the file 0600, and any directory
created for it 0700.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from index.files import make_private_dirs

PRIVATE_FILE = 0o600
PAGES_PER_STEP = 1024
"""Pages copied at a time; between steps the bot can write."""


class BackupError(RuntimeError):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True)
class BackupReport:
    target: Path
    schema_version: int
    tables: dict[str, int]
    """Rows per table in the copy."""
    bytes: int
    seconds: float


def backup_database(source: Path, target: Path) -> BackupReport:
    """Copy the database at ``source`` to ``target`` (replaced if it exists) and describe the copy."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup must not replace the database itself")
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give a file name")
    make_private_dirs(target.parent)
    partial = target.with_name(f".{target.name}.partial")
    started = time.perf_counter()
    try:
        with contextlib.closing(sqlite3.connect(source)) as src:
            partial.unlink(missing_ok=True)
            # Private from the first byte (SQLite would create it 0644); the rename keeps the mode.
            os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
            with contextlib.closing(sqlite3.connect(partial)) as dst:
                src.execute("PRAGMA busy_timeout = 5000")
                src.backup(dst, pages=PAGES_PER_STEP)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                (check,) = dst.execute("PRAGMA quick_check").fetchone()
                if check != "ok":
                    raise BackupError(f"the copy failed its integrity check: {check}")
                version, tables = _describe(dst)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(target, version, tables, target.stat().st_size, time.perf_counter() - started)


def _describe(conn: sqlite3.Connection) -> tuple[int, dict[str, int]]:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    tables = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    return version, tables
