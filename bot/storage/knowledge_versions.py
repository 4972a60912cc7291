"""Applied knowledge versions, kept as files in the data directory.

Layout under ``<data dir>/knowledge-versions``::

    CURRENT                 the id of the version being served (written atomically)
    v3/manifest.json        id, parent, source, who applied it and when, content hash, file names
    v3/files/*.yaml         the complete knowledge set of that version

A version directory is written under a temporary name and renamed into place, so a crash never leaves a
half-written version. At start-up the bot serves the files of ``CURRENT`` (see :func:`served_directory`),
falling back to the shipped knowledge directory when no version was ever applied. Plain files (not the
database) because the engine is loaded before the database is opened, and the CLI and an operator can
read them directly.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from index.files import write_atomic

log = logging.getLogger(__name__)

ROOT = "knowledge-versions"
_ID = re.compile(r"^v(\d{1,9})$")


@dataclass(frozen=True)
class VersionInfo:
    """One applied knowledge set. ``applied_by`` is None for the knowledge the bot shipped with."""

    id: str
    parent: str | None
    source: str
    """``shipped``, ``upload`` or ``reload``."""
    applied_by: int | None
    applied_by_name: str
    created_at: str
    content_hash: str
    files: tuple[str, ...]
    note: str = ""

    @property
    def number(self) -> int:
        match = _ID.match(self.id)
        return int(match.group(1)) if match else 0

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)


class VersionStore:
    """Reads and writes the versions under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / ROOT

    def files_dir(self, version_id: str) -> Path:
        return self.root / version_id / "files"

    def current_id(self) -> str | None:
        try:
            value = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return value if _ID.match(value) else None

    def current(self) -> VersionInfo | None:
        version_id = self.current_id()
        return self.get(version_id) if version_id else None

    def get(self, version_id: str) -> VersionInfo | None:
        if not _ID.match(version_id):
            return None
        try:
            raw = json.loads((self.root / version_id / "manifest.json").read_text(encoding="utf-8"))
            return VersionInfo(**{**raw, "files": tuple(raw["files"])})
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("knowledge version %s is unreadable: %s", version_id, exc)
            return None

    def documents(self, version_id: str) -> dict[str, str]:
        """The knowledge files of a version as ``{name: text}``."""
        directory = self.files_dir(version_id)
        return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.iterdir())}

    def history(self) -> list[VersionInfo]:
        """Every stored version, newest first."""
        if not self.root.is_dir():
            return []
        found = [self.get(path.name) for path in self.root.iterdir() if _ID.match(path.name)]
        return sorted((v for v in found if v is not None), key=lambda v: -v.number)

    def _next_id(self) -> str:
        numbers = [int(m.group(1)) for p in self.root.glob("v*") if (m := _ID.match(p.name))]
        return f"v{max(numbers, default=0) + 1}"

    def create(
        self,
        documents: dict[str, str],
        *,
        parent: str | None,
        source: str,
        applied_by: int | None,
        applied_by_name: str,
        created_at: str,
        content_hash: str,
        note: str = "",
    ) -> VersionInfo:
        """Store a new version (not yet current) and return it."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = VersionInfo(
            id=self._next_id(),
            parent=parent,
            source=source,
            applied_by=applied_by,
            applied_by_name=applied_by_name,
            created_at=created_at,
            content_hash=content_hash,
            files=tuple(sorted(documents)),
            note=note,
        )
        staging = self.root / f".{version.id}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "files").mkdir(parents=True)
        for name, text in documents.items():
            (staging / "files" / name).write_text(text, encoding="utf-8")
        manifest = json.dumps(asdict(version), ensure_ascii=False, indent=1)
        (staging / "manifest.json").write_text(manifest, encoding="utf-8")
        os.replace(staging, self.root / version.id)
        return version

    def set_current(self, version_id: str) -> None:
        write_atomic(self.root / "CURRENT", f"{version_id}\n".encode())

    def discard(self, version_id: str) -> None:
        """Remove a version that never went live (its build failed)."""
        if _ID.match(version_id) and version_id != self.current_id():
            shutil.rmtree(self.root / version_id, ignore_errors=True)


def served_directory(data_dir: Path, shipped: Path) -> tuple[Path, VersionInfo | None]:
    """The knowledge directory to serve: the last applied version's files, else ``shipped``."""
    store = VersionStore(data_dir)
    version = store.current()
    if version is not None and store.files_dir(version.id).is_dir():
        return store.files_dir(version.id), version
    if store.current_id() is not None:
        log.error("knowledge version %s is missing; serving %s", store.current_id(), shipped)
    return shipped, None
