"""Loading and validating the knowledge base.

Every ``*.yaml`` file in the knowledge directory is parsed, validated against :mod:`index.schema`, and
cross-checked (unique ids, references between entries). Problems are collected across all files and
reported together with the file, the entry id, the field and the line, and nothing is returned unless
the whole set is valid: the bot never runs on a half-loaded knowledge base.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from index.schema import Entry, Event, Fact, FaqEntry, KnowledgeFile, Route, Session, Venue

MAX_FILE_BYTES = 2_000_000


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader where PyYAML was built with it (several times faster), else the pure-Python
    one; an impossible date such as 2023-11-31 stays text, so validation reports it with its entry,
    field and line instead of the loader failing."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the knowledge files, located as precisely as the source allows."""

    file: str
    message: str
    entry_id: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.entry_id:
            parts.append(f"entry '{self.entry_id}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        return f"{', '.join(parts)}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge files are invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class KnowledgeBase:
    """The validated knowledge of one event, with lookups the bot and the engine need."""

    event: Event
    facts: list[Fact] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    venues: list[Venue] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    faq: list[FaqEntry] = field(default_factory=list)
    content_hash: str = ""

    def __post_init__(self) -> None:
        self.by_id: dict[str, Entry] = {entry.id: entry for entry in self.entries()}

    def entries(self) -> Iterator[Entry]:
        yield self.event
        yield from self.facts
        yield from self.sessions
        yield from self.venues
        yield from self.routes
        yield from self.faq

    def venue(self, venue_id: str | None) -> Venue | None:
        entry = self.by_id.get(venue_id or "")
        return entry if isinstance(entry, Venue) else None

    def days(self) -> list[dt.date]:
        """The dates that have at least one session, in order."""
        return sorted({s.date for s in self.sessions if s.date is not None})

    def sessions_on(self, day: dt.date) -> list[Session]:
        """Sessions of one day, those with a known start first by time, then the rest by title."""
        todays = [s for s in self.sessions if s.date == day]
        return sorted(todays, key=lambda s: (s.start is None, s.start or "", s.title.en))

    def undated_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.date is None]


def _line_of(node: yaml.Node | None, loc: Iterable[str | int]) -> int | None:
    """Follow a pydantic error location through the YAML node tree; return a 1-based line."""
    best = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        if node is None:
            break
        best = node.start_mark.line + 1
    return best


def _entry_id(raw: object, loc: tuple[str | int, ...]) -> tuple[str | None, tuple[str | int, ...]]:
    """Split an error location into the id of the entry it falls in and the field path inside it."""
    if not loc or not isinstance(raw, Mapping):
        return None, loc
    section = raw.get(loc[0])
    if loc[0] == "event" and isinstance(section, Mapping):
        return str(section.get("id") or "event"), loc[1:]
    if len(loc) >= 2 and isinstance(section, list) and isinstance(loc[1], int) and loc[1] < len(section):
        item = section[loc[1]]
        entry_id = item.get("id") if isinstance(item, Mapping) else None
        return (str(entry_id) if entry_id else f"{loc[0]}[{loc[1]}]"), loc[2:]
    return None, loc


