"""The ``summit-bot`` command line: build and check the index, ask, chat, evaluate, and run the bot."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from dotenv import load_dotenv

from bot.config import ConfigError, Settings, early_log_level
from bot.schedule.cli import exit_with_problems, schedule_app
from index.knowledge import KnowledgeError
from index.types import LANGS, Lang

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.services import Services
    from bot.storage.announcements import AnnouncementRow

app = typer.Typer(
    help="summit-bot: a multilingual conference assistant.", no_args_is_help=True, rich_markup_mode=None
)
index_app = typer.Typer(
    help="Build or check the knowledge index.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(index_app, name="index")
app.add_typer(schedule_app, name="schedule")

KnowledgeOpt = Annotated[
    Path | None, typer.Option("--knowledge", help="Knowledge directory [env KNOWLEDGE_DIR, else ./knowledge]")
]
DataOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory [env SUMMIT_BOT_DATA_DIR, else ./data]")
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Embedder: use-multilingual or sentence-transformers:<name|path>"),
]
LangOpt = Annotated[
    str, typer.Option("--lang", help="Language for text whose script says nothing (th, zh, en)")
]


def _settings(
    *,
    data_dir: Path | None = None,
    knowledge: Path | None = None,
    model: str | None = None,
    require_token: bool = False,
) -> Settings:
    """Settings from the environment and .env with the command's options over them (the one way to find
    the data and knowledge directories), or a readable error and exit code 2."""
    from bot.app_context import load_settings

    try:
        return load_settings(
            data_dir=data_dir, knowledge_dir=knowledge, embedding_model=model, require_token=require_token
        )
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _knowledge_failed(exc: KnowledgeError, where: str) -> NoReturn:
    """List every problem of the knowledge files and exit with status 1."""
    exit_with_problems(f"{where}: {len(exc.problems)} problem(s):", exc.problems, exc)


def _token_rejected() -> NoReturn:
    """Say that the Bot API refused the token (never printing it) and exit with status 2."""
    typer.echo("error: the Bot API rejected TELEGRAM_BOT_TOKEN; check it with @BotFather", err=True)
    raise typer.Exit(2) from None


def _fallback(lang: str) -> Lang:
    if lang not in LANGS:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGS)}")
    return lang  # type: ignore[return-value]


def _load_engine(knowledge: Path | None, data_dir: Path | None, model: str | None, progress: bool = False):
    """The engine of the knowledge being served (the version an admin applied in the running bot, else
    the shipped files) or of ``--knowledge``; knowledge errors printed readably instead of a traceback."""
    from bot.app_context import load_engine

    bar = None
    callback = None
    if progress:
        from tqdm import tqdm

        def callback(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="passage", desc="embedding", file=sys.stderr)
            bar.update(done - bar.n)

    try:
        return load_engine(
            _settings(data_dir=data_dir, model=model), knowledge_dir=knowledge, progress=callback
        )
    except KnowledgeError as exc:
        _knowledge_failed(exc, "The knowledge files")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if bar is not None:
            bar.close()


@index_app.command("build")
def index_build(knowledge: KnowledgeOpt = None, data_dir: DataOpt = None, model: ModelOpt = None) -> None:
    """Validate the knowledge and build the search index (only what changed is re-embedded)."""
    started = time.perf_counter()
    # The files on the server (KNOWLEDGE_DIR), which /reload offers next: not the version being served.
    files = _settings(knowledge=knowledge).knowledge_dir
    engine = _load_engine(files, data_dir, model, progress=True)
    report = engine.build_report
    state = "rebuilt" if report and report.rebuilt else "up to date"
    typer.echo(
        f"Index {engine.version}: {state}; {len(engine.kb.by_id)} entries, {len(engine.passages)} passages"
        + (f" ({report.embedded} embedded, {report.reused} reused)" if report else "")
        + f"; {time.perf_counter() - started:.2f}s"
    )


@index_app.command("check")
def index_check(knowledge: KnowledgeOpt = None) -> None:
    """Validate the knowledge files; exit 1 with every problem listed."""
    from index.knowledge import load_knowledge

    directory = _settings(knowledge=knowledge).knowledge_dir
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        _knowledge_failed(exc, str(directory))
    counts = f"{len(kb.facts)} facts, {len(kb.sessions)} sessions, {len(kb.venues)} venues, "
    counts += f"{len(kb.routes)} routes, {len(kb.faq)} FAQ entries"
    typer.echo(f"{directory}: valid ({counts}).")
    _session_facts_report(directory)


def _session_facts_report(directory: Path) -> None:
    """Free text that states a session's time, day or place (see :mod:`index.consistency`); exit 1 on a
    contradiction."""
    from index.consistency import check
    from index.knowledge import read_documents

    findings = check(read_documents(directory))
    copies = [f for f in findings if f.kind == "copy"]
    contradictions = [f for f in findings if f.kind == "contradiction"]
    if copies:
        typer.echo(f"{len(copies)} text(s) write out a session's fact instead of referring to it:")
        for finding in copies:
            typer.echo(f"  - {finding}")
    if contradictions:
        typer.echo(f"{len(contradictions)} text(s) contradict a session:", err=True)
        for finding in contradictions:
            typer.echo(f"  - {finding}", err=True)
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[
        list[str] | None, typer.Argument(help="The question (omit with --json to read stdin)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per question, one per line")
    ] = False,
    lang: LangOpt = "en",
    knowledge: KnowledgeOpt = None,
    data_dir: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Ask one question, or with --json and no question, every line of standard input."""
    fallback = _fallback(lang)
    if question:
        questions = [" ".join(question)]
    elif as_json:
        questions = [line.rstrip("\r\n") for line in sys.stdin]
    else:
        raise typer.BadParameter("give a question, or use --json and pipe questions on standard input")
    engine = _load_engine(knowledge, data_dir, model)
    for answer in engine.ask_many(questions, fallback):
        if as_json:
            record = {
                "question": answer.question,
                "language": answer.language,
                "answered": answer.answered,
                "answer": answer.text,
                "sources": answer.sources,
                "score": float(answer.score),
                "outcome": answer.outcome,
                "suggestions": [s.entry_id for s in answer.suggestions],
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(answer.text)


@app.command()
def chat(
    lang: LangOpt = "en", knowledge: KnowledgeOpt = None, data_dir: DataOpt = None, model: ModelOpt = None
) -> None:
    """Chat with the engine in the terminal (empty line or Ctrl-D to leave)."""
    from datetime import UTC

    from index.followup import topic_after

    fallback = _fallback(lang)
    engine = _load_engine(knowledge, data_dir, model)
    typer.echo(f"Ask about {engine.kb.event.short_name.en} in Thai, Chinese or English. Empty line to quit.")
    topic = None  # what the last answer was about, for follow-up questions ("and from Shanghai?")
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if not question.strip():
            break
        now = datetime.now(UTC)
        recent = topic if topic is not None and topic.fresh(now) else None
        answer = engine.ask(question, fallback, recent)
        topic = topic_after(answer, now, recent, engine.kb) or topic
        typer.echo(answer.text)
        if answer.suggestions and answer.outcome != "clarify":  # a clarification lists them already
            typer.echo("  ~ " + " | ".join(s.title for s in answer.suggestions))
        typer.echo("")


@app.command("eval")
def evaluate_cmd(
    file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="Question set (JSON lines); not with --ablate"),
    ] = None,
    show_failures: Annotated[
        bool, typer.Option("--failures", help="List the questions answered wrongly")
    ] = False,
    heldout: Annotated[
        bool,
        typer.Option(
            "--heldout/--no-heldout",
            help="Also score a decision model fitted without this set (on the other calibration sets)",
        ),
    ] = True,
    ablate: Annotated[
        bool,
        typer.Option(
            "--ablate",
            help="For every rule, the held-out change in answered right and declined when it is off "
            "(over every labelled set, or the sets given with --set)",
        ),
    ] = False,
    sets: Annotated[
        list[Path] | None,
        typer.Option("--set", exists=True, dir_okay=False, help="A labelled set for --ablate (repeatable)"),
    ] = None,
    rules: Annotated[
        list[str] | None, typer.Option("--rule", help="Ablate only this rule (repeatable)")
    ] = None,
    knowledge: KnowledgeOpt = None,
    data_dir: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Score the engine on a question set, beside BM25-only and dense-only baselines and a held-out fit."""
    from collections import Counter

    from index.evaluation import MODES, evaluate, format_reports, load_cases

    if ablate:
        _ablate(sets or ([file] if file else []), rules, knowledge, data_dir, model)
        return
    if file is None:
        raise typer.BadParameter("give a question set (or use --ablate)")
    try:
        cases = load_cases(file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = _load_engine(knowledge, data_dir, model)
    reports = [evaluate(engine, cases, mode) for mode in MODES]
    note = ""
    if heldout:
        from index.calibration import heldout_report

        report, used = heldout_report(engine, cases, file)
        if used:
            reports.append(report)
            note = f"held-out: the decision model refitted on {', '.join(used)} (without this set)"
        else:
            note = "held-out: no other calibration set found, column left out"
    from index.calibration import training_sets

    typer.echo(f"{len(cases)} questions, index {engine.version}\n")
    typer.echo(format_reports(reports))
    if note:
        typer.echo(note)
    if file.resolve() in training_sets(engine.gate):
        typer.echo(
            "the shipped decision model was fitted on this set: its columns are tuned figures, not held out"
        )
    outcomes = Counter(o.answer.outcome for o in reports[0].outcomes)
    typer.echo(
        "outcomes: " + ", ".join(f"{k} {outcomes.get(k, 0)}" for k in ("answer", "clarify", "decline", "gap"))
    )
    if show_failures:
        for outcome in reports[0].failures:
            a = outcome.answer
            typer.echo(f"\n[{outcome.case.id}] {outcome.case.question}")
            typer.echo(f"  {a.outcome} ({a.reason}, {a.score}) {a.sources or [a.best]}")
            typer.echo("  " + a.text.replace("\n", " ")[:200])


def _ablate(
    files: list[Path],
    rules: list[str] | None,
    knowledge: Path | None,
    data_dir: Path | None,
    model: str | None,
) -> None:
    from index.ablation import ablate, default_sets, format_ablation
    from index.rules import RULE_NAMES

    unknown = sorted(set(rules or ()) - set(RULE_NAMES))
    if unknown:
        raise typer.BadParameter(f"no such rule: {', '.join(unknown)} (rules: {', '.join(RULE_NAMES)})")
    files = files or default_sets()
    if len(files) < 2:
        raise typer.BadParameter("ablation needs at least two labelled sets (one is left out at a time)")
    engine = _load_engine(knowledge, data_dir, model)
    typer.echo(f"{len(files)} sets: {', '.join(f.name for f in files)}; index {engine.version}")
    typer.echo("held out: each set decided by a model refitted on the others, with the rule off\n")
    typer.echo(format_ablation(ablate(engine, files, rules)))


@app.command()
def calibrate(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Labelled question sets")],
    write: Annotated[bool, typer.Option("--write", help="Save the model to index/gate.yaml")] = False,
    knowledge: KnowledgeOpt = None,
    data_dir: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Fit the answer decision on labelled question sets; print held-out (leave-one-set-out) figures."""
    from index.calibration import PROJECT, cross_validate, fit, observe
    from index.evaluation import load_cases
    from index.gate import GateModel

    engine = _load_engine(knowledge, data_dir, model)
    observations = []
    for file in files:
        observations.extend(observe(engine, load_cases(file), file.name))
    names = []
    for file in files:
        path = file.resolve()
        names.append(
            str(path.relative_to(PROJECT)) if path.is_relative_to(PROJECT) else os.path.relpath(path, PROJECT)
        )
    result = fit(observations, engine.gate, names)
    typer.echo(
        f"{result.total} questions: {result.right} answered right, {result.wrong} answered wrong, "
        f"{result.declined_answerable} answerable not answered, "
        f"{result.declined_out_of_scope} out-of-scope not answered"
    )
    typer.echo(f"  answer_min {result.model.answer_min:g}, clarify_min {result.model.clarify_min:g}")
    held = cross_validate(observations, engine.gate)
    typer.echo("\nheld out (each set decided by a model fitted on the others):")
    typer.echo(f"{'set':<26}{'lang':<6}{'answered right':>16}{'out-of-scope declined':>24}")
    for name in [f.name for f in files]:
        for lang in LANGS:
            rows = [
                (o, d) for o, d in zip(observations, held, strict=True) if o.group == name and o.lang == lang
            ]
            answerable = [(o, d) for o, d in rows if o.answerable]
            out = [(o, d) for o, d in rows if not o.answerable]
            right = sum(d == "answer" and o.top_right for o, d in answerable)
            declined = sum(d != "answer" for _, d in out)
            a = f"{right}/{len(answerable)}" if answerable else "-"
            b = f"{declined}/{len(out)}" if out else "-"
            typer.echo(f"{name:<26}{lang:<6}{a:>16}{b:>24}")
    if write:
        target = GateModel.path_for(engine.embedder.id, _settings(data_dir=data_dir).data_dir)
        result.model.save(target)
        typer.echo(f"written to {target}")


