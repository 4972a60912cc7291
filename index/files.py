"""Reading the data files shipped with the code, and writing files so that a reader (another process, a
concurrent reload) never sees half of one.

Everything written here is private to the user running the program: files are created 0600 (by
``mkstemp``) and every directory created on the way 0700, for the data directory holds what users wrote.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

PRIVATE_DIR = 0o700

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A YAML file parsed safely, with libyaml's loader where PyYAML has it (the same result as
    ``yaml.safe_load``, several times faster: every process reads the data files when it starts)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents, each one readable by its owner only (0700).

    Directories that exist already are left as they are.
    """
    missing = []
    for candidate in [directory, *directory.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            candidate.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another process or thread
            continue
        candidate.chmod(PRIVATE_DIR)  # mkdir's mode is filtered by the umask; this is exact


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see either the old or the new content, never a mix."""
    make_private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
