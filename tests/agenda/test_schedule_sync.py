"""Keeping up with SCHEDULE_URL against a local HTTP server, and the programme and personal calendar
feeds served by the bot's web server."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import icalendar
import pytest
from aiohttp import web
from test_schedule import BERLIN, EMPTY_EVENT, FORMATS, imported, needs_formats

from bot.i18n import Translator
from bot.schedule.sync import Fetched, FetchError, ScheduleSync, fetch
from bot.services.agenda import AgendaService
from bot.services.calendar_feed import CalendarFeeds
from bot.services.engine_holder import EngineHolder
from bot.services.knowledge import KnowledgeService
from bot.services.schedule import ScheduleService
from bot.storage.database import Database
from bot.telegram.schedule_web import routes
from bot.telegram.webserver import Health, WebServer
from index.embedders import Embedder
from index.engine import Engine

pytestmark = needs_formats
TEXTS = Translator.load()


class Programme:
    """A changing schedule.json served with an ETag (or only Last-Modified), counting what it served."""

    def __init__(self, doc: dict[str, Any], *, etag: bool = True, conditional: bool = True) -> None:
        self.doc = doc
        self.version = 1
        self.etag = etag
        self.conditional = conditional
        self.full = 0
        self.not_modified = 0

    def tag(self) -> str:
        return f'"v{self.version}"'

    def stamp(self) -> str:
        return (dt.datetime(2020, 12, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=self.version)).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"
        )

    async def handle(self, request: web.Request) -> web.Response:
        if self.conditional and (
            (self.etag and request.headers.get("If-None-Match") == self.tag())
            or (not self.etag and request.headers.get("If-Modified-Since") == self.stamp())
        ):
            self.not_modified += 1
            return web.Response(status=304)
        self.full += 1
        headers = {"ETag": self.tag()} if self.etag else {"Last-Modified": self.stamp()}
        return web.json_response(self.doc, headers=headers)

    def move(self, guid: str, hours: int) -> None:
        for day in self.doc["schedule"]["conference"]["days"]:
            for events in day["rooms"].values():
                for event in events:
                    if event["guid"] == guid:
                        start = dt.datetime.fromisoformat(event["date"]) + dt.timedelta(hours=hours)
                        event["date"], event["start"] = start.isoformat(), start.strftime("%H:%M")
        self.version += 1


@pytest.fixture
async def served() -> AsyncIterator[tuple[Programme, str, list[Programme]]]:
    doc = json.loads((FORMATS / "pretalx-democon.json").read_text(encoding="utf-8"))
    programmes = [
        Programme(doc),
        Programme(copy.deepcopy(doc), etag=False),
        Programme(doc, conditional=False),
    ]
    app = web.Application()
    for index, programme in enumerate(programmes):
        app.router.add_get(f"/{index}/schedule.json", programme.handle)

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404)

    app.router.add_get("/missing", missing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield programmes[0], f"http://127.0.0.1:{port}", programmes
    finally:
        await runner.cleanup()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def test_one_diff_per_change_and_nothing_again_when_unchanged(
    served: tuple[Programme, str, list[Programme]], db: Database, tmp_path: Path, embedder: Embedder
) -> None:
    programme, base, _ = served
    data = tmp_path / "data"
    holder = EngineHolder(Engine.load(EMPTY_EVENT, data, embedder=embedder))
    knowledge = KnowledgeService(holder, db, data, EMPTY_EVENT)
    schedule = ScheduleService(knowledge, holder)
    diffs: list[tuple[int, int, int]] = []

    async def changed(fetched: Fetched) -> None:  # as with SCHEDULE_AUTO_APPLY
        result = await schedule.propose(1, fetched.name, fetched.data, "en", source=base)
        assert result.preview is not None
        diff = result.preview.diff
        diffs.append((len(diff.added), len(diff.changed), len(diff.removed)))
        await knowledge.apply(result.preview.proposal_id, 1)

    sync = ScheduleSync(f"{base}/0/schedule.json", changed, interval=3600)
    assert await sync.check() is True
    assert await sync.check() is False and await sync.check() is False
    assert (programme.full, programme.not_modified) == (1, 2), "unchanged: 304, nothing re-sent"
    talk = programme.doc["schedule"]["conference"]["days"][2]["rooms"]["Gray Room"][5]
    programme.move(talk["guid"], 2)
    assert await sync.check() is True
    assert await sync.check() is False
    assert diffs == [(38, 0, 0), (0, 1, 0)], "the import, then exactly the moved talk"
    assert (programme.full, programme.not_modified) == (2, 3)
    moved = holder.current.kb.by_id[talk["guid"]]
    assert moved.start == talk["start"]


async def test_last_modified_and_servers_that_ignore_conditions(
    served: tuple[Programme, str, list[Programme]],
) -> None:
    _, base, programmes = served
    seen: list[bytes] = []

    async def changed(fetched: Fetched) -> None:
        seen.append(fetched.data)

    by_date = ScheduleSync(f"{base}/1/schedule.json", changed)
    assert [await by_date.check() for _ in range(3)] == [True, False, False]
    assert programmes[1].not_modified == 2, "If-Modified-Since is sent back"
    stubborn = ScheduleSync(f"{base}/2/schedule.json", changed)
    assert [await stubborn.check() for _ in range(3)] == [True, False, False]
    assert programmes[2].full == 3 and len(seen) == 2, "the same body is not handed over twice"


async def test_a_failed_handling_is_tried_again_and_fetch_errors_are_clear(
    served: tuple[Programme, str, list[Programme]],
) -> None:
    _, base, _ = served
    calls = 0

    async def flaky(fetched: Fetched) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database busy")

    sync = ScheduleSync(f"{base}/0/schedule.json", flaky)
    with pytest.raises(RuntimeError):
        await sync.check()
    assert await sync.check() is True and calls == 2
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetch(f"{base}/missing")
    with pytest.raises(FetchError, match="not an http"):
        await fetch("file:///etc/passwd")


# ----------------------------------------------------------------- served by the bot's web server


class Knowledge:
    def __init__(self, kb: Any) -> None:
        self.kb = kb

    def __call__(self) -> Any:
        return self.kb


async def test_personal_feed_is_refused_for_wrong_or_revoked_tokens_and_follows_a_move(
    db: Database, tmp_path: Path
) -> None:
    doc = json.loads((FORMATS / "pretalx-democon.json").read_text(encoding="utf-8"))
    kb = imported(json.dumps(doc).encode())
    knowledge = Knowledge(kb)
    agenda = AgendaService(db, knowledge, TEXTS)
    feeds = CalendarFeeds(db, agenda)
    talk = doc["schedule"]["conference"]["days"][0]["rooms"]["Tan Room"][1]
    await db.users.touch_user(5, "zh")
    await agenda.bookmark(5, talk["guid"])
    token = await feeds.token(5)
    assert await feeds.token(5) == token, "the same link until it is revoked"
    svc = SimpleNamespace(holder=SimpleNamespace(current=SimpleNamespace(kb=kb)), calendar_feeds=feeds)
    server = WebServer(
        listen="127.0.0.1",
        port=0,
        health=Health(engine=lambda: None, database=lambda: None, api=None),
        routes=[routes(lambda: svc)],
    )
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def get(path: str, **headers: str) -> tuple[int, bytes, Any]:
                async with http.get(base + path, headers=headers) as response:
                    return response.status, await response.read(), response.headers.copy()

            status, body, _ = await get(f"/calendar/{token}.ics")
            assert status == 200
            [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
            assert str(event["uid"]).startswith(talk["guid"])
            assert event.decoded("dtstart").astimezone(BERLIN).strftime("%H:%M") == talk["start"]
            wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
            assert (await get(f"/calendar/{wrong}.ics"))[0] == 404
            assert (await get("/calendar/short.ics"))[0] == 404

            moved_doc = copy.deepcopy(doc)
            moved_talk = moved_doc["schedule"]["conference"]["days"][0]["rooms"]["Tan Room"][1]
            start = dt.datetime.fromisoformat(moved_talk["date"]) + dt.timedelta(hours=4)
            moved_talk["date"] = start.isoformat()
            knowledge.kb = imported(json.dumps(moved_doc).encode())
            status, body, _ = await get(f"/calendar/{token}.ics")
            [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
            assert event.decoded("dtstart").astimezone(BERLIN) == start.astimezone(BERLIN), "the new time"

            assert await feeds.revoke(5) is True
            assert (await get(f"/calendar/{token}.ics"))[0] == 404, "a revoked link is refused"
            renewed = await feeds.token(5)
            assert renewed != token and (await get(f"/calendar/{renewed}.ics"))[0] == 200

            status, body, headers = await get("/schedule.json")
            assert status == 200 and json.loads(body)["schedule"]["conference"]["title"] == "DemoCon"
            assert (await get("/schedule.json", **{"If-None-Match": headers["ETag"]}))[0] == 304
            status, body, _ = await get("/schedule.xml?lang=zh")
            assert status == 200 and body.startswith(b"<?xml")
            assert (await get("/schedule.pdf"))[0] == 404
    finally:
        await server.stop()