def parse_file(name: str, text: str) -> tuple[KnowledgeFile | None, list[Problem]]:
    """Parse and validate one file's text; return the model or the problems found."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        raw = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(name, f"not valid YAML: {reason}", line=line)]
    finally:
        loader.dispose()
    if raw is None:
        return KnowledgeFile(), []
    if not isinstance(raw, dict):
        return None, [Problem(name, "the top level must be a mapping of sections", line=1)]
    try:
        return KnowledgeFile.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            entry_id, inner = _entry_id(raw, loc)
            field_path = ".".join(str(p) for p in inner) or None
            problems.append(Problem(name, err["msg"], entry_id, field_path, _line_of(node, loc)))
        return None, problems


def _cross_check(files: Mapping[str, KnowledgeFile]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    events = [(name, f.event) for name, f in files.items() if f.event is not None]
    if len(events) != 1:
        where = ", ".join(name for name, _ in events) or "any file"
        problems.append(Problem(where, f"exactly one 'event' section is needed, found {len(events)}"))
    all_ids: set[str] = set()
    venue_ids = {v.id for f in files.values() for v in f.venues}
    for name, kf in files.items():
        entries: list[Entry] = [kf.event] if kf.event else []
        entries += [*kf.facts, *kf.sessions, *kf.venues, *kf.routes, *kf.faq]
        for entry in entries:
            if entry.id in seen:
                problems.append(
                    Problem(name, f"duplicate id, first defined in {seen[entry.id]}", entry.id, "id")
                )
            seen.setdefault(entry.id, name)
            all_ids.add(entry.id)
    for name, kf in files.items():
        for session in kf.sessions:
            if session.venue and session.venue not in venue_ids:
                problems.append(Problem(name, f"unknown venue '{session.venue}'", session.id, "venue"))
        for item in kf.faq:
            for ref in item.related:
                if ref not in all_ids:
                    problems.append(Problem(name, f"unknown related entry '{ref}'", item.id, "related"))
    return problems


def _file_entries(kf: KnowledgeFile) -> list[Entry]:
    return [*([kf.event] if kf.event else []), *kf.facts, *kf.sessions, *kf.venues, *kf.routes, *kf.faq]


def _check_references(files: Mapping[str, KnowledgeFile]) -> list[Problem]:
    """Every reference to a session's facts (``{{session-id.field}}``, :mod:`index.templates`) names a
    session and a field that exist."""
    from index import templates

    sessions = {s.id: s for f in files.values() for s in f.sessions}
    return [
        Problem(name, message, entry.id, field_path)
        for name, kf in files.items()
        for entry in _file_entries(kf)
        for field_path, message in templates.check(entry, sessions)
    ]


def _render_references(files: Mapping[str, KnowledgeFile]) -> dict[str, KnowledgeFile]:
    """The files with every reference replaced by the session's fact, in each text's language."""
    from index import templates

    sessions = {s.id: s for f in files.values() for s in f.sessions}
    venues = {v.id: v for f in files.values() for v in f.venues}
    timezone = next(f.event.timezone for f in files.values() if f.event is not None)
    rendered: dict[str, KnowledgeFile] = {}
    for name, kf in files.items():
        update: dict[str, object] = {}
        if kf.event is not None:
            update["event"] = templates.render(kf.event, sessions, venues, timezone)
        for section in ("facts", "sessions", "venues", "routes", "faq"):
            entries = getattr(kf, section)
            update[section] = [templates.render(e, sessions, venues, timezone) for e in entries]
        rendered[name] = kf.model_copy(update=update)
    return rendered


def validate_documents(documents: Mapping[str, str]) -> KnowledgeBase:
    """Validate a whole set of knowledge files given as ``{file name: text}``.

    Raises :class:`KnowledgeError` listing every problem; returns the knowledge base otherwise.
    """
    problems: list[Problem] = []
    files: dict[str, KnowledgeFile] = {}
    for name in sorted(documents):
        model, found = parse_file(name, documents[name])
        problems += found
        if model is not None:
            files[name] = model
    if not problems:
        problems = _cross_check(files)
    if not problems:
        problems = _check_references(files)
    if problems:
        raise KnowledgeError(problems)
    files = _render_references(files)
    event = next(f.event for f in files.values() if f.event is not None)
    ordered = [files[n] for n in sorted(files)]
    return KnowledgeBase(
        event=event,
        facts=[x for f in ordered for x in f.facts],
        sessions=[x for f in ordered for x in f.sessions],
        venues=[x for f in ordered for x in f.venues],
        routes=[x for f in ordered for x in f.routes],
        faq=[x for f in ordered for x in f.faq],
        content_hash=content_hash(documents),
    )


def content_hash(documents: Mapping[str, str]) -> str:
    """The fingerprint of a set of knowledge files (names and texts): ``KnowledgeBase.content_hash``."""
    digest = hashlib.sha256()
    for name in sorted(documents):
        digest.update(name.encode() + b"\0" + documents[name].encode() + b"\0")
    return digest.hexdigest()


def read_documents(directory: Path) -> dict[str, str]:
    """Read every ``*.yaml``/``*.yml`` file of a knowledge directory as text."""
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), "knowledge directory not found")])
    documents: dict[str, str] = {}
    problems: list[Problem] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(path.name, f"file is larger than {MAX_FILE_BYTES:,} bytes"))
            continue
        try:
            documents[path.name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(path.name, "file is not UTF-8 text"))
    if problems:
        raise KnowledgeError(problems)
    if not documents:
        raise KnowledgeError([Problem(str(directory), "no knowledge files (*.yaml) found")])
    return documents


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate a knowledge directory (see :func:`validate_documents`)."""
    return validate_documents(read_documents(directory))
