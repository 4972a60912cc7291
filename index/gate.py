"""The abstention gate: answer only when absolute evidence says the best entry fits the question."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

GATE_FILE = Path(__file__).with_name("gate.yaml")


@dataclass(frozen=True)
class Thresholds:
    """Gate thresholds, read from ``gate.yaml`` so they can be tuned without code changes."""

    dense_strong: float
    dense_floor: float
    dense_support: float
    coverage_min: float
    coverage_strong: float
    name_min: float
    baseline_bm25_coverage: float
    baseline_dense_min: float

    @classmethod
    def load(cls, path: Path = GATE_FILE) -> Thresholds:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names = {f.name for f in fields(cls)}
        missing, unknown = names - raw.keys(), raw.keys() - names
        if missing or unknown:
            raise ValueError(f"{path}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in raw.items()})

    def save(self, path: Path = GATE_FILE) -> None:
        """Rewrite the values in ``path``, keeping its comments and layout."""
        lines = path.read_text(encoding="utf-8").splitlines()
        values = asdict(self)
        for i, line in enumerate(lines):
            key, sep, rest = line.partition(":")
            if sep and key in values:
                comment = rest[rest.index("#") :] if "#" in rest else ""
                lines[i] = f"{key}: {values[key]:g}".ljust(22) + (f" {comment}" if comment else "")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Signals:
    """What the retrievers found for the best entry of a question."""

    dense: float
    coverage: float
    name: float
    margin: float


def decide(signals: Signals, t: Thresholds) -> tuple[bool, str]:
    """Whether to answer, and which rule decided (for logs and evaluation)."""
    if signals.dense < t.dense_floor:
        return False, "dense below floor"
    if signals.dense >= t.dense_strong:
        return True, "strong semantic match"
    if signals.name >= t.name_min:
        return True, "named session or venue"
    if signals.coverage >= t.coverage_strong:
        return True, "strong lexical match"
    if signals.dense >= t.dense_support and signals.coverage >= t.coverage_min:
        return True, "semantic match with lexical support"
    return False, "weak evidence"