@app.command()
def run(
    webhook: Annotated[
        bool, typer.Option("--webhook", help="Receive updates by webhook instead of polling")
    ] = False,
) -> None:
    """Start the Telegram bot (long polling by default)."""
    from telegram.error import InvalidToken, TelegramError

    from bot.storage.database import SchemaVersionError

    settings = _settings(require_token=True)
    _check_before_connecting(settings, webhook)
    _preflight(settings)
    from bot.telegram.app import run_bot  # after the checks: a fault is reported without the heavy imports

    if settings.webapp_url:
        typer.echo(
            f"Programme Mini App: {settings.webapp_url} (served on {settings.webhook_listen}:"
            f"{settings.webhook_port}{settings.webapp_path}/; it is the chats' menu button)"
        )
    try:
        run_bot(settings, webhook=webhook)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except InvalidToken:
        _token_rejected()
    except KnowledgeError as exc:
        _knowledge_failed(exc, "The knowledge files")
    except (SchemaVersionError, TelegramError, OSError) as exc:  # OSError: e.g. the HTTP port is taken
        message = str(exc).replace(settings.require_token(), "<token>")
        typer.echo(f"error: the bot could not start: {message}", err=True)
        raise typer.Exit(1) from None


# --- Start-up checks and the privacy purge ---------------------------------------------------------


