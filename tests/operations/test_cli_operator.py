"""What an operator meets first on the command line: help texts as written, settings checked before any
network call, quiet dependency logs, private data and backups, and figures that read well when empty."""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app
from bot.storage.backup import backup_database
from bot.storage.database import Database
from index.files import make_private_dirs, write_atomic

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- Help -------------------------------------------------------------------------------------------


def commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and subcommand of a (Typer-built) command group, with its path."""
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))


def test_every_help_text_shows_its_brackets_as_written() -> None:
    """Square brackets in help texts ([th], [env KNOWLEDGE_DIR, ...]) reach the reader unchanged."""
    root = typer.main.get_command(app)
    runner = CliRunner()
    checked = 0
    for path, command in commands(root):
        result = runner.invoke(app, [*path, "--help"], terminal_width=400)
        assert result.exit_code == 0, result.output
        shown = " ".join(result.output.split())
        texts = [inspect.cleandoc(command.help or "")]
        texts += [getattr(p, "help", None) or "" for p in command.params]
        for text in texts:
            for bracketed in re.findall(r"\[[^\]]+\]", text):
                assert " ".join(bracketed.split()) in shown, (path, bracketed, shown)
                checked += 1
    assert checked >= 10  # the language markers and the [env ...] defaults of the shared options


def test_announce_help_names_the_language_markers() -> None:
    result = CliRunner().invoke(app, ["announce", "--help"], terminal_width=400)
    assert "[th], [zh] or [en]" in result.output


# --- Settings before the network ---------------------------------------------------------------------


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections made to it (and answers nothing)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["run", "--webhook"], {"WEBHOOK_URL": ""}, "WEBHOOK_URL is not set"),
        (["run"], {"EMBEDDING_MODEL": "bert-large"}, "EMBEDDING_MODEL: unknown embedding model spec"),
        (["run", "--webhook"], {"EMBEDDING_MODEL": "sentence-transformers:"}, "names no model"),
    ],
)
def test_run_checks_its_settings_before_any_network_call(
    tmp_path: Path, monkeypatch, args: list[str], env: dict[str, str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    listener = Listener()
    try:
        settings = {
            "TELEGRAM_BOT_TOKEN": "123456:fake-token-for-tests",
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{listener.port}",
            "SUMMIT_BOT_DATA_DIR": str(tmp_path / "data"),
            "STARTUP_RETRY_SECONDS": "0",
            "WEBHOOK_URL": "https://bot.example.org/telegram",
            "EMBEDDING_MODEL": "",
        }
        result = CliRunner().invoke(app, args, env={**settings, **env})
    finally:
        listener.close()
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert listener.connections == 0
    assert not (tmp_path / "data").exists()  # nor was anything prepared for a start that cannot happen


# --- Logging ---------------------------------------------------------------------------------------


LOGGING_PROBE = """
import logging, sys
from bot.logs import configure_logging
configure_logging(sys.argv[1])
chatty = logging.getLogger("some_dependency")
chatty.setLevel(logging.DEBUG)  # as bm25s does to its own logger when imported
chatty.debug("dependency detail")
chatty.info("dependency news")
logging.getLogger("httpx").info("HTTP request")
logging.getLogger("bot.app").info("bot started")
"""


@pytest.mark.parametrize(
    ("level", "shown", "hidden"),
    [
        ("INFO", ["dependency news", "bot started"], ["dependency detail", "HTTP request"]),
        ("WARNING", [], ["dependency detail", "dependency news", "HTTP request", "bot started"]),
        ("DEBUG", ["dependency detail", "dependency news", "bot started"], ["HTTP request"]),
    ],
)
def test_dependency_loggers_follow_log_level(level: str, shown: list[str], hidden: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOGGING_PROBE, level], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for text in shown:
        assert text in result.stderr
    for text in hidden:
        assert text not in result.stderr


# --- Private data and backups -------------------------------------------------------------------------


def test_directories_made_for_data_are_private(tmp_path: Path) -> None:
    existing = tmp_path / "srv"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    write_atomic(existing / "data" / "index" / "manifest.json", b"{}")
    assert mode(existing) == 0o755  # what existed is left alone
    assert mode(existing / "data") == 0o700
    assert mode(existing / "data" / "index") == 0o700
    assert mode(existing / "data" / "index" / "manifest.json") == 0o600
    make_private_dirs(existing / "data")  # again: nothing to do, no error
    assert mode(existing / "data") == 0o700


def test_a_backup_is_private_and_replaces_a_readable_file(tmp_path: Path) -> None:
    async def create() -> None:
        db = await Database.open(tmp_path / "data" / "bot.sqlite3")
        await db.users.touch_user(1, "en")
        await db.close()

    asyncio.run(create())
    target = tmp_path / "backups" / "nightly" / "bot.sqlite3"
    backup_database(tmp_path / "data" / "bot.sqlite3", target)
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700 and mode(target.parent.parent) == 0o700
    target.chmod(0o644)  # an older copy others could read
    backup_database(tmp_path / "data" / "bot.sqlite3", target)
    assert mode(target) == 0o600


def test_backups_and_data_are_ignored_by_git() -> None:
    names = ["data/bot.sqlite3", "backups/bot-08.sqlite3", "elsewhere/bot.sqlite3-wal"]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], capture_output=True, text=True, cwd=ROOT, timeout=30
    )
    if result.returncode == 128:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    assert result.stdout.split() == names


# --- Figures ---------------------------------------------------------------------------------------


def test_stats_on_an_empty_database_reads_well(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def create() -> None:
        await (await Database.open(tmp_path / "data" / "bot.sqlite3")).close()

    asyncio.run(create())
    result = CliRunner().invoke(app, ["stats"], env={"SUMMIT_BOT_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "users: 0"
    assert "()" not in result.output


def test_figures_and_the_purge_need_no_knowledge_but_announcements_name_its_problems(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "knowledge"
    broken.mkdir()
    (broken / "event.yaml").write_text("event: [unclosed\n", encoding="utf-8")
    env = {"SUMMIT_BOT_DATA_DIR": str(tmp_path / "data"), "KNOWLEDGE_DIR": str(broken)}

    async def create() -> None:
        await (await Database.open(tmp_path / "data" / "bot.sqlite3")).close()

    asyncio.run(create())
    for command in (["stats"], ["purge"], ["export", "--since", "2023-11-01"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 0, (command, result.output)
    listed = CliRunner().invoke(app, ["announcements"], env=env)
    assert listed.exit_code == 0 and "No announcements yet." in listed.output
    queued = CliRunner().invoke(app, ["announce", "Doors open", "--at", "10:00"], env=env)
    assert queued.exit_code == 1 and "The knowledge files" in queued.output
