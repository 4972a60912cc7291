"""Every ``summit-bot …`` command shown in the README and in ``docs/*.md`` runs as shown.

The commands of each page's shell blocks (```sh) run in order, with the arguments the shell would give
them, in a working directory laid out like an operator's checkout: ``../shared`` beside it when the
repository has it, the default data directory ``./data``, a fake bot token and a Bot API address on
127.0.0.1 where nothing listens. What feeds a command's standard input (``printf … |``) runs in bash.
Each page starts from a data directory where the bot has run (a database with a few users and questions).

The commands run in this process, and the engine is loaded once and shared between them (``Engine.load``
is memoised here): each command's own work runs, not the model loading that other tests cover, which
keeps this fast. The small test knowledge stands in for the shipped one. A command fails the test when it
exits with a code other than 0 or one its comment announces ("exit 1 with ..."), raises, or prints
nothing. Afterwards every file and directory the commands made in the data directory and in ``backups/``
is private (0600 / 0700).

Two kinds of command are not run, and their comments say why: those that connect to Telegram
(``summit-bot run``; tests/operations/test_run_command.py runs it against the local Bot API fake) and the
calibration that takes minutes and rewrites the shipped decision model.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.storage.database import Database
from index.embedders import Embedder
from index.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIXTURE_KNOWLEDGE = ROOT / "tests" / "fixtures" / "knowledge"
SHELL_FENCES = ("sh", "bash", "shell", "console")
NOT_RUN = {
    "connects to Telegram": "connects to Telegram (operations/test_run_command.py runs it against a fake)",
    "rewrites the shipped decision model": "takes minutes and rewrites index/gate.yaml",
    "fetched from the organisers' server": "reaches another host (test_schedule_sync.py serves one locally)",
    "needs the organisers' programme file": "no programme file here (test_schedule.py imports real exports)",
}


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    command: str
    comment: str

    @property
    def allowed_exits(self) -> set[int]:
        return {0} | {int(code) for code in re.findall(r"\bexits? (\d+)\b", self.comment)}

    @property
    def not_run(self) -> str | None:
        return next((why for marker, why in NOT_RUN.items() if marker in self.comment), None)

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.command}"


def unquoted(line: str) -> Iterator[tuple[int, str]]:
    """The characters of a shell line that stand outside quotes, with their positions."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        else:
            yield i, char


def split_comment(line: str) -> tuple[str, str]:
    """A shell line's command and its trailing ``# comment`` (a ``#`` outside quotes, after a space)."""
    for i, char in unquoted(line):
        if char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def split_pipeline(command: str) -> tuple[str | None, str]:
    """What feeds standard input (None: nothing) and the command at the end of a pipeline."""
    bars = [i for i, char in unquoted(command) if char == "|"]
    if not bars:
        return None, command
    return command[: bars[-1]].strip(), command[bars[-1] + 1 :].strip()


def runs_summit_bot(command: str) -> bool:
    return any(part.strip().startswith("summit-bot ") for part in re.split(r"\||&&|;", command))


def examples(page: Path) -> list[Example]:
    """The commands in a page's shell blocks that run ``summit-bot``, continuation lines joined; the
    comment lines just above a command count as its comment."""
    found: list[Example] = []
    fence: str | None = None
    pending: list[str] = []
    comments: list[str] = []
    start = 0
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            pending, comments = [], []
            continue
        if fence not in SHELL_FENCES:
            continue
        code, comment = split_comment(line)
        if not code and comment:
            comments.append(comment)
            continue
        if not pending:
            start = number
        if code.endswith("\\"):
            pending.append(code[:-1].strip())
            comments.append(comment)
            continue
        command = " ".join([*pending, code.strip()])
        if runs_summit_bot(command):
            text = " ".join(c for c in [*comments, comment] if c)
            found.append(Example(str(page.relative_to(ROOT)), start, command, text))
        pending, comments = [], []
    return found


PAGES_WITH_EXAMPLES = [page for page in PAGES if any(not e.not_run for e in examples(page))]


def test_the_pages_show_the_commands_an_operator_needs() -> None:
    readme = {e.command.split("#")[0].split()[1] for e in examples(ROOT / "README.md")}
    assert {"index", "ask", "chat", "run", "purge", "stats", "export", "backup", "announce"} <= readme
    announcements = [e.command for e in examples(ROOT / "docs" / "announcements.md")]
    assert any("--cancel" in c for c in announcements) and any("--at" in c for c in announcements)
    skipped = [e for page in PAGES for e in examples(page) if e.not_run]
    expected = {"run", "calibrate", "schedule"}
    assert {e.command.split()[1] for e in skipped} == expected, [str(e) for e in skipped]


