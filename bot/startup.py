"""Checks before the bot starts, so that every start-up fault ends in one line saying what to do.

:func:`preflight` prepares and checks the data directory and its files (created private: the directory
0700, files 0600), checks that the database opens and is intact, and waits for the Bot API (with
backoff, up to ``STARTUP_RETRY_SECONDS``). Each fault raises :class:`StartupError` whose message is one
line naming the path or setting at fault and what to do about it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 15.0
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class StartupError(RuntimeError):
    """The bot cannot start; the message is one line for the operator."""


def preflight(settings: Settings, *, check_api: bool = True) -> None:
    """Everything the bot needs before it starts; :class:`StartupError` on the first fault."""
    prepare_data_dir(settings.data_dir)
    check_data_files(settings.data_dir)
    check_database(settings.database_path)
    if check_api:
        asyncio.run(wait_for_api(settings))


def _blocking_file(path: Path) -> Path | None:
    """The first component of ``path`` that exists but is not a directory."""
    for part in [*reversed(path.parents), path]:
        if part.exists() and not part.is_dir():
            return part
    return None


def _tighten(path: Path, allowed: int) -> None:
    """Remove permission bits beyond ``allowed`` (never add any) on a path this process owns."""
    try:
        info = path.stat()
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid == os.geteuid() and mode & ~allowed:
            path.chmod(mode & allowed)
    except OSError as exc:
        log.warning("could not restrict the permissions of %s: %s", path, exc)


def prepare_data_dir(directory: Path) -> None:
    """Create the data directory (0700) or check the existing one; it must be a writable directory."""
    blocker = _blocking_file(directory.absolute())
    if blocker == directory.absolute():
        raise StartupError(
            f"SUMMIT_BOT_DATA_DIR: {directory} is a file, not a directory; move it away or set "
            "SUMMIT_BOT_DATA_DIR to a directory"
        )
    if blocker is not None:
        raise StartupError(
            f"SUMMIT_BOT_DATA_DIR: {blocker} is a file, so the data directory {directory} cannot be "
            "created there; move that file away or set SUMMIT_BOT_DATA_DIR to a directory"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    except OSError as exc:
        raise StartupError(
            f"SUMMIT_BOT_DATA_DIR: the data directory {directory} cannot be created ({exc.strerror}); "
            "create it yourself or set SUMMIT_BOT_DATA_DIR to a writable directory"
        ) from None
    _tighten(directory, PRIVATE_DIR)
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise StartupError(
            f"SUMMIT_BOT_DATA_DIR: the data directory {directory} is not writable ({exc.strerror}); "
            "make it writable for the user running the bot (chmod u+w) or set SUMMIT_BOT_DATA_DIR elsewhere"
        ) from None


def check_data_files(directory: Path) -> None:
    """Every file in the data directory must be writable by the bot; each is made private (0600)."""
    for path in sorted(directory.rglob("*")):
        if path.is_dir():
            _tighten(path, PRIVATE_DIR)
            if not os.access(path, os.W_OK | os.X_OK):
                raise StartupError(
                    f"{path} is a read-only directory inside the data directory; make it writable for the "
                    "user running the bot (chmod u+w) or remove it"
                )
            continue
        if not path.is_file():
            continue
        _tighten(path, PRIVATE_FILE)
        if not os.access(path, os.R_OK | os.W_OK):
            raise StartupError(
                f"{path} is read-only (or unreadable); the bot must be able to rewrite its data files: "
                "make it readable and writable for the user running the bot (chmod u+rw) or remove it"
            )


def check_database(path: Path) -> None:
    """The database must be an intact SQLite file written by this version of the bot or an older one."""
    from bot.storage.database import CURRENT_VERSION, FileProblem, check_file

    if not path.exists():
        return
    if not path.is_file():
        raise StartupError(
            f"the database {path} is not a file; move it away so the bot can create its database"
        )
    advice = f"restore {path} from a backup, or move it away to start with an empty database"
    try:
        version = check_file(path)
    except FileProblem as exc:
        if exc.kind == "locked":
            raise StartupError(
                f"the database {path} is locked by another program; stop it (or wait for it) and start again"
            ) from None
        if exc.kind == "unreadable":
            raise StartupError(f"the database {path} cannot be read ({exc.detail}); {advice}") from None
        raise StartupError(f"the database {path} is damaged ({exc.detail}); {advice}") from None
    if version > CURRENT_VERSION:
        raise StartupError(
            f"the database {path} has schema version {version}, newer than this bot knows "
            f"({CURRENT_VERSION}); upgrade the bot or set SUMMIT_BOT_DATA_DIR to another directory"
        )


async def wait_for_api(
    settings: Settings,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call getMe until the Bot API answers; retry with backoff for ``startup_retry_seconds``.

    A token the API rejects raises :class:`telegram.error.InvalidToken` at once (no retry).
    """
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
    from telegram.request import HTTPXRequest

    token = settings.require_token()
    request = HTTPXRequest(connect_timeout=5.0, read_timeout=10.0)
    bot = Bot(
        token,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=request,
        get_updates_request=request,
    )
    deadline = clock() + settings.startup_retry_seconds
    delay = FIRST_RETRY_SECONDS
    try:
        while True:
            try:
                await bot.initialize()
                return
            except InvalidToken:
                raise
            except (NetworkError, RetryAfter) as exc:
                error = str(exc).replace(token, "<token>")
            except TelegramError as exc:
                error = str(exc).replace(token, "<token>")
            left = deadline - clock()
            if left <= 0:
                raise StartupError(
                    f"the Bot API at {settings.api_root} could not be reached for "
                    f"{settings.startup_retry_seconds:g} s ({error}); check the network and "
                    "TELEGRAM_API_BASE_URL, or raise STARTUP_RETRY_SECONDS to wait longer"
                )
            wait = min(delay, left)
            log.warning(
                "the Bot API at %s cannot be reached (%s); trying again in %.0f s",
                settings.api_root,
                error,
                wait,
            )
            await sleep(wait)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
    finally:
        await request.shutdown()
