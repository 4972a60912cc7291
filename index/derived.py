"""Data derived from installed packages' files, kept in the data directory's cache between runs.

Some of what the engine prepares at start-up depends only on files that ship with a package (the
embedding model's vocabulary, the Chinese dictionary's people's names, the pinyin table): the same on
every start, yet seconds of work. A :class:`Derived` names such a piece of data, says what it depends on
(``key``: package versions, file digests, anything else) and how it is written and read as bytes; the
first process builds it and writes it, later ones read it. The file name carries a digest of ``key``,
so a new release or other input never reads an old file. The files are written in ``marshal`` form or
as raw arrays, which load many times faster than the data is rebuilt and run no code when read.

A cache that cannot be read is logged and rebuilt; one that cannot be written (a read-only data
directory) is skipped: the data is then built on every start, as without a cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from index.files import write_atomic

log = logging.getLogger(__name__)

T = TypeVar("T")


def file_digest(path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of a file's content (read once while it is unchanged)."""
    stat = path.stat()
    return _digest(path, stat.st_size, stat.st_mtime_ns)


@cache
def _digest(path: Path, size: int, mtime: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Derived(Generic[T]):
    """One kept piece of data: ``stem`` names its file, ``key`` what it was made from."""

    stem: str
    key: Iterable[str]
    dump: Callable[[T], bytes]
    load: Callable[[bytes], T]

    def path(self, directory: Path) -> Path:
        digest = hashlib.sha256("\0".join(self.key).encode()).hexdigest()[:16]
        return directory / f"{self.stem}-{digest}.bin"

    def get(self, directory: Path | None, build: Callable[[], T]) -> T:
        """The data read from ``directory``, or built (and written there for the next start)."""
        if directory is None:
            return build()
        path = self.path(directory)
        if path.is_file():
            try:
                return self.load(path.read_bytes())
            except (OSError, ValueError, EOFError, TypeError, KeyError) as exc:
                log.warning("ignoring unreadable cache file %s: %s", path, exc)
        value = build()
        self.put(directory, value, replace=True)
        return value

    def put(self, directory: Path, value: T, *, replace: bool = False) -> None:
        """Write ``value`` to ``directory`` unless it is there already (or ``replace``)."""
        path = self.path(directory)
        if path.is_file() and not replace:
            return
        try:
            write_atomic(path, self.dump(value))
        except OSError as exc:
            log.info("cache file %s not written: %s", path, exc)
