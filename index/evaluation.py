"""Scoring the engine on a question set (format: one JSON object a line, see the README's Evaluation).

A reply to an answerable question is right when the engine answers, every ``expect`` group has an
alternative that occurs in the reply (case-insensitive, after NFKC), and the reply is in the asker's
language. An out-of-scope question (``"answerable": false``) is right when the engine declines.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.answers import Answer
from index.engine import Engine, Mode
from index.language import detect_language
from index.types import LANGS, Lang

MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Case:
    id: str
    lang: Lang
    question: str
    expect: list[list[str]] | None  # None: out of scope, the right reply is a decline


@dataclass
class Outcome:
    case: Case
    answer: Answer
    right: bool
    in_language: bool


@dataclass
class LangFigures:
    answerable: int = 0
    correct: int = 0
    out_of_scope: int = 0
    declined: int = 0
    replies: int = 0
    in_language: int = 0

    @staticmethod
    def _share(n: int, total: int) -> float | None:
        return n / total if total else None

    @property
    def accuracy(self) -> float | None:
        return self._share(self.correct, self.answerable)

    @property
    def decline_rate(self) -> float | None:
        return self._share(self.declined, self.out_of_scope)

    @property
    def language_rate(self) -> float | None:
        return self._share(self.in_language, self.replies)


@dataclass
class Report:
    mode: Mode
    per_lang: dict[Lang, LangFigures] = field(default_factory=dict)
    failures: list[Outcome] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def load_cases(path: Path) -> list[Case]:
    """Read a question set; raises ValueError naming the line of a malformed record."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            lang = raw["lang"]
            if lang not in LANGS:
                raise ValueError(f"unknown lang {lang!r}")
            expect = None if raw.get("answerable", True) is False else [list(g) for g in raw["expect"]]
            cases.append(Case(str(raw["id"]), lang, str(raw["q"]), expect))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: malformed question record ({exc})") from exc
    return cases


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def judge(case: Case, answer: Answer) -> Outcome:
    """Whether one reply is right for its case (see the module docstring)."""
    in_language = detect_language(answer.text, fallback=case.lang) == case.lang
    if case.expect is None:
        return Outcome(case, answer, not answer.answered, in_language)
    reply = _fold(answer.text)
    found = all(any(_fold(alt) in reply for alt in group) for group in case.expect)
    return Outcome(case, answer, answer.answered and found and in_language, in_language)


def evaluate(engine: Engine, cases: Sequence[Case], mode: Mode = "hybrid") -> Report:
    """Ask every case in ``mode`` and tally the figures per language."""
    report = Report(mode, {lang: LangFigures() for lang in LANGS})
    answers = engine.ask_many([c.question for c in cases], mode=mode)
    for case, answer in zip(cases, answers, strict=True):
        outcome = judge(case, answer)
        figures = report.per_lang[case.lang]
        figures.replies += 1
        figures.in_language += outcome.in_language
        if case.expect is None:
            figures.out_of_scope += 1
            figures.declined += outcome.right
        else:
            figures.answerable += 1
            figures.correct += outcome.right
        report.outcomes.append(outcome)
        if not outcome.right:
            report.failures.append(outcome)
    return report


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


def format_reports(reports: Sequence[Report]) -> str:
    """A side-by-side table: rows are language x figure, columns are modes."""
    header = f"{'lang':<5}{'figure':<22}" + "".join(f"{r.mode:>10}" for r in reports)
    lines = [header, "-" * len(header)]
    rows = (("answered correctly", "accuracy"), ("out-of-scope declined", "decline_rate"))
    rows += (("in asker's language", "language_rate"),)
    for lang in LANGS:
        for label, attr in rows:
            cells = "".join(f"{_pct(getattr(r.per_lang[lang], attr)):>10}" for r in reports)
            lines.append(f"{lang:<5}{label:<22}{cells}")
    return "\n".join(lines)
