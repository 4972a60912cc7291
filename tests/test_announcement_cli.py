"""``summit-bot announce`` and ``summit-bot announcements``: queue, check, list and cancel from the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    env = {"SUMMIT_BOT_DATA_DIR": str(tmp_path / "data"), "KNOWLEDGE_DIR": str(FIXTURE)}
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.output

    return invoke


def test_queue_list_and_cancel_from_the_command_line(run) -> None:
    code, out = run(
        "announce", "--en", "Doors open at <b>9</b>", "--th", "เปิดประตู 9 โมง", "--at", "2099-01-01 08:30"
    )
    assert code == 0, out
    assert "Announcement #1 queued to go out at 2099-01-01 08:30 (Asia/Shanghai time) (en, th)" in out
    code, out = run("announce", "[zh] 班车改在3号门\n[en] Shuttles leave from Gate 3")
    assert code == 0 and "#2 queued to go out now (zh, en)" in out
    code, out = run("announcements")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("#2 scheduled") and "[zh,en] 班车改在3号门" in lines[0]
    assert lines[1].startswith("#1 scheduled 2099-01-01 08:30 [en,th] Doors open at <b>9</b>")
    code, out = run("announcements", "--cancel", "1")
    assert code == 0 and "cancelled" in out
    code, out = run("announcements", "--cancel", "1")
    assert code == 1 and "it is cancelled" in out
    code, out = run("announcements", "--cancel", "99")
    assert code == 1 and "no such announcement" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["announce", "Q&A at noon"], "&amp;"),
        (["announce", "1 < 2"], "&lt;"),
        (["announce", "<b>bold"], "not closed"),
        (["announce", "Hi", "--at", "2020-01-01 10:00"], "already passed"),
        (["announce", "Hi", "--at", "tomorrow"], "2023-11-08 14:30"),
        (["announce", "[en] Hi", "--en", "Hello"], "given twice"),
        (["announce"], "empty"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_queued(run, args: list[str], expected: str) -> None:
    code, out = run(*args)
    assert code == 2 and expected in out, out
    assert run("announcements")[1].strip() == "No announcements yet."