def _check_before_connecting(settings: Settings, webhook: bool) -> None:
    """What the settings must give before the first network call: WEBHOOK_URL for a webhook, and an
    embedder spec that names a backend (nothing is loaded yet); else one line and exit 2."""
    from index.embedders import create_embedder

    try:
        if webhook:
            settings.require_webhook()
        create_embedder(settings.embedding_model)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(f"error: EMBEDDING_MODEL: {exc}", err=True)
        raise typer.Exit(2) from None


def _preflight(settings: Settings) -> None:
    """Check the data directory, database and Bot API before starting; one line and exit 2 on a fault."""
    from telegram.error import InvalidToken

    from bot.logs import hide_secret
    from bot.startup import StartupError, preflight

    hide_secret(settings.require_token())
    try:
        preflight(settings)
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except InvalidToken:
        _token_rejected()


@app.command()
def purge(
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Delete questions older than this [env QUESTION_RETENTION_DAYS]"),
    ] = None,
    data_dir: DataOpt = None,
) -> None:
    """Delete stored questions (and their feedback) older than the retention time, now."""
    import asyncio

    from bot.app_context import services_for
    from bot.startup import StartupError, check_database, prepare_data_dir

    settings = _settings(data_dir=data_dir)
    path = settings.database_path
    if not path.exists():
        typer.echo(f"No database at {path}: nothing to delete.")
        return
    try:
        prepare_data_dir(settings.data_dir)
        check_database(path)
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    retention = timedelta(days=days or settings.question_retention_days)

    async def run_purge() -> int:
        async with services_for(settings) as svc:
            return (await svc.privacy.purge(retention)).questions

    deleted = asyncio.run(run_purge())
    typer.echo(f"Deleted {deleted} question(s) older than {retention.days} day(s) from {path}.")


