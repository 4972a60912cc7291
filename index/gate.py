"""The answer decision: answer, ask which topic was meant, or decline, from evidence about the best entry.

The evidence is a handful of signals (:class:`Signals`): how similar the question is to the best entry
and by how much that entry leads the others, how much of the question's wording the entry covers,
whether the question names a session, venue or person, whether the entry states the kind of thing asked
(a date, a place, a person, a number, a price, a way to get there), whether dense and keyword retrieval
put the entry first, how much of the question uses words the knowledge never uses, the most telling word the
entry lacks, and the question's length (the same model for every language), and for every rule
(:mod:`index.rules`) whether it fired for the best entry: a re-ranking rule put it first, or a rule
objects to answering with it (a question about another year, a price the entry does not give). No rule
overrules the model; each is worth the weight the fit gives it. A logistic regression
(:class:`GateModel`) turns them into the probability that the best entry's answer is right; the engine
answers above ``answer_min``, offers the best topics as a clarification between ``clarify_min`` and
``answer_min``, and declines below. The weights and both cut-offs live in ``gate.yaml`` and are fitted
by ``summit-bot calibrate`` (see :mod:`index.calibration`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from index.embedders import DEFAULT_SPEC
from index.files import read_yaml, write_atomic
from index.vectors import slug

log = logging.getLogger(__name__)

GATE_FILE = Path(__file__).with_name("gate.yaml")

SIGNAL_FEATURES: tuple[str, ...] = (
    "dense",
    "margin",
    "coverage",
    "name",
    "agree",
    "unknown",
    "missing",
    "dense_top",
    "bm25_top",
    "person",
    "length",
)
"""The evidence from retrieval (see :meth:`Signals.vector`). The same for every language: a model
without language terms or their products transfers better to question sets it was not fitted on
(leave-one-set-out figures in the README); ``lang`` is kept in :class:`Signals` for reports."""
RULE_PREFIX = "rule:"
"""The model has one more input per rule, named ``rule:<name>``: 1 when the rule fired for the best
entry. A rule switched off never fires, so its input is constant and the fit gives it no weight. Which
rules there are is the engine's to say (:func:`index.decision.model_features`)."""


def rule_features(names: Sequence[str]) -> tuple[str, ...]:
    """The inputs of the rules named ``names``, in order."""
    return tuple(f"{RULE_PREFIX}{name}" for name in names)


Decision = Literal["answer", "clarify", "decline"]


