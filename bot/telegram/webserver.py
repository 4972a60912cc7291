"""The bot's own HTTP server (aiohttp): the Telegram webhook, ``GET /healthz`` and ``GET /metrics``.

Routes are registered in :meth:`WebServer._app`, the one place to add more.

* ``POST /<webhook path>`` (webhook mode only): Telegram's secret-token header is checked (403 when it is
  missing or wrong), the body must be an update (:func:`bot.telegram.webhook_body.read_update`; 400 and
  one log line otherwise, 413 past :data:`MAX_UPDATE_BYTES`), then the update goes to ``ingest`` and only
  when ``ingest`` has finished (the update is stored) is 200 sent. An ``ingest`` that fails to store it
  gives 500, so Telegram delivers the update again later; one that refuses it (``ValueError``) gives 400.
  By default ``ingest`` puts the update on the application's queue
  (:func:`enqueue_to`); a durable inbox can take its place (store the update, then answer 200).
  Updates arrive only once the application has started, so ``ingest`` may look up the services
  attached to it at each call.
* ``GET /healthz``: 200 ``{"status": "ok", ...}`` when every check passes, else 503 with
  ``{"status": "unhealthy", "problems": {check: reason}}``. See :class:`Health`.
* ``GET /metrics``: the registry of :mod:`bot.metrics` in the Prometheus text format.

``/healthz`` and ``/metrics`` are served only where ``monitoring`` is on: the bot runs them on a listener
of their own (METRICS_LISTEN:METRICS_PORT, 127.0.0.1 by default), and beside the webhook only when a
``monitoring_token`` is set. With a token, both answer 401 unless the request carries
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.metrics import REGISTRY, WEBHOOK_REFUSED
from bot.storage.database import Database
from bot.telegram.http import ApiContact
from bot.telegram.webhook_body import NotAnUpdate, read_update
from index.engine import Engine

log = logging.getLogger(__name__)

Routes = Callable[[web.Application], None]
"""Adds more endpoints to the server's application (e.g. the programme Mini App, :mod:`bot.webapp`)."""
Ingest = Callable[[dict[str, Any]], Awaitable[None]]
"""What the webhook does with one update (the decoded JSON body); it must finish before 200 is sent."""

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_API_SILENCE = 180.0
"""Seconds without any answer from the Bot API after which the bot is reported unhealthy."""
API_PROBE_INTERVAL = 60.0
"""When the bot has not talked to the Bot API for this long, it asks getMe to find out whether it can."""
MAX_UPDATE_BYTES = 1 << 20


def enqueue_to(application: Application) -> Ingest:
    """The default ``ingest``: hand the update to the application's update queue."""

    async def ingest(data: dict[str, Any]) -> None:
        await application.update_queue.put(Update.de_json(data, application.bot))

    return ingest


@dataclass(frozen=True)
class HealthReport:
    problems: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        if self.ok:
            return {"status": "ok", **self.details}
        return {"status": "unhealthy", "problems": self.problems, **self.details}


class Health:
    """Whether the bot can do its work: the engine is loaded, the database takes a write, and the Bot
    API answered within ``max_silence`` seconds.

    ``engine`` and ``database`` are read at each check (None: not available yet, e.g. during start-up).
    The database check writes the schema version back unchanged in a transaction, so a read-only file,
    a full disk or a lost connection shows up as the error SQLite gives.
    """

    def __init__(
        self,
        *,
        engine: Callable[[], Engine | None],
        database: Callable[[], Database | None],
        api: ApiContact,
        max_silence: float = MAX_API_SILENCE,
    ) -> None:
        self._engine = engine
        self._database = database
        self._api = api
        self._max_silence = max_silence

    async def check(self) -> HealthReport:
        problems: dict[str, str] = {}
        details: dict[str, Any] = {}
        engine = self._engine()
        if engine is None:
            problems["engine"] = "the knowledge index is not loaded"
        elif not engine.passages:
            problems["engine"] = f"index {engine.version} holds no passages"
        else:
            details["index"] = engine.version
        problem = await self._database_problem()
        if problem:
            problems["database"] = problem
        silent = self._api.silent_for()
        if silent is None:
            problems["telegram"] = "the Bot API has not been reached yet"
        elif silent > self._max_silence:
            problems["telegram"] = f"no answer from the Bot API for {silent:.0f} s"
        else:
            details["telegram_seconds_ago"] = round(silent, 1)
        return HealthReport(problems, details)

    async def _database_problem(self) -> str | None:
        db = self._database()
        if db is None:
            return "the database is not open"
        try:
            await db.probe()
        except Exception as exc:  # any failure means no write can be trusted now
            return f"the database does not accept writes: {exc}"
        return None