# --- Usage figures and exports for the organisers ------------------------------------------------


@asynccontextmanager
async def _existing_services(data_dir: Path | None) -> AsyncIterator[Services]:
    """The services on the data directory's database, which must exist (exit 1 otherwise)."""
    from bot.app_context import NoDatabase, services_for

    settings = _settings(data_dir=data_dir)
    try:
        async with services_for(settings, must_exist=True) as svc:
            yield svc
    except NoDatabase:
        typer.echo(
            f"error: no database at {settings.database_path}; the bot has not run with this data directory",
            err=True,
        )
        raise typer.Exit(1) from None


@app.command()
def stats(data_dir: DataOpt = None) -> None:
    """Usage figures: users by language, questions per day, share answered, feedback, knowledge versions."""
    import asyncio

    async def collect():
        async with _existing_services(data_dir) as svc:
            figures = await svc.insights.stats()
            return figures, await svc.insights.activations(5), svc.knowledge.store.current()

    figures, activations, current = asyncio.run(collect())
    t = figures.totals
    by_language = ", ".join(f"{k} {n}" for k, n in figures.users_by_language.items())
    typer.echo(f"users: {t.users}" + (f" ({by_language})" if by_language else ""))
    typer.echo(f"subscribed to announcements: {t.subscribers}; blocked the bot: {t.blocked}")
    typer.echo(f"questions: {t.questions}; answered: {t.answered} ({figures.answered_share:.0%})")
    typer.echo(f"feedback: {t.up} helpful, {t.down} not helpful")
    languages = sorted(figures.questions_per_day)
    typer.echo("\nday         " + "".join(f"{lang:>6}" for lang in languages) + "  answered")
    for i, day in enumerate(figures.days):
        counts = [figures.questions_per_day[lang][i] for lang in languages]
        total = sum(counts)
        share = f"{figures.answered_per_day[i] / total:.0%}" if total else "-"
        typer.echo(f"{day.isoformat()}  " + "".join(f"{n:>6}" for n in counts) + f"  {share:>8}")
    typer.echo(f"\nknowledge served: {current.id if current else 'as shipped'}")
    for a in activations:
        typer.echo(
            f"  {a.at:%Y-%m-%d %H:%M} {a.action:<8} {a.version:<6} by {a.admin_id} in {a.seconds:.1f}s"
        )


