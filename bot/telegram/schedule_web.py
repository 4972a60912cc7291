"""The programme and the personal calendar feeds on the bot's own web server.

Both are served below the path of PUBLIC_URL when it has one (``https://bot.example.org/summit``:
``/summit/schedule.json``).

* ``GET /schedule.json``, ``/schedule.xml``, ``/schedule.ics``: the served programme
  (:mod:`bot.schedule.export`), made once per knowledge version and language (``?lang=zh``), with an
  ``ETag`` so apps that poll get ``304 Not Modified`` until the programme changes.
* ``GET /calendar/<token>.ics``: an attendee's bookmarked sessions (:mod:`bot.services.calendar_feed`);
  404 for a wrong or revoked token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from bot.schedule.export import FORMATS, MEDIA_TYPES
from bot.services import Services
from index.types import LANGS

log = logging.getLogger(__name__)

Route = Callable[[web.Application], None]


def routes(services: Callable[[], Services | None], prefix: str = "") -> Route:
    """What the web server adds for the programme; ``services`` gives the running bot's services, ``prefix``
    the path the public addresses start with (PUBLIC_URL's path, as for the Mini App)."""
    cache: dict[tuple[str, str, str], tuple[bytes, str]] = {}

    async def export(request: web.Request) -> web.Response:
        svc = services()
        if svc is None:
            return web.Response(status=503, text="starting")
        fmt = request.match_info["fmt"]
        lang = request.query.get("lang", "en")
        if fmt not in FORMATS or lang not in LANGS:
            raise web.HTTPNotFound()
        kb = svc.holder.current.kb
        key = (kb.content_hash, fmt, lang)
        if key not in cache:
            cache.clear()  # one knowledge version at a time
            content = FORMATS[fmt](kb, lang).content  # type: ignore[operator]
            cache[key] = (content, f'"{kb.content_hash[:16]}-{fmt}-{lang}"')
        content, etag = cache[key]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=content,
            headers={"ETag": etag, "Content-Type": f"{MEDIA_TYPES[fmt]}; charset=utf-8"},
        )

    async def feed(request: web.Request) -> web.Response:
        svc = services()
        feeds = getattr(svc, "calendar_feeds", None) if svc is not None else None
        if feeds is None:
            return web.Response(status=503, text="starting")
        calendar = await feeds.feed(request.match_info["token"])
        if calendar is None:
            log.info("calendar feed refused: unknown or revoked link")
            return web.Response(status=404, text="unknown or revoked calendar link")
        return web.Response(
            body=calendar.content,
            headers={"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, no-cache"},
        )

    def add(app: web.Application) -> None:
        app.router.add_get(prefix + "/schedule.{fmt}", export)
        app.router.add_get(prefix + "/calendar/{token}.ics", feed)

    return add
