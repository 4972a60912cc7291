"""Fitting the answer decision (:class:`index.gate.GateModel`) to labelled questions, and measuring it on
questions it was not fitted on.

Each question is asked once and what the decision will see is recorded (:class:`Observation`): the
signals of the best entry (with the rules that fired for it), whether that entry's answer would be
judged right, and whether the entry only says the asked fact is not published (then it is a ``gap``
whatever the model says) or no entry states the kind of fact asked (then it is declined). A logistic
regression is fitted on the rest: the label is "the best entry is right". The answer cut-off is then the
lowest probability that answers about the most questions right (a wrong answer costs ``WRONG_COST``
right ones; within ``TIE`` questions of the best counts as as good) among those that decline at least
``DECLINE_TARGET`` of the out-of-scope questions. Questions whose probability falls just below the
cut-off (within ``CLARIFY_BAND``) get a clarification instead of a decline.

:func:`cross_validate` fits on all question sets but one and decides the left-out one, in turn, so
every question gets a decision from a model that never saw it or its set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.answers import Answer
from index.engine import Engine
from index.evaluation import Case, LangFigures, Report, judge, load_cases
from index.gate import GateModel, Signals
from index.rules import CERTAIN_RULES
from index.types import LANGS

WRONG_COST = 2.0
OUT_OF_SCOPE_COST = 1.0
DECLINE_TARGET = 0.92
"""Share of out-of-scope questions that must be declined in every language on the calibration sets: the
product's target is 90%, and the margin keeps unseen sets above it (a cut-off chosen at exactly 90%
declined 67% of one public set's Chinese and Thai out-of-scope questions)."""
TIE = 1.0
"""Cut-offs whose net score is within this many questions of the best are as good as the best; the lowest
of them is chosen. The net score is nearly flat over a wide band of cut-offs, and where in the band the
cut-off falls is noise: held out (leave one set out over the twelve calibration sets), the lowest answered
four more questions right than the median of the best, with one more wrong and as many declined."""
CLARIFY_BAND = 0.15
"""How far below the answer cut-off a question still gets a clarification rather than a decline."""
L2 = 3.0
"""Strength of the ridge penalty on the (standardised) weights."""
CUTOFFS = np.round(np.arange(0.05, 0.951, 0.01), 2)


@dataclass(frozen=True)
class Observation:
    features: np.ndarray
    answerable: bool
    top_right: bool
    """The best entry's answer would be judged right."""
    blocked: bool = False
    """The outcome does not depend on the model (the entry says the fact is unpublished, or no entry
    states the kind of fact asked): never an answer."""
    near_right: bool = False
    """One of the entries a clarification would offer is right."""
    lang: str = "en"
    group: str = ""
    """The question set the question comes from (the unit of cross-validation)."""
    in_language: bool = True
    """The engine's reply is in the asker's language."""


@dataclass(frozen=True)
class Calibration:
    model: GateModel
    score: float
    right: int
    wrong: int
    declined_answerable: int
    declined_out_of_scope: int
    total: int


def _right(engine: Engine, case: Case, answer: Answer, entry_id: str) -> bool:
    """Whether ``entry_id``'s answer would be judged right for ``case``."""
    if case.expect is None:
        return False
    text = engine.entry_answer(entry_id, answer.language)
    return judge(case, replace(answer, answered=True, text=text)).right


def observe(
    engine: Engine, cases: Sequence[Case], group: str = "", answers: Sequence[Answer] | None = None
) -> list[Observation]:
    """Ask every case once (unless its ``answers`` are given) and record the decision's inputs and
    whether the best entry is right."""
    observations = []
    if answers is None:
        answers = engine.ask_many([c.question for c in cases])
    for case, answer in zip(cases, answers, strict=True):
        answerable = case.expect is not None
        in_language = judge(case, answer).in_language
        if answer.signals is None or answer.best is None:
            zero = Signals(0.0, 0.0, 0.0, lang=case.lang).vector(engine.gate.features)
            observations.append(
                Observation(zero, answerable, False, True, False, case.lang, group, in_language)
            )
            continue

        top_right = _right(engine, case, answer, answer.best)
        near = [s.entry_id for s in answer.suggestions] or [answer.best]
        blocked = engine.gap(case.question, answer.language, answer.best) or bool(
            answer.signals.rules & CERTAIN_RULES
        )
        observations.append(
            Observation(
                answer.signals.vector(engine.gate.features),
                answerable,
                top_right,
                blocked,
                any(_right(engine, case, answer, e) for e in near),
                case.lang,
                group,
                in_language,
            )
        )
    return observations


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Ridge-penalised logistic regression by Newton's method on standardised features.

    Returns (weights, bias, mean, scale)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not penalised
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1]), mean, scale