async def keep_in_touch(bot: Bot, contact: ApiContact, interval: float = API_PROBE_INTERVAL) -> None:
    """Ask the Bot API for getMe whenever the bot has been silent for ``interval`` seconds, so the health
    check knows whether Telegram can be reached even when nobody writes (a webhook bot only talks to the
    API when it replies). Runs until cancelled."""
    while True:
        silent = contact.silent_for()
        wait = interval if silent is None else max(interval - silent, 1.0)
        await asyncio.sleep(wait)
        silent = contact.silent_for()
        if silent is None or silent >= interval:
            try:
                await bot.get_me()
            except TelegramError as exc:
                log.warning("the Bot API cannot be reached: %s", exc)


@dataclass(frozen=True)
class Webhook:
    path: str
    """The URL path updates are POSTed to (leading slash optional)."""
    secret: str
    """Telegram's secret token, expected in the ``X-Telegram-Bot-Api-Secret-Token`` header."""
    ingest: Ingest


class WebServer:
    """Serves the endpoints of the module docstring on ``listen``:``port`` (port 0: any free port)."""

    def __init__(
        self,
        *,
        listen: str,
        port: int,
        health: Health,
        webhook: Webhook | None = None,
        registry: CollectorRegistry = REGISTRY,
        routes: Sequence[Routes] = (),
        monitoring: bool = True,
        monitoring_token: str | None = None,
    ) -> None:
        self.listen = listen
        self.port = port
        self._health = health
        self._webhook = webhook
        self._registry = registry
        self._routes = tuple(routes)
        self._monitoring = monitoring
        self._token = monitoring_token
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        """Every route of the server."""
        app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        if self._monitoring:
            app.router.add_get("/healthz", self._healthz)
            app.router.add_get("/metrics", self._metrics)
        if self._webhook is not None:
            app.router.add_post("/" + self._webhook.path.strip("/"), self._update)
        for add in self._routes:  # further features' routes (the programme, calendar feeds)
            add(app)
        return app

    @property
    def monitoring(self) -> bool:
        """Whether ``/healthz`` and ``/metrics`` are served here."""
        return self._monitoring

    @property
    def served(self) -> str:
        """What this server answers, for the log."""
        parts = ["webhook"] if self._webhook else []
        if self._monitoring:
            parts.append("/healthz, /metrics" + (" (bearer token)" if self._token else ""))
        return ", ".join(parts) or "nothing"

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.listen, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:
            self.port = runner.addresses[0][1]
        log.info("HTTP server on %s:%d (%s)", self.listen, self.port, self.served)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        if self._token is None:
            return True
        given = request.headers.get("Authorization", "")
        scheme, _, credentials = given.partition(" ")
        expected = self._token.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), expected)

    def _unauthorised(self, request: web.Request) -> web.Response:
        log.warning("%s from %s refused: missing or wrong bearer token", request.path, request.remote)
        return web.Response(
            status=401,
            text="a bearer token is needed",
            headers={"WWW-Authenticate": 'Bearer realm="summit-bot"'},
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised(request)
        report = await self._health.check()
        if not report.ok:
            log.warning("health check failed: %s", "; ".join(f"{k}: {v}" for k, v in report.problems.items()))
        return web.json_response(report.as_json(), status=200 if report.ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised(request)
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _update(self, request: web.Request) -> web.Response:
        webhook = self._webhook
        assert webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), webhook.secret.encode()):
            log.warning("webhook request from %s refused: wrong or missing secret token", request.remote)
            return web.Response(status=403, text="wrong secret token")
        try:
            data = read_update(await request.read())
        except NotAnUpdate as bad:
            return self._refused(request, bad.kind, bad.reason)
        try:
            await webhook.ingest(data)
        except ValueError as exc:  # ingest's own word that this is not an update it takes
            return self._refused(request, "ingest", str(exc))
        except Exception:
            log.exception("update %s could not be taken in", data.get("update_id"))
            return web.Response(status=500, text="the update could not be taken in")
        return web.Response(status=200)

    @staticmethod
    def _refused(request: web.Request, kind: str, reason: str) -> web.Response:
        WEBHOOK_REFUSED.labels(kind).inc()
        log.warning("webhook body from %s refused: %s", request.remote, reason)
        return web.Response(status=400, text=f"not a Telegram update: {reason}")


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has finished."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
