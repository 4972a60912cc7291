"""The abstention gate: answer only when absolute evidence says the best entry fits the question."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from index.embedders import DEFAULT_SPEC
from index.files import write_atomic
from index.vectors import slug

log = logging.getLogger(__name__)

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
    name_dense_min: float
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

    @staticmethod
    def path_for(embedder_id: str, data_dir: Path) -> Path:
        """Where thresholds for ``embedder_id`` live: ``gate.yaml`` for the default embedder, else a
        file in the data directory written by ``summit-bot calibrate --write``."""
        if embedder_id == DEFAULT_SPEC:
            return GATE_FILE
        return Path(data_dir) / f"gate-{slug(embedder_id)}.yaml"

    @classmethod
    def for_embedder(cls, embedder_id: str, data_dir: Path) -> Thresholds:
        """The thresholds calibrated for this embedder, or the default embedder's with a warning."""
        path = cls.path_for(embedder_id, data_dir)
        if path.exists():
            return cls.load(path)
        log.warning(
            "no gate thresholds calibrated for %s (expected %s): using those of %s; "
            "run `summit-bot calibrate QUESTION_FILES --write` with this embedder",
            embedder_id,
            path,
            DEFAULT_SPEC,
        )
        return cls.load()

    def save(self, path: Path = GATE_FILE) -> None:
        """Rewrite the values in ``path`` (a copy of ``gate.yaml`` if new), keeping comments and layout."""
        template = path if path.exists() else GATE_FILE
        lines = template.read_text(encoding="utf-8").splitlines()
        values = asdict(self)
        for i, line in enumerate(lines):
            key, sep, rest = line.partition(":")
            if sep and key in values:
                comment = rest[rest.index("#") :] if "#" in rest else ""
                lines[i] = f"{f'{key}: {values[key]:g}':<22} {comment}".rstrip()
        write_atomic(path, ("\n".join(lines) + "\n").encode())


@dataclass(frozen=True)
class Signals:
    """What the retrievers found for the best entry of a question."""

    dense: float
    coverage: float
    name: float


def decide(signals: Signals, t: Thresholds) -> tuple[bool, str]:
    """Whether to answer, and which rule decided (for logs and evaluation)."""
    if signals.dense < t.dense_floor:
        return False, "dense below floor"
    if signals.dense >= t.dense_strong:
        return True, "strong semantic match"
    if signals.name >= t.name_min and signals.dense >= t.name_dense_min:
        return True, "named session or venue"
    if signals.coverage >= t.coverage_strong:
        return True, "strong lexical match"
    if signals.dense >= t.dense_support and signals.coverage >= t.coverage_min:
        return True, "semantic match with lexical support"
    return False, "weak evidence"
