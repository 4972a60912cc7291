"""``summit-bot announce`` and ``summit-bot announcements``: queue, check, list and cancel from the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services.announcements import next_clock_time

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"


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
    assert re.match(r"#2 scheduled for \d{4}-\d\d-\d\d \d\d:\d\d UTC\+8 \[zh,en\] 班车改在3号门", lines[0])
    assert lines[1].startswith("#1 scheduled for 2099-01-01 08:30 UTC+8 [en,th] Doors open at <b>9</b>")
    code, out = run("announcements", "--cancel", "1")
    assert code == 0 and "cancelled" in out
    code, out = run("announcements")
    cancelled = next(line for line in out.splitlines() if line.startswith("#1 "))
    # The scheduled time stays what it was; the moment of cancelling is shown beside it, both with the zone.
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    found = re.match(
        r"#1 cancelled \(scheduled for 2099-01-01 08:30 UTC\+8, cancelled at (.{16}) UTC\+8\) \[en,th\] ",
        cancelled,
    )
    assert found, cancelled
    at = datetime.strptime(found[1], "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs(at - now) < timedelta(minutes=2)
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


def test_a_time_of_day_alone_means_its_next_occurrence_in_the_events_zone(run) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    before = datetime.now(zone)
    code, out = run("announce", "Doors open at 9", "--at", "08:30")
    assert code == 0, out
    found = re.search(r"queued to go out at (\d{4}-\d\d-\d\d 08:30) \(Asia/Shanghai time\)", out)
    assert found, out
    due = datetime.strptime(found[1], "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    assert before < due <= before + timedelta(days=1)
    assert run("announce", "Hi", "--at", "24:00")[0] == 2  # not a time of day, and not a date either


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        ("2023-11-08 07:00", "08:30", "2023-11-08 08:30"),  # later today
        ("2023-11-08 09:00", "08:30", "2023-11-09 08:30"),  # passed today: tomorrow
        ("2023-11-08 08:30", "8:30", "2023-11-09 08:30"),  # now is not later
        ("2023-12-31 23:50", "00:05", "2024-01-01 00:05"),
    ],
)
def test_next_clock_time(now: str, text: str, expected: str) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    moment = datetime.strptime(now, "%Y-%m-%d %H:%M").replace(tzinfo=zone).astimezone(UTC)
    due = next_clock_time(text, zone, moment)
    assert due is not None and due.tzinfo is UTC
    assert due.astimezone(zone).strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("text", ["2023-11-08 08:30", "8.30", "25:00", "08:60", "tomorrow", ""])
def test_next_clock_time_leaves_other_text_to_the_date_parser(text: str) -> None:
    assert next_clock_time(text, ZoneInfo("Asia/Shanghai"), datetime.now(UTC)) is None