SETTINGS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "ADMIN_IDS",
    "ORGANISER_IDS",
    "SUMMIT_BOT_DATA_DIR",
    "KNOWLEDGE_DIR",
    "EMBEDDING_MODEL",
    "WEBHOOK_URL",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
    "PORT",
    "WEBHOOK_SECRET",
    "METRICS_PORT",
    "METRICS_LISTEN",
    "TELEGRAM_RATE_LIMIT",
    "LOG_LEVEL",
    "QUESTION_RATE_LIMIT",
    "QUESTION_RATE_WINDOW",
    "QUESTION_RETENTION_DAYS",
    "STARTUP_RETRY_SECONDS",
    "SHUTDOWN_GRACE_SECONDS",
    "TELEGRAM_CHAT_RATE",
)
"""Every variable the bot reads: none leaks in from the environment the tests run in."""


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[Path, dict[str, str | None]]]:
    """An operator's checkout (the working directory) with ``../shared`` beside it, the environment of
    the commands, and one engine shared by them (on the test process's embedder, when they ask for the
    default one)."""
    top = tmp_path_factory.mktemp("operator")
    checkout = top / "summit-bot"
    checkout.mkdir()
    if SHARED.is_dir():
        (top / "shared").symlink_to(SHARED, target_is_directory=True)
    (checkout / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    env: dict[str, str | None] = dict.fromkeys(SETTINGS)
    env |= {
        "HF_HUB_OFFLINE": "1",
        "TELEGRAM_BOT_TOKEN": "123456:fake-token-for-the-examples",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # the discard port: nothing answers
        "STARTUP_RETRY_SECONDS": "0",
        "KNOWLEDGE_DIR": str(FIXTURE_KNOWLEDGE),
    }
    loaded: dict[tuple[Path, Path, str | None], Engine] = {}
    load = Engine.load

    def load_once(knowledge_dir, data_dir, embedder_spec=None, *args, **kwargs) -> Engine:
        key = (Path(knowledge_dir).resolve(), Path(data_dir).resolve(), embedder_spec)
        if key not in loaded:
            if not embedder_spec and "embedder" not in kwargs:
                kwargs["embedder"] = embedder
            loaded[key] = load(knowledge_dir, data_dir, embedder_spec, *args, **kwargs)
        return loaded[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Engine, "load", staticmethod(load_once))
        yield checkout, env


def a_bot_has_run(data_dir: Path) -> None:
    """A fresh database in ``data_dir`` with what a short run of the bot leaves (the index stays)."""
    for name in ("bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)

    async def fill() -> None:
        db = await Database.open(data_dir / "bot.sqlite3")
        try:
            for user, lang, text in ((1, "en", "When is the summit?"), (2, "zh", "峰会在哪里？")):
                await db.users.touch_user(user, lang)
                await db.questions.record_question(
                    user_id=user,
                    chat_id=user,
                    text=text,
                    language=lang,
                    outcome="answer",
                    score=0.9,
                    sources=[],
                )
        finally:
            await db.close()

    asyncio.run(fill())


def private(path: Path) -> list[str]:
    """What under ``path`` (itself included) others than its owner could read."""
    found = []
    for item in [path, *path.rglob("*")]:
        if stat.S_IMODE(item.lstat().st_mode) & 0o077 and not item.is_symlink():
            found.append(f"{item} {stat.S_IMODE(item.lstat().st_mode):o}")
    return found


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_runs_as_shown(
    page: Path, workspace: tuple[Path, dict[str, str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout, env = workspace
    monkeypatch.chdir(checkout)
    a_bot_has_run(checkout / "data")
    runner = CliRunner()
    ran = 0
    for example in examples(page):
        if example.not_run:
            continue
        if "../shared/" in example.command and not SHARED.is_dir():
            continue  # the public question sets are not beside this checkout
        feed, command = split_pipeline(example.command)
        assert command.startswith("summit-bot ") and "$" not in command, f"{example}: not a plain command"
        stdin = None
        if feed is not None:
            fed = subprocess.run(
                ["bash", "-c", feed], cwd=checkout, capture_output=True, text=True, timeout=60
            )
            assert fed.returncode == 0, f"{example}: {fed.stderr}"
            stdin = fed.stdout
        result = runner.invoke(app, shlex.split(command)[1:], input=stdin, env=env)
        output = f"{example}\nexit {result.exit_code}\n{result.output[-3000:]}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(output) from result.exception
        assert result.exit_code in example.allowed_exits, output
        assert result.stdout.strip(), output  # every command says what it did
        ran += 1
    assert ran, f"no command of {page} ran"
    assert not private(checkout / "data")
    backups = checkout / "backups"
    if backups.exists():
        assert not private(backups)
