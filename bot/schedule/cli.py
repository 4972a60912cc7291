"""``summit-bot schedule import`` and ``summit-bot schedule export``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from bot.schedule.model import ScheduleError
from index.knowledge import KnowledgeError
from index.types import LANGS

if TYPE_CHECKING:
    from bot.config import Settings

schedule_app = typer.Typer(help="Import, export and check the conference programme.", no_args_is_help=True)


def exit_with_problems(heading: str, problems: Sequence[str], cause: Exception) -> NoReturn:
    """Print ``heading`` and every problem, one a line, on standard error, then exit with status 1."""
    typer.echo(heading, err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1) from cause


def _settings(data_dir: Path | None = None) -> Settings:
    """The settings (through the composition root), or a readable error and exit code 2."""
    from bot.app_context import load_settings
    from bot.config import ConfigError

    try:
        return load_settings(data_dir=data_dir)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _read_source(source: str) -> tuple[str, bytes]:
    if source.lower().startswith(("http://", "https://")):
        from bot.schedule.sync import FetchError, fetch

        try:
            fetched = asyncio.run(fetch(source))
        except FetchError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        return fetched.name, fetched.data
    path = Path(source)
    if not path.is_file():
        typer.echo(f"error: {source}: no such file", err=True)
        raise typer.Exit(2)
    return path.name, path.read_bytes()


@schedule_app.command("import")
def import_cmd(
    source: Annotated[str, typer.Argument(help="schedule.json, schedule.xml, .csv or .xlsx file, or a URL")],
    knowledge: Annotated[
        Path | None, typer.Option("--knowledge", help="Knowledge directory [env KNOWLEDGE_DIR]")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only validate and show the changes")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Write without asking")] = False,
) -> None:
    """Import a programme into the knowledge directory (as schedule.yaml), after validating it.

    Every bad row, column or JSON path is listed and nothing is written. Otherwise the changes are shown,
    and the file is written; send /reload in the chat to preview and Apply it in the running bot.
    """
    from bot.schedule.knowledge import SCHEDULE_FILE, programme_documents
    from bot.schedule.readers import read_programme
    from bot.services.knowledge import diff_knowledge
    from index.files import write_atomic
    from index.knowledge import read_documents, validate_documents

    directory = knowledge or _settings().knowledge_dir
    name, data = _read_source(source)
    try:
        documents = read_documents(directory) if directory.is_dir() else {}
    except KnowledgeError:
        documents = {}
    try:
        old = validate_documents(documents) if documents else None
    except KnowledgeError:
        old = None
    zone = ZoneInfo(old.event.timezone) if old is not None else ZoneInfo("UTC")
    try:
        programme = read_programme(name, data, zone)
    except ScheduleError as exc:
        exit_with_problems(f"{source}: {len(exc.problems)} problem(s), nothing imported:", exc.problems, exc)
    new_documents, summary = programme_documents(programme, documents, source=source)
    try:
        new = validate_documents(new_documents)
    except KnowledgeError as exc:
        exit_with_problems(f"{source}: the knowledge would be invalid, nothing imported:", exc.problems, exc)
    typer.echo(
        f"{source}: {summary.sessions} sessions, {len(summary.new_rooms)} new rooms"
        + (f" ({', '.join(summary.new_rooms)})" if summary.new_rooms else "")
        + (f", {len(summary.known_rooms)} known venues" if summary.known_rooms else "")
        + f"; times in {summary.timezone}"
        + ("; event section written" if summary.event_created else "")
    )
    for note in summary.notes:
        typer.echo(f"  note: {note}")
    if old is not None:
        diff = diff_knowledge(old, new, "en")
        if diff.empty:
            typer.echo("No change.")
            return
        for label, changes in (("added", diff.added), ("changed", diff.changed), ("removed", diff.removed)):
            if changes:
                typer.echo(f"{label} ({len(changes)}):")
                for change in changes[:50]:
                    typer.echo(f"  {change.entry_id}: {change.title}")
                if len(changes) > 50:
                    typer.echo(f"  … and {len(changes) - 50} more")
    if dry_run:
        return
    target = directory / SCHEDULE_FILE
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Write {target}?", default=True):
        raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(target, new_documents[SCHEDULE_FILE].encode())
    typer.echo(f"Wrote {target}. Send /reload in the chat to preview and Apply it in the running bot.")


@schedule_app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, xml or ics")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write [stdout]")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of titles and texts (en, zh, th)")] = "en",
    knowledge: Annotated[
        Path | None, typer.Option("--knowledge", help="Knowledge directory [the served version]")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory")] = None,
) -> None:
    """Export the served programme as schedule.json, schedule.xml (frab) or an iCalendar file."""
    from bot.schedule.export import FORMATS
    from index.knowledge import load_knowledge

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGS)}")
    if knowledge is None:
        from bot.app_context import served_knowledge

        knowledge, _ = served_knowledge(_settings(data_dir))
    try:
        kb = load_knowledge(knowledge)
    except KnowledgeError as exc:
        exit_with_problems(f"{knowledge}: {len(exc.problems)} problem(s):", exc.problems, exc)
    exported = FORMATS[fmt](kb, lang)  # type: ignore[operator]
    if output is None:
        sys.stdout.buffer.write(exported.content)
        sys.stdout.flush()
    else:
        output.write_bytes(exported.content)
    note = f" ({exported.left_out} without a published date or time left out)" if exported.left_out else ""
    where = f" to {output}" if output is not None else ""
    # With the export itself on standard output, the summary goes to standard error.
    typer.echo(f"{exported.sessions} sessions exported as {fmt}{where}{note}.", err=output is None)
