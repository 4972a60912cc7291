"""Choosing the abstention gate's thresholds from labelled questions.

Each question is asked once; what the gate will see (the signals of the best entry) and whether that
entry's answer would be right are recorded. Every combination of thresholds on a grid is then scored
without asking again, by how far it clears the worse of its two targets: ``ANSWER_TARGET`` for the
share of answerable questions answered right and ``DECLINE_TARGET`` for the share of out-of-scope
questions declined (so neither kind can be traded away for the other); an answerable question
answered wrongly costs ``WRONG_COST`` times a right answer (a wrong answer is worse than an honest
decline). Among the best combinations the per-threshold median is taken, which keeps the thresholds
away from the edges of the region that scores best.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from index.engine import Engine
from index.evaluation import Case, judge
from index.gate import Thresholds

WRONG_COST = 2.0
ANSWER_TARGET = 0.95
"""Share of answerable questions that should be answered right."""
DECLINE_TARGET = 0.90
"""Share of out-of-scope questions that should be declined."""

GRID: dict[str, Sequence[float]] = {
    "dense_floor": (0.25, 0.3, 0.35, 0.4),
    "dense_strong": tuple(np.round(np.arange(0.55, 0.91, 0.025), 3)),
    "dense_support": tuple(np.round(np.arange(0.35, 0.61, 0.025), 3)),
    "coverage_min": tuple(np.round(np.arange(0.3, 0.81, 0.05), 2)),
    "coverage_strong": tuple(np.round(np.arange(0.6, 1.01, 0.05), 2)),
    "name_min": (85.0, 90.0, 95.0, 101.0),
    "name_dense_min": (0.45, 0.5, 0.55, 0.6),
}


@dataclass(frozen=True)
class Observation:
    dense: float
    coverage: float
    name: float
    answerable: bool
    top_right: bool  # the best entry's answer would be judged right


@dataclass(frozen=True)
class Calibration:
    thresholds: Thresholds
    score: float
    right: int
    wrong: int
    declined_answerable: int
    declined_out_of_scope: int
    total: int


def observe(engine: Engine, cases: Sequence[Case]) -> list[Observation]:
    """Ask every case once and record the gate's inputs and whether the best entry is right."""
    observations = []
    for case, answer in zip(cases, engine.ask_many([c.question for c in cases]), strict=True):
        if answer.signals is None or answer.best is None:
            observations.append(Observation(0.0, 0.0, 0.0, case.expect is not None, False))
            continue
        if case.expect is None:
            top_right = False
        else:
            text = engine.entry_answer(answer.best, answer.language)
            top_right = judge(case, replace(answer, answered=True, text=text)).right
        s = answer.signals
        observations.append(Observation(s.dense, s.coverage, s.name, case.expect is not None, top_right))
    return observations


def calibrate(observations: Sequence[Observation], base: Thresholds) -> Calibration:
    """The best thresholds on :data:`GRID` for these observations (baseline thresholds kept from ``base``)."""
    dense = np.array([o.dense for o in observations])
    coverage = np.array([o.coverage for o in observations])
    name = np.array([o.name for o in observations])
    answerable = np.array([o.answerable for o in observations])
    right_top = np.array([o.top_right for o in observations])

    keys = list(GRID)
    combos = np.array(list(itertools.product(*(GRID[k] for k in keys))))
    floor, strong, support, cov_min, cov_strong, name_min, name_dense = (
        combos[:, i : i + 1] for i in range(len(keys))
    )
    answer = (dense >= floor) & (
        (dense >= strong)
        | ((name >= name_min) & (dense >= name_dense))
        | (coverage >= cov_strong)
        | ((dense >= support) & (coverage >= cov_min))
    )
    right = (answer & right_top).sum(axis=1)
    wrong = (answer & ~right_top).sum(axis=1)
    declined_oos = (~answer & ~answerable).sum(axis=1)
    n_answerable, n_out = max(1, int(answerable.sum())), max(1, int((~answerable).sum()))
    wrong_answerable = (answer & ~right_top & answerable).sum(axis=1)
    answer_margin = (right - WRONG_COST * wrong_answerable) / n_answerable - ANSWER_TARGET
    decline_margin = declined_oos / n_out - DECLINE_TARGET
    scores = np.minimum(answer_margin, decline_margin)

    best = scores.max()
    chosen = np.median(combos[scores == best], axis=0)
    values = dict(zip(keys, (float(v) for v in chosen), strict=True))
    thresholds = Thresholds(**{**asdict(base), **values})
    i = int(np.argmin(np.abs(combos - chosen).sum(axis=1) + (scores != best) * 1e9))
    return Calibration(
        thresholds,
        float(scores[i]),
        int(right[i]),
        int(wrong[i]),
        int((~answer[i] & answerable).sum()),
        int(declined_oos[i]),
        len(observations),
    )
