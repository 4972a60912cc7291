"""The README and the pages in docs/: an operator's path within the first screen, links that lead
somewhere, and a systemd unit that starts a real command the way the docs describe."""

from __future__ import annotations

import asyncio
import configparser
import re
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.storage.database import Database

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
UNIT = ROOT / "docs" / "summit-bot.service"


def test_the_first_60_lines_take_an_operator_to_a_bot_answering_in_telegram() -> None:
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:60])
    steps = ["make run", "@BotFather", "cp .env.example .env", "TELEGRAM_BOT_TOKEN", "it answers", "/whoami"]
    steps += ["ADMIN_IDS", "--webhook", "systemd", "knowledge/*.yaml", "/reload", "summit-bot backup"]
    cursor = 0
    for step in steps:  # each one after the one before, in the order an operator needs them
        found = head.find(step, cursor)
        assert found >= 0, f"{step!r} is not in the first 60 lines after {head[cursor - 40 : cursor]!r}"
        cursor = found + len(step)
    assert "## Contents" in head


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings."""
    found = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        heading = re.match(r"#{1,6} (.+)", line)
        if heading and not fenced:
            text = re.sub(r"[^\w\- ]", "", heading[1].replace("`", "").lower())
            found.add(text.replace(" ", "-"))
    return found


def test_every_local_link_leads_to_a_file_and_heading() -> None:
    checked = 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor:
                assert anchor in anchors(linked), f"{page.name}: {target}"
            checked += 1
    assert checked >= 30


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name}" in readme, page.name


def test_the_architecture_table_is_kept() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for place in ("bot/telegram/app.py", "bot/delivery/sender.py", "bot/services/engine_holder.py"):
        assert place in text


def test_the_architecture_table_names_every_storage_repository(tmp_path: Path) -> None:
    """Each repository the database offers is named as ``db.<name>``, with its module in bot/storage."""

    async def repositories() -> dict[str, str]:
        db = await Database.open(tmp_path / "bot.sqlite3")
        try:
            return {
                name: type(value).__module__
                for name, value in vars(db).items()
                if type(value).__module__.startswith("bot.storage.")
            }
        finally:
            await db.close()

    found = asyncio.run(repositories())
    row = next(
        line
        for line in (ROOT / "docs" / "architecture.md").read_text().splitlines()
        if line.startswith("| storage")
    )
    assert {"users", "questions", "feedback", "agenda", "outbox"} <= set(found)
    for name, module in found.items():
        assert f"`db.{name}`" in row, name
        assert (ROOT / (module.replace(".", "/") + ".py")).exists()
    modules = {p.stem for p in (ROOT / "bot" / "storage").glob("*.py")}
    assert not {m for m in modules if m.endswith("_schema")}, "modules are named after their feature"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_systemd_unit_runs_the_bot_from_its_checkout_with_private_data_and_restarts() -> None:
    service = unit()["Service"]
    program, *args = service["ExecStart"].split()
    assert program == f"{service['WorkingDirectory']}/.venv/bin/summit-bot"
    assert args == ["run"]
    assert CliRunner().invoke(app, [*args, "--help"]).exit_code == 0  # a command the CLI has
    assert service["User"] not in ("root", "")
    assert service["Restart"] == "on-failure" and int(service["RestartSec"]) > 0
    assert int(unit()["Unit"]["StartLimitBurst"]) > 1
    state = service["StateDirectory"]
    assert service["Environment"] == f"SUMMIT_BOT_DATA_DIR=/var/lib/{state}"
    assert service["StateDirectoryMode"] == "0700" and service["UMask"] == "0077"
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["KillSignal"] == "SIGTERM"  # the signal the bot stops cleanly on
    assert unit()["Install"]["WantedBy"] == "multi-user.target"
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "docs/summit-bot.service" in deployment and service["EnvironmentFile"] in deployment
