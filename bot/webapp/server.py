"""The programme Mini App on the bot's web server: its page and a small JSON API (aiohttp, no Telegram).

Under ``prefix`` (``/app`` below the path of PUBLIC_URL):

* ``GET {prefix}/``: the page; ``GET {prefix}/static/app.js`` and ``app.css``: its script and style,
  shipped in this package (nothing is loaded from another host). Their URLs carry a hash of their
  content, so they are cached for good and a new release is fetched at once.
* ``GET {prefix}/api/programme``: the programme in the user's language and the ids of their bookmarks.
* ``PUT`` / ``DELETE {prefix}/api/bookmarks/{session_id}``: bookmark a session or remove the bookmark,
  through :class:`bot.services.agenda.AgendaService`, the service /myagenda uses (so reminders and change
  alerts follow); the answer lists the user's bookmarks.
* ``POST {prefix}/api/ask/{session_id}``: the bot sends the session's card into the user's chat, where
  they can go on asking about it.

Every API call carries Telegram's signed ``initData`` in ``Authorization: tma <initData>``. It is checked
with the bot token (:mod:`bot.webapp.initdata`); a missing, malformed, wrongly signed or too old one gets
401 and nothing is read or changed. The user is always the one ``initData`` names: nothing in the request
can choose another. Calls are counted per user like chat questions (a sliding window); over the rate
they get 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from bot.services import Services
from bot.services.ratelimit import QuestionRateLimiter, Verdict
from bot.webapp.initdata import InvalidInitData, WebAppUser, verify
from bot.webapp.programme import programme
from index.knowledge import KnowledgeBase
from index.types import Lang

log = logging.getLogger(__name__)

Ask = Callable[[int, str, Lang], Awaitable[None]]
"""Send the card of session ``session_id`` to user ``user_id``'s chat, in ``lang``."""

AUTH_SCHEME = "tma"
STATIC = ("app.js", "app.css")
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGE_HEADERS = {
    **_HEADERS,
    "Cache-Control": "no-cache",
    # Everything comes from this server; Telegram's web clients show the page in a frame.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self' https://web.telegram.org"
    ),
}
_TYPES = {"js": "text/javascript", "css": "text/css", "html": "text/html"}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    content_type: str
    version: str


def _load_assets() -> dict[str, _Asset]:
    folder = resources.files("bot.webapp") / "static"
    assets: dict[str, _Asset] = {}
    for name in (*STATIC, "index.html"):
        body = (folder / name).read_bytes()
        assets[name] = _Asset(body, _TYPES[name.rsplit(".", 1)[1]], hashlib.sha256(body).hexdigest()[:12])
    page = assets["index.html"].body.decode()
    for name in STATIC:
        page = page.replace(f'"static/{name}"', f'"static/{name}?v={assets[name].version}"')
    assets["index.html"] = _Asset(page.encode(), "text/html", "")
    return assets