@app.command()
def export(
    since: Annotated[str, typer.Option("--since", help="First day to export (YYYY-MM-DD, UTC)")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file to write (default: standard output)")
    ] = None,
    data_dir: DataOpt = None,
) -> None:
    """Questions asked since a day, with how they were answered and their 👍/👎 votes, as CSV."""
    import asyncio
    import csv
    import datetime as dt

    try:
        day = dt.date.fromisoformat(since)
    except ValueError:
        raise typer.BadParameter("--since must be a date written YYYY-MM-DD") from None
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    columns = [
        "id",
        "asked_at",
        "language",
        "answered",
        "score",
        "sources",
        "question",
        "helpful",
        "unhelpful",
    ]

    async def write(stream) -> int:
        count = 0
        async with _existing_services(data_dir) as svc:
            writer = csv.writer(stream)
            writer.writerow(columns)
            async for qid, at, lang, answered, score, sources, text, up, down in svc.insights.export_rows(
                start
            ):
                writer.writerow(
                    [qid, at, lang, answered, score, " ".join(json.loads(sources)), text, up, down]
                )
                count += 1
        return count

    if output is None:
        asyncio.run(write(sys.stdout))
        return
    with output.open("w", encoding="utf-8", newline="") as stream:
        count = asyncio.run(write(stream))
    typer.echo(f"{count} questions written to {output}", err=True)


