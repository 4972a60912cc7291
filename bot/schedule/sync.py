"""Fetching a programme from a URL, and keeping up with ``SCHEDULE_URL``.

:func:`fetch` makes one conditional GET: with the ``ETag`` and ``Last-Modified`` of the previous answer it
sends ``If-None-Match`` / ``If-Modified-Since``, and a ``304 Not Modified`` comes back as ``changed=False``
without a body. :class:`ScheduleSync` polls every few minutes and hands a changed body to a callback
(which proposes it to the admins, or applies it at once); a body identical to the last one handed over
(a server that ignores conditional requests) is not handed over again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bot.schedule.readers import MAX_SCHEDULE_BYTES

log = logging.getLogger(__name__)

USER_AGENT = "summit-bot schedule sync"


class FetchError(Exception):
    """The programme could not be fetched (network, HTTP status, size); the message says why."""


@dataclass(frozen=True)
class Fetched:
    changed: bool
    """False for ``304 Not Modified``: ``data`` is empty then."""
    data: bytes
    etag: str | None
    last_modified: str | None
    name: str
    """A file name for the body (from the URL's path), which tells its format."""


def _name_of(url: str, content_type: str) -> str:
    path = url.split("?", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if "." in last:
        return last
    for kind, suffix in (("json", ".json"), ("xml", ".xml"), ("csv", ".csv"), ("sheet", ".xlsx")):
        if kind in content_type:
            return "schedule" + suffix
    return last or "schedule"


async def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 30.0,
    session: aiohttp.ClientSession | None = None,
) -> Fetched:
    """One GET of ``url``, conditional on the previous ``etag`` / ``last_modified``."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"not an http(s) URL: {url}")
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = session is None
    client = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    try:
        async with client.get(url, headers=headers, allow_redirects=True) as response:
            if response.status == 304:
                return Fetched(False, b"", etag, last_modified, _name_of(url, ""))
            if response.status != 200:
                raise FetchError(f"{url} answered HTTP {response.status}")
            if (response.content_length or 0) > MAX_SCHEDULE_BYTES:
                raise FetchError(f"{url} is larger than {MAX_SCHEDULE_BYTES // 1_000_000} MB")
            data = await response.content.read(MAX_SCHEDULE_BYTES + 1)
            if len(data) > MAX_SCHEDULE_BYTES:
                raise FetchError(f"{url} is larger than {MAX_SCHEDULE_BYTES // 1_000_000} MB")
            return Fetched(
                True,
                data,
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
                _name_of(url, response.headers.get("Content-Type", "")),
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise FetchError(f"{url} could not be fetched: {exc or type(exc).__name__}") from exc
    finally:
        if own:
            await client.close()


OnChange = Callable[[Fetched], Awaitable[None]]


class ScheduleSync:
    """Polls ``url`` every ``interval`` seconds; see the module docstring."""

    def __init__(self, url: str, on_change: OnChange, *, interval: float = 300.0) -> None:
        self.url = url
        self.interval = interval
        self._on_change = on_change
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._digest: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.checks = 0
        self.changes = 0
        self.unchanged = 0

    async def check(self) -> bool:
        """One poll: True when a changed programme was handed to the callback."""
        self.checks += 1
        fetched = await fetch(self.url, etag=self._etag, last_modified=self._last_modified)
        if not fetched.changed:
            self.unchanged += 1
            return False
        digest = hashlib.sha256(fetched.data).hexdigest()
        if digest == self._digest:
            self._etag, self._last_modified = fetched.etag, fetched.last_modified
            self.unchanged += 1
            return False
        await self._on_change(fetched)
        # Only once handled: a callback that failed is tried again on the next poll.
        self._digest = digest
        self._etag, self._last_modified = fetched.etag, fetched.last_modified
        self.changes += 1
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except FetchError as exc:
                log.warning("schedule sync: %s", exc)
            except Exception:
                log.exception("schedule sync: the programme from %s could not be handled", self.url)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="schedule-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
