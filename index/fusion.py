"""Reciprocal rank fusion: one ranking of entries out of several rankings of passages or entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

_NEG_INF = float("-inf")


def best_per_entry(scored: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Collapse ``(entry_id, score)`` pairs to each entry's best score, highest first."""
    best: dict[str, float] = {}
    for entry_id, score in scored:
        if score > best.get(entry_id, _NEG_INF):
            best[entry_id] = score
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float] | None = None,
    k: float = 60.0,
) -> list[tuple[str, float]]:
    """Fuse named rankings of ``(entry_id, score)`` (best first) into one, best first.

    Each entry gets ``sum(weight / (k + rank))`` over the rankings it appears in (rank from 1); only
    ranks matter, so scores on different scales (cosine, BM25, fuzzy ratio) fuse without calibration.
    Ties are broken by entry id so the result is deterministic.
    """
    fused: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, (entry_id, _score) in enumerate(ranking, start=1):
            fused[entry_id] = fused.get(entry_id, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def add_ranking(
    fused: Sequence[tuple[str, float]], ranking: Sequence[tuple[str, float]], weight: float, k: float = 60.0
) -> list[tuple[str, float]]:
    """``fused`` (a result of :func:`reciprocal_rank_fusion`) with one more ranking fused in, best first.

    Each entry's sum gains the new ranking's share last, so the result is exactly that of fusing all
    the rankings again with the new one as the last.
    """
    scores = dict(fused)
    for rank, (entry_id, _score) in enumerate(ranking, start=1):
        scores[entry_id] = scores.get(entry_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