@app.command()
def backup(
    file: Annotated[
        Path, typer.Argument(dir_okay=False, help="Where to write the copy (replaced if it exists)")
    ],
    data_dir: DataOpt = None,
) -> None:
    """Copy the bot's database to FILE, safely while the bot runs (SQLite online backup)."""
    from bot.storage.backup import BackupError, backup_database

    source = _settings(data_dir=data_dir).database_path
    try:
        report = backup_database(source, file)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    rows = ", ".join(f"{name} {count}" for name, count in report.tables.items())
    typer.echo(
        f"Backed up {source} to {report.target} ({report.bytes / 1e6:.1f} MB, schema version "
        f"{report.schema_version}, {report.seconds:.2f}s). Rows: {rows}."
    )


# --- Organisers' announcements from the server ----------------------------------------------------


@app.command()
def announce(
    text: Annotated[
        str | None,
        typer.Argument(
            help="The announcement (Telegram HTML; a version per language on lines starting "
            "[th], [zh] or [en])"
        ),
    ] = None,
    th: Annotated[str | None, typer.Option("--th", help="The Thai version")] = None,
    zh: Annotated[str | None, typer.Option("--zh", help="The Chinese version")] = None,
    en: Annotated[str | None, typer.Option("--en", help="The English version")] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help='When to send it, in the event\'s time zone: "YYYY-MM-DD HH:MM", or "HH:MM" for the '
            "next such time",
        ),
    ] = None,
) -> None:
    """Queue an announcement to every subscriber; the running bot sends it (now, or --at a time)."""
    import asyncio
    from datetime import UTC

    from bot.services.announcements import (
        AnnouncementError,
        check_html,
        next_clock_time,
        parse_local_time,
        split_versions,
    )
    from bot.storage.announcements import Version

    for label, given in (("text", text), ("--en text", en), ("--zh text", zh), ("--th text", th)):
        problem = check_html(given) if given else None
        if problem:
            typer.echo(f"error: the {label} is not valid Telegram HTML: {problem}", err=True)
            raise typer.Exit(2)

    async def store() -> tuple[int, int, datetime, str, ZoneInfo]:
        async with _announcement_services() as svc:
            service = svc.announcements
            versions: list[Version] = []
            try:
                if text:
                    versions.extend(split_versions(text))
                for lang, version in (("en", en), ("zh", zh), ("th", th)):
                    if version is None:
                        continue
                    if any(v.lang == lang for v in versions):
                        raise AnnouncementError("announce.error_twice", language=lang)
                    versions.extend(Version(lang, v.html) for v in split_versions(version))
                if not versions:
                    raise AnnouncementError("announce.error_empty")
                zone = service.zone
                now = datetime.now(UTC)
                due = (next_clock_time(at, zone, now) or parse_local_time(at, zone)) if at else now
                if at and due <= now:
                    raise AnnouncementError(
                        "announce.error_past", now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                    )
            except AnnouncementError as exc:
                message = svc.texts("en", exc.key, **exc.values).replace("<code>", "").replace("</code>", "")
                typer.echo(f"error: {message}", err=True)
                raise typer.Exit(2) from None
            row, subscribers = await service.queue(versions, due)
            languages = ", ".join(v.lang or "all languages" for v in versions)
            return row.id, subscribers, due, languages, zone

    announcement_id, subscribers, due, languages, zone = asyncio.run(store())
    when = f"at {due.astimezone(zone).strftime('%Y-%m-%d %H:%M')} ({zone.key} time)" if at else "now"
    typer.echo(
        f"Announcement #{announcement_id} queued to go out {when} ({languages}); "
        f"{subscribers} people are subscribed today. The running bot sends it."
    )


