"""What the organisers need to see: questions the bot could not answer, answers voted 👎, usage figures.

Unanswered questions are grouped so that one missing fact shows as one line however many people asked
and in whichever language: the served engine's multilingual embedder puts a question and its
translation close together, and :func:`group_questions` clusters greedily by cosine similarity.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bot.services.engine_holder import EngineHolder
from bot.storage.database import Database
from bot.storage.insights import DayCount, Disliked, MissedQuestion, Totals
from bot.storage.knowledge import Activation
from index.files import read_yaml
from index.reading import question_form

CONFIG_FILE = Path(__file__).with_name("admin.yaml")


@dataclass(frozen=True)
class AdminConfig:
    """Limits and thresholds of the staff's tools (``admin.yaml``)."""

    upload_max_bytes: int
    unanswered_days: int
    unanswered_questions: int
    similarity: float
    groups: int
    feedback_shown: int
    stats_days: int
    mass_removal_share: float = 0.2

    @classmethod
    def load(cls, path: Path = CONFIG_FILE) -> AdminConfig:
        raw: dict[str, Any] = read_yaml(path)
        unanswered = raw["unanswered"]
        return cls(
            upload_max_bytes=int(raw["upload_max_bytes"]),
            unanswered_days=int(unanswered["days"]),
            unanswered_questions=int(unanswered["questions"]),
            similarity=float(unanswered["similarity"]),
            groups=int(unanswered["groups"]),
            feedback_shown=int(raw["feedback_shown"]),
            stats_days=int(raw["stats_days"]),
            mass_removal_share=float(raw.get("mass_removal_share", 0.2)),
        )


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that ask the same thing: how many, in which languages, and the first one as example."""

    count: int
    languages: dict[str, int]
    example: str
    members: tuple[int, ...]
    """Indexes of the grouped questions in the input."""


def group_questions(
    texts: Sequence[str], languages: Sequence[str], vectors: np.ndarray, threshold: float
) -> list[QuestionGroup]:
    """Greedy clustering by cosine similarity (rows of ``vectors`` are unit length).

    Each question joins the group whose mean direction it is most similar to, when that similarity
    reaches ``threshold``; otherwise it starts a group. Largest groups first, ties in input order.
    """
    sums: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, vector in enumerate(vectors):
        best, best_score = -1, threshold
        for g, total in enumerate(sums):
            score = float(vector @ total) / (float(np.linalg.norm(total)) or 1.0)
            if score >= best_score:
                best, best_score = g, score
        if best < 0:
            sums.append(vector.astype(np.float64).copy())
            members.append([i])
        else:
            sums[best] += vector
            members[best].append(i)
    groups = [
        QuestionGroup(
            count=len(m),
            languages=dict(sorted(Counter(languages[i] for i in m).items(), key=lambda kv: (-kv[1], kv[0]))),
            example=texts[m[0]],
            members=tuple(m),
        )
        for m in members
    ]
    return sorted(groups, key=lambda g: (-g.count, g.members[0]))


@dataclass(frozen=True)
class DislikedView:
    question: Disliked
    titles: tuple[str, ...]


@dataclass(frozen=True)
class Stats:
    """Usage figures over the whole history, and per day over the last days."""

    totals: Totals
    users_by_language: dict[str, int]
    days: list[date]
    questions_per_day: dict[str, list[int]]
    """Per language, one count per day of ``days``."""
    answered_per_day: list[int]

    @property
    def answered_share(self) -> float:
        return self.totals.answered / self.totals.questions if self.totals.questions else 0.0


def _daily(
    rows: list[DayCount], first: date, days: int
) -> tuple[list[date], dict[str, list[int]], list[int]]:
    dates = [first + timedelta(days=i) for i in range(days)]
    position = {d.isoformat(): i for i, d in enumerate(dates)}
    per_language: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    answered = [0] * days
    for row in rows:
        i = position.get(row.day)
        if i is None:
            continue
        per_language[row.language][i] += row.questions
        answered[i] += row.answered
    return dates, dict(per_language), answered


LANGUAGE_COLOURS = {"en": "#4C72B0", "zh": "#DD8452", "th": "#55A868"}


def render_chart(stats: Stats, title: str = "Questions per day") -> bytes:
    """A PNG: questions per day stacked by language, and the share answered on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.2), dpi=100)
    axes = figure.add_subplot()
    labels = [d.strftime("%m-%d") for d in stats.days]
    positions = np.arange(len(stats.days))
    bottom = np.zeros(len(stats.days))
    for lang in sorted(stats.questions_per_day):
        counts = np.array(stats.questions_per_day[lang], dtype=float)
        axes.bar(positions, counts, bottom=bottom, label=lang, color=LANGUAGE_COLOURS.get(lang))
        bottom += counts
    axes.set_xticks(positions, labels, rotation=45, fontsize=8)
    axes.set_ylabel("questions")
    axes.set_title(title)
    share = axes.twinx()
    totals = bottom
    answered = np.array(stats.answered_per_day, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(totals > 0, answered / np.maximum(totals, 1) * 100, np.nan)
    share.plot(positions, ratio, color="black", marker="o", linewidth=1.5, label="answered %")
    share.set_ylim(0, 105)
    share.set_ylabel("answered %")
    handles, names = axes.get_legend_handles_labels()
    more, more_names = share.get_legend_handles_labels()
    axes.legend(handles + more, names + more_names, loc="upper left", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class InsightsService:
    """The staff's views; every query is read-only."""

    def __init__(
        self,
        db: Database,
        holder: EngineHolder,
        config: AdminConfig | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = db.insights
        self._knowledge = db.knowledge
        self._holder = holder
        self.config = config or AdminConfig.load()
        self._now = now

    async def unanswered(self) -> tuple[list[QuestionGroup], int]:
        """Groups of recent unanswered questions (largest first, at most ``groups``) and how many
        questions they were made from."""
        since = self._now() - timedelta(days=self.config.unanswered_days)
        missed: list[MissedQuestion] = await self._repo.missed(since, self.config.unanswered_questions)
        if not missed:
            return [], 0
        texts = [q.text for q in missed]
        embedder = self._holder.current.embedder
        vectors = await asyncio.to_thread(embedder.embed_queries, [question_form(t) for t in texts])
        groups = group_questions(texts, [q.language for q in missed], vectors, self.config.similarity)
        return groups[: self.config.groups], len(missed)

    async def disliked(self, lang: str) -> list[DislikedView]:
        """Answers voted 👎, newest vote first, with the titles of the entries they came from."""
        from index.composer import entry_title

        kb = self._holder.current.kb
        found = await self._repo.disliked(self.config.feedback_shown)
        views = []
        for item in found:
            titles = tuple(
                entry_title(kb.by_id[s], lang) if s in kb.by_id else s  # type: ignore[arg-type]
                for s in item.sources
            )
            views.append(DislikedView(item, titles))
        return views

    async def stats(self) -> Stats:
        days = self.config.stats_days
        today = self._now().astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        since = datetime(first.year, first.month, first.day, tzinfo=UTC)
        rows = await self._repo.per_day(since)
        dates, per_language, answered = _daily(rows, first, days)
        return Stats(
            totals=await self._repo.totals(),
            users_by_language=await self._repo.users_by_language(),
            days=dates,
            questions_per_day=per_language,
            answered_per_day=answered,
        )

    async def chart(self, stats: Stats) -> bytes:
        """The PNG of :func:`render_chart`, drawn off the event loop."""
        return await asyncio.to_thread(render_chart, stats)

    async def activations(self, limit: int) -> list[Activation]:
        """The latest knowledge versions applied or rolled back, newest first."""
        return await self._knowledge.activations(limit)

    def export_rows(self, since: datetime) -> AsyncIterator[tuple]:
        """Questions asked since ``since`` with how they were answered and their votes, oldest first."""
        return self._repo.export_rows(since)
