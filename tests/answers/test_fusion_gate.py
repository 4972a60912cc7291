"""Rank fusion and the abstention gate."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.fusion import add_ranking, best_per_entry, reciprocal_rank_fusion
from index.gate import SIGNAL_FEATURES as FEATURES
from index.gate import GateModel, Signals


def test_best_per_entry_keeps_highest_score() -> None:
    assert best_per_entry([("a", 0.2), ("b", 0.5), ("a", 0.9)]) == [("a", 0.9), ("b", 0.5)]


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = reciprocal_rank_fusion(
        {"dense": [("x", 0.9), ("y", 0.8), ("z", 0.1)], "bm25": [("y", 12.0), ("z", 3.0)]}
    )
    assert fused[0][0] == "y"


def test_rrf_weights_shift_the_winner() -> None:
    rankings = {"dense": [("x", 0.9), ("y", 0.1)], "names": [("y", 100.0), ("x", 50.0)]}
    assert reciprocal_rank_fusion(rankings, {"dense": 2.0, "names": 0.5})[0][0] == "x"
    assert reciprocal_rank_fusion(rankings, {"dense": 0.5, "names": 2.0})[0][0] == "y"


def test_adding_a_ranking_equals_fusing_all_again() -> None:
    rng = np.random.default_rng(7)
    ids = [f"e{i}" for i in range(30)]
    weights = {"dense": 2.0, "bm25": 0.5, "names": 0.25, "coverage": 0.5}
    for _ in range(50):
        rankings = {
            name: [(e, 0.0) for e in rng.permutation(ids)[: rng.integers(1, 30)]]
            for name in ("dense", "bm25", "names")
        }
        first = reciprocal_rank_fusion(rankings, weights)
        extra = [(e, 0.0) for e, _ in first[: rng.integers(1, 12)]][::-1]
        added = add_ranking(first, extra, weights["coverage"])
        assert added == reciprocal_rank_fusion({**rankings, "coverage": extra}, weights)


N = len(FEATURES)


def _model(**changes: object) -> GateModel:
    """A model that looks only at dense similarity: p = sigmoid(10 * (dense - 0.6))."""
    weights = [0.0] * N
    weights[FEATURES.index("dense")] = 10.0
    base = GateModel(tuple(weights), -6.0, (0.0,) * N, (1.0,) * N, 0.5, 0.3)
    return replace(base, **changes)


def test_decision_has_three_bands() -> None:
    model = _model()
    assert model.decide(Signals(dense=0.9, coverage=0.0, name=0.0))[0] == "answer"
    assert model.decide(Signals(dense=0.55, coverage=0.0, name=0.0))[0] == "clarify"  # p = 0.38
    assert model.decide(Signals(dense=0.3, coverage=0.0, name=0.0))[0] == "decline"


def test_model_file_round_trip_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    model = replace(_model(), trained_on=("tests/data/heldout.jsonl",))
    model.save(path)
    assert GateModel.load(path) == model
    path.write_text("weights: [1]\n")
    with pytest.raises(ValueError):
        GateModel.load(path)
    with pytest.raises(ValueError, match="clarify_min"):
        _model(clarify_min=0.9, answer_min=0.5)


def test_shipped_model_loads_and_prefers_stronger_evidence() -> None:
    model = GateModel.load()
    weak = Signals(
        dense=0.35,
        coverage=0.1,
        name=0.0,
        unknown=0.8,
        missing=0.9,
        agree=0.0,
        dense_top=0.0,
        bm25_top=0.0,
        words=3,
    )
    strong = Signals(dense=0.9, coverage=1.0, name=0.0, margin=0.2, words=6)
    assert model.probability(strong) > model.answer_min > model.probability(weak)


def _observations(group: str, shift: float = 0.0) -> list:
    from index.calibration import Observation

    rng = np.random.default_rng(7)
    out = []
    for i in range(60):
        good = i % 2 == 0
        dense = rng.normal(0.8 if good else 0.45, 0.06) + shift
        vector = Signals(dense=dense, coverage=0.5, name=0.0).vector()
        out.append(Observation(vector, good, good, group=group))
    return out


def test_fit_separates_right_from_out_of_scope() -> None:
    from index.calibration import decisions, fit

    observations = _observations("a") + _observations("b")
    result = fit(observations, _model(), ["a", "b"])
    chosen = decisions(result.model, observations)
    right = [d == "answer" for o, d in zip(observations, chosen, strict=True) if o.answerable]
    declined = [d != "answer" for o, d in zip(observations, chosen, strict=True) if not o.answerable]
    assert sum(right) / len(right) >= 0.95 and sum(declined) / len(declined) >= 0.9
    assert result.model.trained_on == ("a", "b")
    assert 0.0 <= result.model.clarify_min <= result.model.answer_min


def test_blocked_questions_are_never_answered() -> None:
    from index.calibration import decisions

    observations = _observations("a")[:4]
    observations = [replace(o, blocked=True) for o in observations]
    assert set(decisions(_model(answer_min=0.0, clarify_min=0.0), observations)) == {"decline"}


def test_cross_validation_decides_each_set_with_a_model_fitted_without_it() -> None:
    from index.calibration import cross_validate

    # Set "c" is shifted: a model fitted on it alone would place the cut-off elsewhere. Held out,
    # its questions are decided by the model of "a" and "b", so its shifted out-of-scope questions
    # (dense about 0.65) now look answerable.
    observations = _observations("a") + _observations("b") + _observations("c", shift=0.2)
    held = cross_validate(observations, _model())
    c_out = [d for o, d in zip(observations, held, strict=True) if o.group == "c" and not o.answerable]
    assert sum(d == "answer" for d in c_out) > len(c_out) // 2