@dataclass(frozen=True)
class Signals:
    """What the retrievers found for the best entry of a question."""

    dense: float
    """Cosine similarity of the question to the entry's closest passage (or to an FAQ linked to it)."""
    coverage: float
    """IDF-weighted share (0..1) of the question's content words the entry contains."""
    name: float
    """Fuzzy match (0..100) of one of the entry's session or venue names inside the question."""
    missing: float = 0.0
    """How telling (0..1, relative IDF) the most telling question word the entry lacks is."""
    margin: float = 0.0
    """``dense`` minus the similarity of the closest entry not linked to it."""
    agree: float = 1.0
    """1 when the entry states what kind of thing the question asks (or the question's kind is unknown)."""
    unknown: float = 0.0
    """IDF-weighted share (0..1) of the question's content words that no passage uses."""
    dense_top: float = 1.0
    """1 when dense retrieval ranks the entry first."""
    bm25_top: float = 1.0
    """1 when keyword retrieval ranks the entry first."""
    person: float = 0.0
    """1 when the question names a person or organisation the entry mentions, -1 when it names someone
    the entry does not mention, 0 when it names nobody the knowledge knows."""
    words: int = 1
    """Content words in the question."""
    lang: str = "en"
    rules: frozenset[str] = frozenset()
    """The rules that fired for the entry: a re-ranking rule that put it first, the rules that object to
    answering with it."""

    def vector(self, features: Sequence[str] = SIGNAL_FEATURES) -> np.ndarray:
        """The values of ``features`` (a model's inputs, in its order)."""
        values = {
            "dense": self.dense,
            "margin": self.margin,
            "coverage": self.coverage,
            "name": self.name / 100.0,
            "agree": self.agree,
            "unknown": self.unknown,
            "missing": self.missing,
            "dense_top": self.dense_top,
            "bm25_top": self.bm25_top,
            "person": self.person,
            "length": math.log1p(self.words),
        }
        return np.array(
            [
                values[f] if f in values else float(f.removeprefix(RULE_PREFIX) in self.rules)
                for f in features
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class GateModel:
    """A logistic regression over standardised :class:`Signals`, and the two probability cut-offs."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    answer_min: float
    clarify_min: float
    baseline_bm25_coverage: float = 0.5
    baseline_dense_min: float = 0.45
    trained_on: tuple[str, ...] = field(default_factory=tuple)
    """The labelled question sets the model was fitted on (paths relative to the project)."""
    features: tuple[str, ...] = SIGNAL_FEATURES
    """The model's inputs, in order: the signals, then one per rule (see :data:`RULE_PREFIX`)."""

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features[: len(SIGNAL_FEATURES)] != SIGNAL_FEATURES or not all(
            f.startswith(RULE_PREFIX) for f in self.features[len(SIGNAL_FEATURES) :]
        ):
            raise ValueError(f"gate model features must be {', '.join(SIGNAL_FEATURES)}, then rule:<name>")
        if not (len(self.weights) == len(self.mean) == len(self.scale) == n):
            raise ValueError(f"gate model needs {n} weights, means and scales ({', '.join(self.features)})")
        if not 0.0 <= self.clarify_min <= self.answer_min <= 1.0:
            raise ValueError("need 0 <= clarify_min <= answer_min <= 1")

    def probability(self, signals: Signals) -> float:
        """Probability that the best entry's answer is right for the question."""
        return float(self.probabilities(signals.vector(self.features)[None, :])[0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        mean, scale, weights = self._arrays
        z = (x - mean) / scale
        return 1.0 / (1.0 + np.exp(-(z @ weights + self.bias)))

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``mean``, ``scale`` and ``weights`` as arrays, made once rather than per question."""
        return np.asarray(self.mean), np.asarray(self.scale), np.asarray(self.weights)

    def decide(self, signals: Signals) -> tuple[Decision, float]:
        p = self.probability(signals)
        if p >= self.answer_min:
            return "answer", p
        if p >= self.clarify_min:
            return "clarify", p
        return "decline", p

    # -- the file ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path = GATE_FILE) -> GateModel:
        raw = read_yaml(path) or {}
        try:
            return cls(
                weights=tuple(float(v) for v in raw["weights"]),
                bias=float(raw["bias"]),
                mean=tuple(float(v) for v in raw["mean"]),
                scale=tuple(float(v) for v in raw["scale"]),
                answer_min=float(raw["answer_min"]),
                clarify_min=float(raw["clarify_min"]),
                baseline_bm25_coverage=float(raw.get("baseline_bm25_coverage", 0.5)),
                baseline_dense_min=float(raw.get("baseline_dense_min", 0.45)),
                trained_on=tuple(raw.get("trained_on") or ()),
                features=tuple(raw["features"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: incomplete gate model ({exc})") from exc

    def save(self, path: Path = GATE_FILE) -> None:
        header = (
            "# The answer decision's model, fitted by `summit-bot calibrate QUESTION_FILES --write`\n"
            "# (index/calibration.py): a logistic regression over the signals listed in `features`\n"
            "# (index/gate.py explains each), standardised by `mean` and `scale`. The engine answers when\n"
            "# the probability that the best entry is right reaches `answer_min`, offers the best topics\n"
            "# when it reaches `clarify_min`, and declines below. The baselines are for `summit-bot eval`.\n"
        )
        body = {
            "features": list(self.features),
            "weights": [round(v, 6) for v in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "answer_min": round(self.answer_min, 4),
            "clarify_min": round(self.clarify_min, 4),
            "baseline_bm25_coverage": self.baseline_bm25_coverage,
            "baseline_dense_min": self.baseline_dense_min,
            "trained_on": list(self.trained_on),
        }
        text = header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
        write_atomic(path, text.encode())

    @staticmethod
    def path_for(embedder_id: str, data_dir: Path) -> Path:
        """Where the model for ``embedder_id`` lives: ``gate.yaml`` for the default embedder, else a
        file in the data directory written by ``summit-bot calibrate --write``."""
        if embedder_id == DEFAULT_SPEC:
            return GATE_FILE
        return Path(data_dir) / f"gate-{slug(embedder_id)}.yaml"

    @classmethod
    def for_embedder(cls, embedder_id: str, data_dir: Path) -> GateModel:
        """The model fitted for this embedder, or the default embedder's with a warning."""
        path = cls.path_for(embedder_id, data_dir)
        if path.exists():
            return cls.load(path)
        log.warning(
            "no answer model calibrated for %s (expected %s): using that of %s; "
            "run `summit-bot calibrate QUESTION_FILES --write` with this embedder",
            embedder_id,
            path,
            DEFAULT_SPEC,
        )
        return cls.load()
