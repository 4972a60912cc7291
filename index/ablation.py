"""What each rule is worth: the labelled question sets decided with every rule on, then with each rule
switched off in turn, on questions the decision model was not fitted on.

For every configuration the engine (sharing its indexes, see :meth:`Engine.without_rules`) asks every
question once (:func:`index.calibration.observe`), and each question set is decided by a model refitted
on all the other sets (:func:`index.calibration.cross_validate`, leave one set out): a rule switched off
is also off while the model is fitted, as it would be if it were removed. A question is counted as
answered right when it is answered and the answer is right, and an out-of-scope question as declined
when it is not answered (a clarification or a gap is not an answer). Every rule acts through the
decision model (whether it fired is one of the model's inputs), so the refitted model is all that
decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.calibration import PROJECT, Observation, cross_validate, observe
from index.engine import Engine
from index.evaluation import Case, load_cases
from index.rules import RULES
from index.types import LANGS

ALL_ON = "(all rules on)"


def default_sets() -> list[Path]:
    """The labelled question sets: the project's (``tests/data/*.jsonl``) and the shared ones
    (``../shared/eval/*.jsonl``) when present."""
    found = sorted((PROJECT / "tests" / "data").glob("*.jsonl"))
    return found + sorted((PROJECT.parent / "shared" / "eval").glob("*.jsonl"))


@dataclass
class Tally:
    """Answered right and out-of-scope declined, per language and in all."""

    right: dict[str, int] = field(default_factory=dict)
    answerable: dict[str, int] = field(default_factory=dict)
    declined: dict[str, int] = field(default_factory=dict)
    out_of_scope: dict[str, int] = field(default_factory=dict)


def tally(observations: Sequence[Observation], decisions: Sequence[str]) -> Tally:
    """Count the held-out decisions (see the module's docstring)."""
    result = Tally()
    for keys in (result.right, result.answerable, result.declined, result.out_of_scope):
        keys.update({lang: 0 for lang in (*LANGS, "all")})
    for o, decision in zip(observations, decisions, strict=True):
        answered = decision == "answer"
        for key in (o.lang, "all"):
            if o.answerable:
                result.answerable[key] += 1
                result.right[key] += answered and o.top_right
            else:
                result.out_of_scope[key] += 1
                result.declined[key] += not answered
    return result


def measure(engine: Engine, sets: Sequence[tuple[str, Sequence[Case]]]) -> Tally:
    """Held-out figures of ``engine`` (with whatever rules it has on) over ``sets``."""
    observations: list[Observation] = []
    for name, cases in sets:
        observations.extend(observe(engine, cases, name))
    return tally(observations, list(cross_validate(observations, engine.gate)))


def ablate(
    engine: Engine, files: Sequence[Path], rules: Sequence[str] | None = None
) -> list[tuple[str, Tally]]:
    """The held-out figures with every rule on, then with each of ``rules`` (default: all) off."""
    sets = [(path.name, load_cases(path)) for path in files]
    names = list(rules) if rules is not None else [rule.name for rule in RULES]
    rows = [(ALL_ON, measure(engine.without_rules(()), sets))]
    for name in names:
        rows.append((name, measure(engine.without_rules({name}), sets)))
    return rows


def _delta(value: int, base: int) -> str:
    return f"{value - base:+d}" if value != base else "0"


def format_ablation(rows: Sequence[tuple[str, Tally]]) -> str:
    """One line per rule: how many more (+) or fewer (-) questions are answered right, and out-of-scope
    questions declined, per language and in all, when the rule is off."""
    summaries = {rule.name: rule.summary for rule in RULES}
    keys = (*LANGS, "all")
    base = rows[0][1]
    head = "".join(f"{k:>7}" for k in keys)
    lines = [
        f"{'rule off':<18}{'answered right':^{7 * len(keys)}}  {'out-of-scope declined':^{7 * len(keys)}}",
        f"{'':<18}{head}  {head}",
    ]
    right = "".join(f"{base.right[k]:>7}" for k in keys)
    declined = "".join(f"{base.declined[k]:>7}" for k in keys)
    lines.append(f"{ALL_ON:<18}{right}  {declined}")
    lines.append(
        f"{'  of':<18}"
        + "".join(f"{base.answerable[k]:>7}" for k in keys)
        + "  "
        + "".join(f"{base.out_of_scope[k]:>7}" for k in keys)
    )
    for name, figures in rows[1:]:
        right = "".join(f"{_delta(figures.right[k], base.right[k]):>7}" for k in keys)
        declined = "".join(f"{_delta(figures.declined[k], base.declined[k]):>7}" for k in keys)
        lines.append(f"{name:<18}{right}  {declined}   {summaries.get(name, '')}")
    return "\n".join(line.rstrip() for line in lines)