def _local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2023-11-08 08:30 UTC+8``: the time in the event's zone, with the zone's offset."""
    local = moment.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    hours = f"{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    return f"{local:%Y-%m-%d %H:%M} UTC{sign}{hours}"


def _announcement_times(row: AnnouncementRow, zone: ZoneInfo) -> str:
    """When an announcement is (or was) due, started, finished or cancelled, in the event's zone."""
    due = _local_time(row.due_at, zone) if row.due_at else None
    if row.state == "scheduled":
        return f"for {due}" if due else ""
    if row.state == "cancelled":
        parts = [f"scheduled for {due}"] if due else []
        if row.finished_at:
            parts.append(f"cancelled at {_local_time(row.finished_at, zone)}")
        return f"({', '.join(parts)})" if parts else ""
    if row.state in ("sending", "stopping") and row.started_at:
        return f"since {_local_time(row.started_at, zone)}"
    if row.state in ("done", "stopped") and row.finished_at:
        return f"at {_local_time(row.finished_at, zone)}"
    return ""


@app.command()
def announcements(
    cancel: Annotated[
        int | None, typer.Option("--cancel", help="Cancel a scheduled announcement, or stop one being sent")
    ] = None,
) -> None:
    """List recent and scheduled announcements with their delivery counts; or cancel one."""
    import asyncio

    async def work() -> int:
        async with _announcement_services() as svc:
            service = svc.announcements
            if cancel is not None:
                done = await service.request_cancel(cancel)
                if done == "cancelled":
                    typer.echo(f"Announcement #{cancel} is cancelled; nobody received it.")
                    return 0
                if done == "stopping":
                    typer.echo(
                        f"Announcement #{cancel} is being stopped: the running bot stops it within seconds."
                    )
                    return 0
                row = await service.get(cancel)
                state = f"it is {row.state}" if row else "there is no such announcement"
                typer.echo(f"error: announcement #{cancel} cannot be cancelled: {state}.", err=True)
                return 1
            listed = await service.listing()
            if not listed:
                typer.echo("No announcements yet.")
            for item in listed:
                row, c = item.announcement, item.counts
                when = _announcement_times(row, service.zone)
                first = " ".join(row.versions[0].html.split())
                first = first if len(first) <= 60 else first[:59] + "…"
                figures = (
                    f"  sent {c['sent']}, failed {c['failed']}, blocked {c['blocked']}, "
                    f"remaining {c['pending']}, cancelled {c['cancelled']}"
                    if row.state in ("sending", "stopping", "done", "stopped")
                    else ""
                )
                langs = ",".join(v.lang or "*" for v in row.versions)
                typer.echo(f"#{row.id} {row.state}{when and ' ' + when} [{langs}] {first}{figures}")
            return 0

    raise typer.Exit(asyncio.run(work()))


@asynccontextmanager
async def _announcement_services() -> AsyncIterator[Services]:
    """The services of the data directory; the announcements in the event's time zone (from the served
    knowledge, whose errors are listed)."""
    from bot.app_context import services_for

    settings = _settings()
    try:
        async with services_for(settings) as svc:
            yield svc
    except KnowledgeError as exc:
        _knowledge_failed(exc, "The knowledge files")


def main() -> None:
    """Entry point of the ``summit-bot`` console script and ``python -m bot``."""
    from bot.logs import configure_logging

    os.umask(0o077)  # what the bot writes (data, backups, exports) holds what users wrote: owner only
    load_dotenv(".env")
    configure_logging(early_log_level())  # an invalid level is reported with the other settings
    app()
