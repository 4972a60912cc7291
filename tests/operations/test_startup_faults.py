"""``summit-bot run`` with a broken set-up: each fault ends in one line naming what to fix, exit code 2.

Read-only files do not stop root, so when the tests run as root those cases run the bot as the
unprivileged user ``nobody`` (uid 65534, through ``setpriv``), as a service account would meet them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
TOKEN = "4242:fault-token"
NOBODY = 65534
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory the unprivileged user can reach (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="summit-bot-faults-"))
    path.chmod(0o755)
    home = path / "home"
    home.mkdir()
    if os.geteuid() == 0:
        os.chown(home, NOBODY, NOBODY)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir():
            sub.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)


def run(base: Path, data_dir: Path, *, unprivileged: bool = False, **env: str) -> tuple[int, list[str]]:
    """``python -m bot run`` against a Bot API nobody listens on; its exit code and stderr lines."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
        "SUMMIT_BOT_DATA_DIR": str(data_dir),
        "STARTUP_RETRY_SECONDS": "0",
        "HOME": str(base / "home"),
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    command = [sys.executable, "-m", "bot", "run"]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to become an unprivileged user")
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
        probe = subprocess.run(
            [*command[:-3], "-c", "pass"], capture_output=True, text=True, timeout=60, check=False
        )
        if probe.returncode != 0:  # e.g. an interpreter whose shared library lies under /root
            pytest.skip(f"this Python cannot run as an unprivileged user: {probe.stderr.strip()[:200]}")
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stderr.splitlines()


def one_line(code: int, lines: list[str], *expected: str) -> str:
    """The process exited 2 with exactly one line besides log lines, holding every ``expected`` text."""
    text = "\n".join(lines)
    assert code == 2, text[-3000:]
    assert "Traceback" not in text and "Unclosed" not in text, text[-3000:]
    assert TOKEN not in text and "fault-token" not in text
    message = [line for line in lines if not _LOG_LINE.match(line)]
    assert len(message) == 1, text[-3000:]
    assert message[0].startswith("error: ")
    for part in expected:
        assert part in message[0], message[0]
    return message[0]


def _owned_by_nobody(path: Path) -> None:
    if os.geteuid() == 0:
        for sub in [path, *path.rglob("*")]:
            os.chown(sub, NOBODY, NOBODY)


def _database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE filler (x TEXT)")
        conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 400,)] * 300)
    conn.close()


def test_corrupt_database(base: Path) -> None:
    data = base / "data"
    data.mkdir()
    (data / "bot.sqlite3").write_bytes(b"\x00garbage, not SQLite\x00" * 500)
    code, lines = run(base, data)
    assert lines == [one_line(code, lines, str(data / "bot.sqlite3"), "backup", "move it away")]


def test_truncated_database(base: Path) -> None:
    data = base / "data"
    _database(data / "bot.sqlite3")
    whole = (data / "bot.sqlite3").read_bytes()
    (data / "bot.sqlite3").write_bytes(whole[: len(whole) // 3])
    code, lines = run(base, data)
    assert lines == [one_line(code, lines, str(data / "bot.sqlite3"), "damaged")]


def test_data_directory_under_a_regular_file(base: Path) -> None:
    (base / "plain").write_text("not a directory")
    code, lines = run(base, base / "plain" / "data")
    assert lines == [one_line(code, lines, "SUMMIT_BOT_DATA_DIR", str(base / "plain"), "is a file")]


def test_read_only_data_directory(base: Path) -> None:
    data = base / "data"
    data.mkdir()
    _owned_by_nobody(data)
    data.chmod(0o500)
    code, lines = run(base, data, unprivileged=True)
    assert lines == [one_line(code, lines, "SUMMIT_BOT_DATA_DIR", str(data), "not writable", "chmod u+w")]


def test_read_only_database_file(base: Path) -> None:
    data = base / "data"
    _database(data / "bot.sqlite3")
    _owned_by_nobody(data)
    (data / "bot.sqlite3").chmod(0o400)
    code, lines = run(base, data, unprivileged=True)
    assert lines == [one_line(code, lines, str(data / "bot.sqlite3"), "read-only", "chmod u+rw")]


@pytest.fixture(scope="module")
def built_index(fixture_index: tuple[Engine, Path]) -> Path:
    return fixture_index[1]


def test_read_only_index_files(base: Path, built_index: Path) -> None:
    data = base / "data"
    shutil.copytree(built_index, data)
    files = sorted(p for p in data.rglob("*") if p.is_file())
    assert files
    _owned_by_nobody(data)
    for path in files:
        path.chmod(0o400)
    code, lines = run(base, data, unprivileged=True)
    line = one_line(code, lines, "read-only", "chmod u+rw")
    assert any(str(path) in line for path in files)


def test_unknown_log_level(base: Path) -> None:
    code, lines = run(base, base / "data", LOG_LEVEL="LOUD")
    assert lines == [one_line(code, lines, "LOG_LEVEL", "'LOUD'", "INFO")]


def test_unreachable_bot_api_is_retried_then_explained(base: Path) -> None:
    code, lines = run(base, base / "data", STARTUP_RETRY_SECONDS="2")
    one_line(code, lines, "could not be reached for 2 s", "TELEGRAM_API_BASE_URL", "STARTUP_RETRY_SECONDS")
    retries = [line for line in lines if "trying again" in line]
    assert len(retries) >= 2  # tried at once, after 1 s, and again before giving up
    assert lines[-1].startswith("error: ")
