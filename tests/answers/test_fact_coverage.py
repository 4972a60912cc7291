"""Facts of the fact sheet are found and stated: rows of (fact, questions per language, expected text)
kept as data in ``tests/data/fact_coverage.yaml``, asked of the engine over the shipped knowledge."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml

from index.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
ROWS = yaml.safe_load((ROOT / "tests/data/fact_coverage.yaml").read_text(encoding="utf-8"))
LANGS = ("en", "zh", "th")

CASES = [
    pytest.param(row, lang, question, id=f"{lang}:{question[:40]}")
    for row in ROWS
    for lang in LANGS
    for question in row["questions"][lang]
]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@pytest.fixture(scope="module")
def engine(shipped_engine: Engine) -> Engine:
    return shipped_engine


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["fact"][:40])
def test_every_row_asks_and_expects_in_all_three_languages(row: dict) -> None:
    for lang in LANGS:
        assert row["questions"][lang], (row["fact"], lang)
        groups = row["expect"][lang]
        assert groups and all(isinstance(g, list) and g for g in groups), (row["fact"], lang)


@pytest.mark.parametrize(("row", "lang", "question"), CASES)
def test_the_fact_is_answered(engine: Engine, row: dict, lang: str, question: str) -> None:
    answer = engine.ask(question)
    assert answer.language == lang
    # A fact that says something is not published is given as a known gap, not as an answer.
    assert answer.outcome == row.get("outcome", "answer"), (
        f"{row['fact']}: {answer.outcome} ({answer.reason}, {answer.score:.2f}) {answer.sources}"
    )
    reply = _fold(answer.text)
    for group in row["expect"][lang]:
        assert any(_fold(alt) in reply for alt in group), (
            f"{row['fact']}: none of {group} in {answer.text[:300]}"
        )