def _answered(observations: Sequence[Observation], p: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """For each cut-off (rows) and question (columns): whether the question is answered."""
    blocked = np.array([o.blocked for o in observations])
    return (p[None, :] >= cutoffs[:, None]) & ~blocked[None, :]


def choose_cutoff(observations: Sequence[Observation], p: np.ndarray) -> tuple[float, float]:
    """The answer cut-off: among those that decline at least ``DECLINE_TARGET`` of the out-of-scope
    questions in every language, the ones with the most right answers net of wrong ones (a wrong
    answer costs ``WRONG_COST`` right ones, an answer to an out-of-scope question ``OUT_OF_SCOPE_COST``),
    within ``TIE`` questions; the lowest of those. When none declines enough, the one declining the
    most. Returns the cut-off and its score (the net share of answerable questions
    answered right)."""
    answerable = np.array([o.answerable for o in observations])
    top_right = np.array([o.top_right for o in observations])
    answer = _answered(observations, p, CUTOFFS)
    n_answerable = max(1, int(answerable.sum()))
    right = (answer & top_right & answerable).sum(axis=1)
    wrong = (answer & ~top_right & answerable).sum(axis=1)
    out = ~answerable
    langs = np.array([o.lang for o in observations])
    # The share declined in the language that declines least: the target holds for every language.
    declined = np.min(
        [(~answer & out & (langs == lang)).sum(axis=1) / max(1, int((out & (langs == lang)).sum()))
         for lang in sorted(set(langs[out]))] or [np.ones(len(CUTOFFS))],
        axis=0,
    )  # fmt: skip
    # An answer to an out-of-scope question says something the knowledge does not hold: it costs as
    # much as a right answer gains (beyond the share the target already bounds).
    astray = (answer & ~answerable).sum(axis=1)
    net = (right - WRONG_COST * wrong - OUT_OF_SCOPE_COST * astray) / n_answerable
    scores = np.where(declined >= DECLINE_TARGET, net, declined - 10.0)
    best = scores.max()
    enough = declined >= DECLINE_TARGET
    tied = (scores >= best - TIE / n_answerable) & enough if enough.any() else scores == best
    return float(CUTOFFS[tied].min()), float(best)


def fit(observations: Sequence[Observation], base: GateModel, trained_on: Sequence[str] = ()) -> Calibration:
    """Fit the model and choose its cut-offs on ``observations``."""
    usable = [o for o in observations if not o.blocked]
    x = np.array([o.features for o in usable])
    y = np.array([float(o.answerable and o.top_right) for o in usable])
    weights, bias, mean, scale = fit_logistic(x, y)
    model = replace(
        base,
        weights=tuple(float(v) for v in weights),
        bias=bias,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        answer_min=0.5,
        clarify_min=0.35,
        trained_on=tuple(trained_on),
    )
    p = model.probabilities(np.array([o.features for o in observations]))
    cutoff, score = choose_cutoff(observations, p)
    model = replace(model, answer_min=cutoff, clarify_min=max(0.0, cutoff - CLARIFY_BAND))
    tally = decisions(model, observations)
    answerable = np.array([o.answerable for o in observations])
    top_right = np.array([o.top_right for o in observations])
    answered = tally == "answer"
    return Calibration(
        model,
        score,
        int((answered & top_right).sum()),
        int((answered & ~top_right).sum()),
        int((~answered & answerable).sum()),
        int((~answered & ~answerable).sum()),
        len(observations),
    )


def decisions(model: GateModel, observations: Sequence[Observation]) -> np.ndarray:
    """What the engine would do with each observed question under ``model``: answer, clarify, decline
    (a ``gap`` counts as decline)."""
    if not observations:
        return np.array([], dtype=object)
    p = model.probabilities(np.array([o.features for o in observations]))
    blocked = np.array([o.blocked for o in observations])
    out = np.where(p >= model.answer_min, "answer", np.where(p >= model.clarify_min, "clarify", "decline"))
    return np.where(blocked, "decline", out).astype(object)


def cross_validate(observations: Sequence[Observation], base: GateModel) -> np.ndarray:
    """Each question's decision by a model fitted on every other question set (leave one set out)."""
    groups = sorted({o.group for o in observations})
    result = np.empty(len(observations), dtype=object)
    for group in groups:
        inside = [i for i, o in enumerate(observations) if o.group == group]
        training = [o for o in observations if o.group != group]
        if not training:
            training = [o for o in observations]
        model = fit(training, base).model
        result[inside] = decisions(model, [observations[i] for i in inside])
    return result


__all__ = ["Calibration", "Observation", "cross_validate", "decisions", "fit", "observe"]


PROJECT = Path(__file__).resolve().parents[1]


def training_sets(model: GateModel) -> list[Path]:
    """The question sets ``model`` was fitted on, that exist here (paths are relative to the project)."""
    paths = [(PROJECT / name).resolve() for name in model.trained_on]
    return [p for p in paths if p.exists()]


def heldout_report(engine: Engine, cases: Sequence[Case], path: Path) -> tuple[Report, list[str]]:
    """Figures for ``cases`` decided by a model fitted without them: on the sets the shipped model was
    fitted on, minus ``path`` and minus any question that also occurs in ``cases``.

    Returns the report and the names of the sets the held-out model was fitted on."""
    asked = {c.question for c in cases}
    used: list[str] = []
    training: list[Observation] = []
    for other in training_sets(engine.gate):
        if other == Path(path).resolve():
            continue
        kept = [c for c in load_cases(other) if c.question not in asked]
        training.extend(observe(engine, kept, other.name))
        used.append(other.name)
    observations = observe(engine, cases, "evaluated")
    report = Report("held-out", {lang: LangFigures() for lang in LANGS})  # type: ignore[arg-type]
    if not training:
        return report, used
    chosen = decisions(fit(training, engine.gate).model, observations)
    for case, obs, decision in zip(cases, observations, chosen, strict=True):
        figures = report.per_lang[case.lang]
        figures.replies += 1
        figures.in_language += obs.in_language
        if case.expect is None:
            figures.out_of_scope += 1
            figures.declined += decision != "answer"
        else:
            figures.answerable += 1
            figures.correct += decision == "answer" and obs.top_right
    return report, used