class MiniApp:
    """See the module docstring. ``services`` is read at each request (None while the bot starts)."""

    def __init__(
        self,
        *,
        prefix: str,
        token: str,
        services: Callable[[], Services | None],
        max_age: float,
        rate: QuestionRateLimiter,
        ask: Ask | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.prefix = "/" + prefix.strip("/")
        self._token = token
        self._services = services
        self._max_age = max_age
        self._rate = rate
        self._ask = ask
        self._clock = clock
        self._calls = itertools.count()
        self._assets = _load_assets()
        self._programmes: dict[Lang, tuple[KnowledgeBase, str]] = {}

    def add_routes(self, app: web.Application) -> None:
        p = self.prefix
        app.router.add_get(p, self._to_page)
        app.router.add_get(p + "/", self._page)
        app.router.add_get(p + "/static/{name}", self._static)
        app.router.add_get(p + "/api/programme", self._programme)
        app.router.add_put(p + "/api/bookmarks/{session_id}", self._bookmark)
        app.router.add_delete(p + "/api/bookmarks/{session_id}", self._bookmark)
        app.router.add_post(p + "/api/ask/{session_id}", self._ask_about)

    # ----------------------------------------------------------------- page and files

    async def _to_page(self, _: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(self.prefix + "/")

    async def _page(self, _: web.Request) -> web.Response:
        asset = self._assets["index.html"]
        response = web.Response(body=asset.body, content_type=asset.content_type, headers=_PAGE_HEADERS)
        response.charset = "utf-8"
        response.enable_compression()
        return response

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        asset = self._assets.get(name) if name in STATIC else None
        if asset is None:
            raise web.HTTPNotFound()
        cache = (
            "public, max-age=31536000, immutable" if request.query.get("v") == asset.version else "no-cache"
        )
        response = web.Response(
            body=asset.body, content_type=asset.content_type, headers={**_HEADERS, "Cache-Control": cache}
        )
        response.charset = "utf-8"
        response.enable_compression()
        return response

    # ----------------------------------------------------------------- API

    def _json(self, data: Any, status: int = 200, **headers: str) -> web.Response:
        return web.json_response(
            data, status=status, headers={**_HEADERS, "Cache-Control": "no-store", **headers}
        )

    async def _user(self, request: web.Request) -> tuple[WebAppUser, Services, Lang] | web.Response:
        """The verified user, the services and the user's language; or the error response to give."""
        scheme, _, init_data = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != AUTH_SCHEME:
                raise InvalidInitData("no initData")
            now = self._clock() if self._clock else None
            user = verify(init_data.strip(), self._token, self._max_age, now)
        except InvalidInitData as exc:
            log.info("Mini App request %s %s refused: %s", request.method, request.path, exc)
            return self._json({"error": "unauthorised"}, 401, **{"WWW-Authenticate": AUTH_SCHEME})
        svc = self._services()
        if svc is None:
            return self._json({"error": "starting"}, 503, **{"Retry-After": "5"})
        if self._rate.check(user.id, ("webapp", next(self._calls))) is not Verdict.ANSWER:
            seconds = round(self._rate.window.total_seconds())
            return self._json({"error": "rate"}, 429, **{"Retry-After": str(seconds)})
        lang = await svc.users.language(user.id, user.language_code)
        return user, svc, lang

    def _programme_json(self, svc: Services, lang: Lang) -> str:
        """The programme in ``lang`` as JSON, made once per language for the knowledge being served (a
        reload, which replaces the knowledge base, makes it again)."""
        kb = svc.holder.current.kb
        cached = self._programmes.get(lang)
        if cached is None or cached[0] is not kb:
            cached = (kb, json.dumps(programme(kb, lang), ensure_ascii=False, separators=(",", ":")))
            self._programmes[lang] = cached
        return cached[1]

    async def _starred(self, svc: Services, user_id: int) -> list[str]:
        return [s.id for s in await svc.agenda.sessions_of(user_id)]

    async def _programme(self, request: web.Request) -> web.Response:
        found = await self._user(request)
        if isinstance(found, web.Response):
            return found
        user, svc, lang = found
        starred = json.dumps(await self._starred(svc, user.id))
        body = f'{{"starred":{starred},"programme":{self._programme_json(svc, lang)}}}'
        response = web.Response(
            text=body,
            content_type="application/json",
            headers={**_HEADERS, "Cache-Control": "no-store"},
        )
        response.enable_compression()
        return response

    async def _bookmark(self, request: web.Request) -> web.Response:
        found = await self._user(request)
        if isinstance(found, web.Response):
            return found
        user, svc, _ = found
        session_id = request.match_info["session_id"]
        state = await svc.agenda.set_bookmark(user.id, session_id, request.method == "PUT")
        if state is None:
            return self._json({"error": "unknown session"}, 404)
        log.info("user %s %s %s in the Mini App", user.id, "bookmarked" if state else "removed", session_id)
        return self._json({"id": session_id, "starred": await self._starred(svc, user.id)})

    async def _ask_about(self, request: web.Request) -> web.Response:
        found = await self._user(request)
        if isinstance(found, web.Response):
            return found
        user, svc, lang = found
        session_id = request.match_info["session_id"]
        if svc.agenda.session(session_id) is None:
            return self._json({"error": "unknown session"}, 404)
        if self._ask is None:
            return self._json({"error": "not available"}, 501)
        await self._ask(user.id, session_id, lang)
        return self._json({"sent": True}, 202)
