"""The ``summit-bot`` command line: build and check the index, ask, chat, evaluate, and run the bot."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from dotenv import load_dotenv

from bot.config import ConfigError, Settings
from index.knowledge import KnowledgeError
from index.types import LANGS, Lang

app = typer.Typer(help="summit-bot: a multilingual conference assistant.", no_args_is_help=True)
index_app = typer.Typer(help="Build or check the knowledge index.", no_args_is_help=True)
app.add_typer(index_app, name="index")

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


def _settings(*, require_token: bool = False) -> Settings:
    """Settings from the environment and .env, or a readable error and exit code 2."""
    try:
        return Settings.from_env(require_token=require_token)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _knowledge_dir(option: Path | None) -> Path:
    return option or _settings().knowledge_dir


def _data_dir(option: Path | None) -> Path:
    return option or _settings().data_dir


def _knowledge_failed(exc: KnowledgeError, where: str) -> NoReturn:
    """List every problem of the knowledge files and exit with status 1."""
    typer.echo(f"{where}: {len(exc.problems)} problem(s):", err=True)
    for problem in exc.problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1) from exc


def _fallback(lang: str) -> Lang:
    if lang not in LANGS:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGS)}")
    return lang  # type: ignore[return-value]


def _load_engine(knowledge: Path | None, data_dir: Path | None, model: str | None, progress: bool = False):
    """Load the engine, printing knowledge errors readably instead of a traceback."""
    from index.engine import Engine

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
        model = model or _settings().embedding_model
        return Engine.load(_knowledge_dir(knowledge), _data_dir(data_dir), model, progress=callback)
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
    engine = _load_engine(knowledge, data_dir, model, progress=True)
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

    directory = _knowledge_dir(knowledge)
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        _knowledge_failed(exc, str(directory))
    counts = f"{len(kb.facts)} facts, {len(kb.sessions)} sessions, {len(kb.venues)} venues, "
    counts += f"{len(kb.routes)} routes, {len(kb.faq)} FAQ entries"
    typer.echo(f"{directory}: valid ({counts}).")


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
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(answer.text)


@app.command()
def chat(
    lang: LangOpt = "en", knowledge: KnowledgeOpt = None, data_dir: DataOpt = None, model: ModelOpt = None
) -> None:
    """Chat with the engine in the terminal (empty line or Ctrl-D to leave)."""
    fallback = _fallback(lang)
    engine = _load_engine(knowledge, data_dir, model)
    typer.echo(f"Ask about {engine.kb.event.short_name.en} in Thai, Chinese or English. Empty line to quit.")
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if not question.strip():
            break
        answer = engine.ask(question, fallback)
        typer.echo(answer.text)
        if answer.suggestions:
            typer.echo("  ~ " + " | ".join(s.title for s in answer.suggestions))
        typer.echo("")


@app.command("eval")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Question set (JSON lines)")],
    show_failures: Annotated[
        bool, typer.Option("--failures", help="List the questions answered wrongly")
    ] = False,
    knowledge: KnowledgeOpt = None,
    data_dir: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Score the engine on a question set, beside BM25-only and dense-only baselines."""
    from index.evaluation import MODES, evaluate, format_reports, load_cases

    try:
        cases = load_cases(file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = _load_engine(knowledge, data_dir, model)
    reports = [evaluate(engine, cases, mode) for mode in MODES]
    typer.echo(f"{len(cases)} questions, index {engine.version}\n")
    typer.echo(format_reports(reports))
    if show_failures:
        for outcome in reports[0].failures:
            a = outcome.answer
            state = "answered" if a.answered else "declined"
            typer.echo(f"\n[{outcome.case.id}] {outcome.case.question}")
            typer.echo(f"  {state} ({a.reason}, {a.score}) {a.sources}")
            typer.echo("  " + a.text.replace("\n", " ")[:200])


@app.command()
def calibrate(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Labelled question sets")],
    write: Annotated[bool, typer.Option("--write", help="Save the thresholds to index/gate.yaml")] = False,
    knowledge: KnowledgeOpt = None,
    data_dir: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Choose the abstention gate's thresholds from labelled question sets."""
    from dataclasses import asdict

    from index.calibration import calibrate as run_calibration
    from index.calibration import observe
    from index.evaluation import load_cases
    from index.gate import Thresholds

    engine = _load_engine(knowledge, data_dir, model)
    cases = [case for file in files for case in load_cases(file)]
    result = run_calibration(observe(engine, cases), engine.thresholds)
    typer.echo(
        f"{result.total} questions: {result.right} answered right, {result.wrong} answered wrong, "
        f"{result.declined_answerable} answerable declined, "
        f"{result.declined_out_of_scope} out-of-scope declined"
    )
    for key, value in asdict(result.thresholds).items():
        typer.echo(f"  {key}: {value:g}")
    if write:
        target = Thresholds.path_for(engine.embedder.id, _data_dir(data_dir))
        result.thresholds.save(target)
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
    from bot.telegram.app import run_bot

    settings = _settings(require_token=True)
    try:
        run_bot(settings, webhook=webhook)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except InvalidToken:
        typer.echo("error: the Bot API rejected TELEGRAM_BOT_TOKEN; check it with @BotFather", err=True)
        raise typer.Exit(2) from None
    except KnowledgeError as exc:
        _knowledge_failed(exc, "The knowledge files")
    except (SchemaVersionError, TelegramError) as exc:
        message = str(exc).replace(settings.require_token(), "<token>")
        typer.echo(f"error: the bot could not start: {message}", err=True)
        raise typer.Exit(1) from None


# --- Organisers' announcements from the server ----------------------------------------------------


def _event_zone(settings: Settings) -> str:
    from index.knowledge import load_knowledge

    try:
        return load_knowledge(settings.knowledge_dir).event.timezone
    except KnowledgeError as exc:
        _knowledge_failed(exc, "The knowledge files")


@app.command()
def announce(
    text: Annotated[
        str | None, typer.Argument(help="The announcement (Telegram HTML; [th]/[zh]/[en] lines per language)")
    ] = None,
    th: Annotated[str | None, typer.Option("--th", help="The Thai version")] = None,
    zh: Annotated[str | None, typer.Option("--zh", help="The Chinese version")] = None,
    en: Annotated[str | None, typer.Option("--en", help="The English version")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help='When to send it, "YYYY-MM-DD HH:MM" in the event\'s time zone')
    ] = None,
) -> None:
    """Queue an announcement to every subscriber; the running bot sends it (now, or --at a time)."""
    import asyncio
    from datetime import UTC, datetime

    from bot.i18n import Translator
    from bot.services.announcements import AnnouncementError, check_html, parse_local_time, split_versions
    from bot.storage.announcements_schema import AnnouncementRepository, Version
    from bot.storage.database import Database

    settings = _settings()
    texts = Translator.load()
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
        zone_name = _event_zone(settings)
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(zone_name)
        now = datetime.now(UTC)
        due = parse_local_time(at, zone) if at else now
        if at and due <= now:
            raise AnnouncementError(
                "announce.error_past", now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            )
    except AnnouncementError as exc:
        message = texts("en", exc.key, **exc.values).replace("<code>", "").replace("</code>", "")
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from None
    for label, given in (("text", text), ("--en text", en), ("--zh text", zh), ("--th text", th)):
        problem = check_html(given) if given else None
        if problem:
            typer.echo(f"error: the {label} is not valid Telegram HTML: {problem}", err=True)
            raise typer.Exit(2)

    async def store() -> tuple[int, int]:
        db = await Database.open(settings.database_path)
        try:
            repo = AnnouncementRepository(db)
            row = await repo.create(versions, state="scheduled", due_at=due)
            return row.id, len(await repo.recipients())
        finally:
            await db.close()

    announcement_id, subscribers = asyncio.run(store())
    when = f"at {due.astimezone(zone).strftime('%Y-%m-%d %H:%M')} ({zone_name} time)" if at else "now"
    languages = ", ".join(v.lang or "all languages" for v in versions)
    typer.echo(
        f"Announcement #{announcement_id} queued to go out {when} ({languages}); "
        f"{subscribers} people are subscribed today. The running bot sends it."
    )


@app.command()
def announcements(
    cancel: Annotated[
        int | None, typer.Option("--cancel", help="Cancel a scheduled announcement, or stop one being sent")
    ] = None,
) -> None:
    """List recent and scheduled announcements with their delivery counts; or cancel one."""
    import asyncio
    from zoneinfo import ZoneInfo

    from bot.storage.announcements_schema import AnnouncementRepository
    from bot.storage.database import Database

    settings = _settings()
    zone = ZoneInfo(_event_zone(settings))

    async def work() -> int:
        db = await Database.open(settings.database_path)
        try:
            repo = AnnouncementRepository(db)
            if cancel is not None:
                if await repo.cancel(cancel):
                    typer.echo(f"Announcement #{cancel} is cancelled; nobody received it.")
                    return 0
                if await repo.request_stop(cancel):
                    typer.echo(
                        f"Announcement #{cancel} is being stopped: the running bot stops it within seconds."
                    )
                    return 0
                row = await repo.get(cancel)
                state = f"it is {row.state}" if row else "there is no such announcement"
                typer.echo(f"error: announcement #{cancel} cannot be cancelled: {state}.", err=True)
                return 1
            rows = await repo.listing()
            counts = await repo.counts([row.ref for row in rows])
            if not rows:
                typer.echo("No announcements yet.")
            for row in rows:
                moment = row.due_at if row.state == "scheduled" else (row.finished_at or row.started_at)
                when = f" {moment.astimezone(zone).strftime('%Y-%m-%d %H:%M')}" if moment else ""
                first = " ".join(row.versions[0].html.split())
                first = first if len(first) <= 60 else first[:59] + "…"
                c = counts[row.ref]
                figures = (
                    f"  sent {c['sent']}, failed {c['failed']}, blocked {c['blocked']}, "
                    f"remaining {c['pending']}, cancelled {c['cancelled']}"
                    if row.state in ("sending", "stopping", "done", "stopped")
                    else ""
                )
                langs = ",".join(v.lang or "*" for v in row.versions)
                typer.echo(f"#{row.id} {row.state}{when} [{langs}] {first}{figures}")
            return 0
        finally:
            await db.close()

    raise typer.Exit(asyncio.run(work()))


def main() -> None:
    """Entry point of the ``summit-bot`` console script and ``python -m bot``."""
    load_dotenv(".env")
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "jieba", "sentence_transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app()
