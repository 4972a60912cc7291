"""Rank fusion and the abstention gate."""

from dataclasses import replace
from pathlib import Path

import pytest

from index.fusion import best_per_entry, reciprocal_rank_fusion
from index.gate import Signals, Thresholds, decide


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


T = Thresholds.load()
NONE = Signals(dense=0.0, coverage=0.0, name=0.0)


def test_gate_declines_without_evidence() -> None:
    assert decide(replace(NONE, dense=T.dense_floor - 0.01, coverage=1.0, name=100), T)[0] is False
    assert decide(replace(NONE, dense=T.dense_support - 0.01), T)[0] is False


def test_gate_answers_on_each_rule() -> None:
    assert decide(replace(NONE, dense=T.dense_strong), T) == (True, "strong semantic match")
    named = replace(T, name_min=90.0, name_dense_min=0.5)
    assert decide(replace(NONE, dense=0.5, name=95.0), named)[0] is True
    assert decide(replace(NONE, dense=0.49, name=95.0), named)[0] is False  # a venue named off-topic
    assert decide(replace(NONE, dense=T.dense_floor, coverage=T.coverage_strong), T)[0] is True
    assert decide(replace(NONE, dense=T.dense_support, coverage=T.coverage_min), T)[0] is True
    assert decide(replace(NONE, dense=T.dense_support, coverage=T.coverage_min - 0.01), T)[0] is False


def test_thresholds_file_must_be_complete(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text("dense_strong: 0.5\n")
    with pytest.raises(ValueError, match="missing"):
        Thresholds.load(path)


def test_thresholds_save_keeps_comments(tmp_path: Path) -> None:
    from index.gate import GATE_FILE

    path = tmp_path / "gate.yaml"
    path.write_text(GATE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    changed = replace(T, dense_strong=0.725, name_min=95.0)
    changed.save(path)
    assert Thresholds.load(path) == changed
    assert path.read_text(encoding="utf-8").count("#") == GATE_FILE.read_text(encoding="utf-8").count("#")


def test_calibration_separates_answerable_from_out_of_scope() -> None:
    from index.calibration import Observation, calibrate

    right = [Observation(d, 0.9, 0.0, True, True) for d in (0.72, 0.78, 0.85, 0.9)]
    wrong_top = [Observation(0.5, 0.2, 0.0, True, False)]
    off_topic = [Observation(d, 0.3, 0.0, False, False) for d in (0.4, 0.5, 0.58, 0.62)]
    result = calibrate(right + wrong_top + off_topic, T)
    t = result.thresholds
    assert result.right == 4 and result.wrong == 0 and result.declined_out_of_scope == 4
    assert 0.62 < t.dense_strong <= 0.72 or t.coverage_strong <= 0.9
    assert t.baseline_dense_min == T.baseline_dense_min  # baselines are not calibrated


def test_other_embedders_get_their_own_thresholds(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    other = "sentence-transformers:some/model"
    assert Thresholds.for_embedder("use-multilingual", tmp_path) == T
    assert Thresholds.for_embedder(other, tmp_path) == T
    assert "no gate thresholds calibrated" in caplog.text
    own = replace(T, dense_strong=0.9)
    own.save(Thresholds.path_for(other, tmp_path))
    assert Thresholds.path_for(other, tmp_path).parent == tmp_path
    assert Thresholds.for_embedder(other, tmp_path) == own
    assert Thresholds.load() == T  # the default embedder's file is untouched
