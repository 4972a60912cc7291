"""The project as an installed package: the wheel, in a fresh virtual environment, answers from any directory
with the knowledge it ships."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, **options: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **options)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling (the dev extra)")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, ROOT)
    (built,) = out.glob("summit_bot-*.whl")
    return built


def test_the_wheel_ships_the_knowledge_and_texts(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"bot/bundled_knowledge/{p.name}" for p in (ROOT / "knowledge").glob("*.yaml")}
    assert shipped and shipped <= names
    assert {"bot/i18n/en.yaml", "bot/i18n/zh.yaml", "bot/i18n/th.yaml", "index/gate.yaml"} <= names
    mini_app = ("index.html", "app.js", "app.css")
    assert {f"bot/webapp/static/{n}" for n in mini_app} | {"bot/webapp/texts.yaml"} <= names
    assert not [n for n in names if n.startswith(("tests/", "knowledge/")) or "__pycache__" in n]


def test_installed_wheel_answers_from_another_directory(
    wheel: Path, tmp_path: Path, shipped_data: Path
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    # The dependencies come from the environment running the tests (offline, nothing downloaded); the
    # package itself only from the wheel: a .pth line adds that environment's packages after its own.
    target_site = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    ).stdout.strip()
    Path(target_site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The shipped knowledge's index, built already, in ./data where the command runs: the command must
    # find it there (its default data directory) and load it rather than embed every passage again.
    shipped_data.rename(elsewhere / "data")
    env = {
        k: v for k, v in os.environ.items() if k not in ("KNOWLEDGE_DIR", "SUMMIT_BOT_DATA_DIR", "PYTHONPATH")
    }
    env["HF_HUB_OFFLINE"] = "1"
    where = run(
        python, "-c", "import bot.config as c; print(c.__file__); print(c.BUNDLED_KNOWLEDGE)", cwd=elsewhere
    )
    module_file, knowledge = where.stdout.split()
    assert Path(module_file).is_relative_to(venv)
    assert Path(knowledge).is_relative_to(venv) and Path(knowledge, "faq.yaml").is_file()

    answer = run(venv / "bin" / "summit-bot", "ask", "--json", "When is the summit?", cwd=elsewhere, env=env)
    record = json.loads(answer.stdout.strip().splitlines()[-1])
    assert record["answered"] and record["language"] == "en" and record["sources"] == ["faq-dates"]
    assert "8–10 November 2023" in record["answer"]  # the shipped knowledge, not the test fixture
    # The default data directory: ./data where it runs, whose index matches the knowledge the wheel ships.
    assert re.search(r"engine ready: index \S+, \d+ entries, \d+ passages, loaded in", answer.stderr)
    assert "rebuilt" not in answer.stderr
