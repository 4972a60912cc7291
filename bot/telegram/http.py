"""python-telegram-bot's HTTP transport on aiohttp instead of httpx.

Under load the bot's event loop spends most of its time in the HTTP client: httpx's connection pool
scans every connection for every queued request, and each request asks the socket for its peer
address again. aiohttp keeps a plain queue of idle keep-alive connections, so a Bot API call costs a
fraction of the CPU time. :class:`AiohttpRequest` is passed to ``ApplicationBuilder.request`` and
``.get_updates_request``; PTB builds the URLs and parameters and interprets the answers as usual.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout passed to a Bot method, or this transport's default when none was given."""
    return default if isinstance(value, DefaultValue) else value


class ApiContact:
    """When the Bot API last answered (any HTTP status counts: the server was reached).

    Shared by the bot's transports; the health check reads :meth:`silent_for`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last: float | None = None

    def seen(self) -> None:
        self.last = self._clock()

    def silent_for(self) -> float | None:
        """Seconds since the last answer, or None when the Bot API never answered."""
        return None if self.last is None else self._clock() - self.last


class AiohttpRequest(BaseRequest):
    """Sends Bot API requests over one aiohttp session with up to ``connection_pool_size`` connections.

    Timeouts are in seconds (None: wait forever), with PTB's meaning: ``connect_timeout`` to open a
    connection, ``pool_timeout`` to wait for a free one (both together bound getting a connection),
    ``read_timeout`` between bytes of the answer. aiohttp has no write timeout: the body of a request
    is sent within the time allowed for reading its answer, so ``write_timeout`` is accepted and
    ignored. ``contact`` notes every answer received.
    """

    def __init__(
        self,
        connection_pool_size: int = 8,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        contact: ApiContact | None = None,
    ) -> None:
        self._contact = contact
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after :meth:`shutdown`)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}, raise_for_status=False
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; its HTTP status and body. Raises :class:`TimedOut` or :class:`NetworkError`."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=_seconds(read_timeout, self._read_timeout),
        )
        body: aiohttp.FormData | str | None = None
        headers = None
        if request_data is not None and request_data.contains_files:
            body = aiohttp.FormData(request_data.json_parameters)
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                body.add_field(name, content, filename=filename, content_type=mime_type)
        elif request_data is not None:
            body, headers = request_data.url_encoded_parameters(), _FORM
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                content = await response.read()
                if self._contact is not None:
                    self._contact.seen()
                return response.status, content
        # The request URL holds the bot token and aiohttp puts it in its error messages, so neither
        # the message nor the original exception travels on (they would end up in logs).
        except TimeoutError:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut() from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {_redact(str(error))}") from None


_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+")


def _redact(text: str) -> str:
    """``text`` with any ``/bot<token>`` part of a Bot API URL replaced."""
    return _TOKEN_IN_URL.sub("/bot<token>", text)
