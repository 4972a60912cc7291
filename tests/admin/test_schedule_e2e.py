"""End to end: an admin uploads a programme spreadsheet in the chat; it goes through the same preview,
Apply and Cancel as a knowledge file, and attendees get the new sessions with day, time and zone."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from bot_harness import buttons, free_port, running_bot
from botapi_fake import FakeBotApi
from telegram.ext import Application
from test_admin_e2e import (  # noqa: F401  (fixtures)
    ADMIN,
    ATTENDEE,
    OTHER_ADMIN,
    Admin,
    admin,
    admin_settings,
    built,
    fresh_data_dir,
)

from bot.storage.knowledge_versions import VersionStore
from bot.telegram.schedule import SYNC_KEY
from index.engine import Engine

PROGRAMME = (
    "id,day,start,end,room,title_en,title_zh,title_th,speakers,track\n"
    "quantum-lunch,2023-11-09,12:15,13:45,Lotus Hall,Quantum Networking Lunch Talk,量子网络午餐会,"
    "เสวนาเครือข่ายควอนตัมมื้อกลางวัน,Ada Lovelace; Alan Turing,Science\n"
)


async def test_a_bad_spreadsheet_is_refused_with_its_row_and_column(admin: Admin) -> None:  # noqa: F811
    bad = PROGRAMME + "late-talk,2023-11-09,25:10,26:00,Lotus Hall,Late Talk,,,,\n"
    reply = await admin.upload(ADMIN, "programme.csv", bad)
    text = reply.params["text"]
    assert "Nothing changed" in text and buttons(reply) == []
    assert "row 3, column C (start)" in text and "25:10" in text
    assert VersionStore(admin.data_dir).history() == []


async def test_a_programme_too_large_is_refused_before_it_is_downloaded(admin: Admin) -> None:  # noqa: F811
    limit = admin.services.knowledge.max_upload_bytes * 10
    reply = await admin.upload(ADMIN, "programme.csv", PROGRAMME + "#" * limit)
    assert f"larger than {limit // 1000} kB" in reply.params["text"] and buttons(reply) == []
    assert not any(call.method == "getFile" for call in admin.fake.calls)
    assert VersionStore(admin.data_dir).history() == []


async def test_a_programme_upload_is_previewed_applied_and_answered(admin: Admin) -> None:  # noqa: F811
    preview = await admin.upload(ADMIN, "programme.csv", PROGRAMME)
    text = preview.params["text"]
    assert [label for label, _ in buttons(preview)] == ["Apply", "Cancel"]
    assert "1 sessions, 1 new rooms" in text and "Asia/Shanghai" in text
    assert "quantum-lunch" in text and "Lotus Hall" in text
    await admin.press(ADMIN, buttons(preview)[0][1], contains="is live")
    answer = (await admin.say(ATTENDEE, "When and where is the Quantum Networking Lunch Talk?")).params[
        "text"
    ]
    assert "9 November 2023" in answer and "12:15–13:45 (UTC+8)" in answer and "Lotus Hall" in answer
    again = await admin.upload(ADMIN, "programme.csv", PROGRAMME)
    assert "changes nothing" in again.params["text"]


class Served:
    """A programme spreadsheet on a local HTTP server, with an ETag, counting full answers and 304s."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.full = 0
        self.not_modified = 0

    def tag(self) -> str:
        return '"' + hashlib.sha256(self.text.encode()).hexdigest()[:16] + '"'

    @asynccontextmanager
    async def at_url(self) -> AsyncIterator[str]:
        """Serves the text on 127.0.0.1 while the block runs; yields its URL."""
        app = web.Application()
        app.router.add_get("/programme.csv", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/programme.csv"
        finally:
            await runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == self.tag():
            self.not_modified += 1
            return web.Response(status=304)
        self.full += 1
        return web.Response(text=self.text, content_type="text/csv", headers={"ETag": self.tag()})


@asynccontextmanager
async def syncing_bot(
    served: Served, index: tuple[Engine, Path], tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[Application, Admin, str]]:
    """A bot whose SCHEDULE_URL is ``served`` (polled only when a test asks), with its admins' driver and
    the URL; ``settings`` replace more of the admins' settings."""
    async with served.at_url() as url, FakeBotApi() as fake:
        chosen = dataclasses.replace(
            admin_settings(fake, fresh_data_dir(index, tmp_path)),
            schedule_url=url,
            schedule_poll_seconds=3600,
            **settings,
        )
        async with running_bot(chosen, index[0]) as bot:
            yield bot, Admin(fake, bot, data_dir=chosen.data_dir), url


async def test_schedule_url_changes_go_to_the_admins_once_each(
    built: tuple[Engine, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    served = Served(PROGRAMME)
    async with syncing_bot(served, built, tmp_path) as (bot, driver, _):
        first = await driver.message_to(ADMIN, "quantum-lunch")
        assert [label for label, _ in buttons(first)] == ["Apply", "Cancel"]
        await driver.message_to(OTHER_ADMIN, "quantum-lunch")
        await driver.press(ADMIN, buttons(first)[0][1], contains="is live")
        sync = bot.bot_data[SYNC_KEY]
        assert await sync.check() is False, "unchanged: 304"
        served.text = PROGRAMME.replace("12:15,13:45", "14:15,15:45")
        assert await sync.check() is True
        moved = await driver.message_to(ADMIN, "Changed")
        assert "quantum-lunch" in moved.params["text"] and buttons(moved)
        assert await sync.check() is False
        assert len(driver.messages_to(ADMIN, "Proposed change")) == 2, "one preview per change"
        assert (served.full, served.not_modified) == (2, 2)


async def test_schedule_auto_apply_puts_a_change_live_and_tells_the_admins(
    built: tuple[Engine, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    served = Served(PROGRAMME)
    async with syncing_bot(served, built, tmp_path, schedule_auto_apply=True) as (bot, driver, url):
        live = await driver.message_to(ADMIN, "version <b>v2</b> is live")
        assert url in live.params["text"] and buttons(live) == []
        answer = await driver.say(ATTENDEE, "When and where is the Quantum Networking Lunch Talk?")
        assert "12:15–13:45 (UTC+8)" in answer.params["text"]
        served.text = PROGRAMME.replace("Lotus Hall", "Orchid Hall")
        assert await bot.bot_data[SYNC_KEY].check() is True
        second = await driver.message_to(OTHER_ADMIN, "version <b>v3</b> is live")
        assert "quantum-lunch" not in second.params["text"] and buttons(second) == []
        moved = await driver.say(ATTENDEE, "Where is the Quantum Networking Lunch Talk?")
        assert "Orchid Hall" in moved.params["text"]


async def test_calendar_link_in_the_chat_and_the_feed_on_the_bots_web_server(
    built: tuple[Engine, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    port = free_port()
    async with FakeBotApi() as fake:
        settings = dataclasses.replace(
            admin_settings(fake, fresh_data_dir(built, tmp_path)),
            public_url="https://bot.example.org/summit",
            webhook_port=port,  # in polling mode, what the public reaches is served there with PUBLIC_URL set
        )
        async with running_bot(settings, built[0]) as bot:
            driver = Admin(fake, bot, data_dir=settings.data_dir)
            await driver.services.agenda.bookmark(ATTENDEE, "opening-ceremony")
            agenda = await driver.say(ATTENDEE, "/myagenda")
            assert "/calendarlink" in agenda.params["text"]
            reply = (await driver.say(ATTENDEE, "/calendarlink")).params["text"]
            link = next(
                word for word in reply.split() if word.startswith("https://bot.example.org/summit/calendar/")
            )
            path = link.removeprefix("https://bot.example.org")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    body = await response.read()
                    assert response.status == 200 and b"BEGIN:VEVENT" in body and b"opening-ceremony@" in body
                revoked = await driver.say(ATTENDEE, "/calendarlink_revoke")
                assert "no longer works" in revoked.params["text"]
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == 404
                async with http.get(f"http://127.0.0.1:{port}/summit/schedule.xml") as response:
                    assert response.status == 200 and b"<schedule>" in await response.read()
