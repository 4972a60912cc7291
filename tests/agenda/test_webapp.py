"""The programme Mini App without a browser: initData signatures, the programme data, and the JSON API, the
page, the buttons and the menu button of the real bot against the local Bot API fake."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
import yaml
from bot_harness import BotDriver, buttons, driving, free_port, until
from miniapp_harness import PUBLIC_URL, init_data, write_knowledge

from bot.config import ConfigError, Settings, settings_from
from bot.webapp.initdata import InvalidInitData, sign, verify
from bot.webapp.programme import programme
from index.embedders import Embedder
from index.engine import Engine
from index.knowledge import KnowledgeBase, load_knowledge, validate_documents

TOKEN = "123456:TEST-token"
OTHER_TOKEN = "654321:OTHER-token"


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_knowledge(tmp_path_factory.mktemp("knowledge"))


@pytest.fixture(scope="module")
def kb(knowledge: Path) -> KnowledgeBase:
    return load_knowledge(knowledge)


@pytest.fixture(scope="module")
def engine(knowledge: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    return Engine.load(knowledge, tmp_path_factory.mktemp("index"), embedder=embedder)


# --------------------------------------------------------------------- initData


def test_valid_init_data_names_its_user() -> None:
    data = sign(TOKEN, {"id": 42, "first_name": "Ann", "language_code": "th"}, auth_date=1_700_000_000)
    user = verify(data, TOKEN, max_age=60, now=1_700_000_030)
    assert (user.id, user.language_code, user.first_name) == (42, "th", "Ann")


def _with(data: str, **changes: str) -> str:
    fields = dict(parse_qsl(data))
    fields.update(changes)
    return urlencode(fields)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("other user", "wrong signature"),
        ("other bot", "wrong signature"),
        ("forged hash", "wrong signature"),
        ("no hash", "wrong signature"),
        ("expired", "old"),
        ("future", "future"),
        ("repeated field", "repeated"),
        ("empty", "no initData"),
        ("not a query", "not a query string"),
        ("no user", "no user"),
    ],
)
def test_bad_init_data_is_refused(case: str, reason: str) -> None:
    now = 1_700_000_000
    good = sign(TOKEN, {"id": 42, "first_name": "Ann"}, auth_date=now)
    data = {
        "other user": _with(good, user=json.dumps({"id": 43, "first_name": "Ann"}, separators=(",", ":"))),
        "other bot": sign(OTHER_TOKEN, {"id": 42}, auth_date=now),
        "forged hash": _with(good, hash="0" * 64),
        "no hash": urlencode({k: v for k, v in parse_qsl(good) if k != "hash"}),
        "expired": sign(TOKEN, {"id": 42}, auth_date=now - 3601),
        "future": sign(TOKEN, {"id": 42}, auth_date=now + 3600),
        "repeated field": good + "&user=" + json.dumps({"id": 43}),
        "empty": "",
        "not a query": "%%%",
        "no user": sign(TOKEN, {"first_name": "nobody"}, auth_date=now),
    }[case]
    with pytest.raises(InvalidInitData, match=reason):
        verify(data, TOKEN, max_age=3600, now=now)


def test_public_url_must_be_https() -> None:
    assert settings_from({"PUBLIC_URL": "https://bot.example.org/summit/"}).webapp_url == (
        "https://bot.example.org/summit/app/"
    )
    assert settings_from({"PUBLIC_URL": "https://bot.example.org/summit"}).webapp_path == "/summit/app"
    assert settings_from({}).webapp_url is None
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        settings_from({"PUBLIC_URL": "http://bot.example.org"})


# --------------------------------------------------------------------- programme data


def test_programme_in_chinese(kb: KnowledgeBase) -> None:
    data = programme(kb, "zh")
    assert [d["key"] for d in data["days"]] == ["2023-11-08", "2023-11-09", "2023-11-10", "undated"]
    assert data["days"][0]["short"] == "11月8日" and data["days"][0]["weekday"] == "周三"
    assert data["zone"] == "UTC+8"
    sessions = {s["id"]: s for s in data["sessions"]}
    assert [s["id"] for s in data["sessions"][:3]] == ["opening-ceremony", "data-forum", "ai-forum"]
    ai = sessions["ai-forum"]
    assert (ai["title"], ai["time"], ai["place"]) == ("人工智能论坛", "14:00–17:30", "西栅景区, 第二会议厅")
    assert ai["speakers"] == [{"name": "张伟", "role": "人工智能研究员"}]
    assert {"Zhang Wei", "จาง เว่ย"} <= set(ai["also"]), "speakers are found by their names in any script"
    assert ai["topics"] == ["论坛", "人工智能"]
    assert sessions["opening-ceremony"]["map"].startswith(
        "https://www.openstreetmap.org/?mlat=30.7419&mlon=120"
    )
    assert "search?query=Xizha" in ai["map"], "a venue without coordinates gets a map search"
    assert sessions["night-tour"]["map"] is None and sessions["night-tour"]["day"] == "undated"
    assert {v["id"] for v in data["venues"]} == {"expo-center", "xizha"}
    assert data["texts"]["search"] == "搜索会议、嘉宾、内容"


def test_every_page_text_is_in_three_languages() -> None:
    from bot.webapp.programme import texts

    for key, value in texts().items():
        entries = value.values() if key == "topics" else [value]
        for entry in entries:
            assert set(entry) == {"en", "zh", "th"}, key


# --------------------------------------------------------------------- the bot's API


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    port = free_port()
    async with driving(engine, tmp_path, PUBLIC_URL=PUBLIC_URL, WEBHOOK_PORT=str(port)) as driver:
        driver.port = port  # type: ignore[attr-defined]
        yield driver


async def call(
    bot: BotDriver, method: str, path: str, data: str | None = None, scheme: str = "tma"
) -> tuple[int, dict]:
    headers = {"Authorization": f"{scheme} {data}"} if data is not None else {}
    url = f"http://127.0.0.1:{bot.port}/summit/app/api/{path}"  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http, http.request(method, url, headers=headers) as response:
        return response.status, await response.json()


async def stored(bot: BotDriver, *users: int) -> list[str]:
    return [s for user in users for s in await bot.services.agenda.store.bookmarks(user)]


async def test_bookmarks_are_those_of_myagenda_both_ways(bot: BotDriver) -> None:
    data = init_data(bot.fake.token, 5, "zh")
    status, body = await call(bot, "GET", "programme", data)
    assert status == 200
    assert body["starred"] == [] and body["programme"]["lang"] == "zh"

    status, body = await call(bot, "PUT", "bookmarks/ai-forum", data)
    assert (status, body["starred"]) == (200, ["ai-forum"])
    mine = await bot.say(5, "/myagenda", language_code="zh")
    assert "人工智能论坛" in mine.params["text"], "a star set in the Mini App is in /myagenda"
    assert ("✖ 人工智能论坛", "myx:ai-forum") in buttons(mine)

    await bot.ack(5, "st:data-forum:1")
    status, body = await call(bot, "GET", "programme", data)
    assert set(body["starred"]) == {"ai-forum", "data-forum"}, "a star set in the chat is in the Mini App"

    status, body = await call(bot, "DELETE", "bookmarks/ai-forum", data)
    assert (status, body["starred"]) == (200, ["data-forum"])
    assert await stored(bot, 5) == ["data-forum"]
    status, _ = await call(bot, "PUT", "bookmarks/no-such-session", data)
    assert status == 404
    assert await stored(bot, 5) == ["data-forum"]


async def test_language_setting_wins_over_telegrams(bot: BotDriver) -> None:
    await bot.services.users.set_language(6, "th")
    _, body = await call(bot, "GET", "programme", init_data(bot.fake.token, 6, "en"))
    assert body["programme"]["lang"] == "th"
    assert body["programme"]["sessions"][0]["title"] == "พิธีเปิด"


async def test_wrong_init_data_gets_401_and_changes_nothing(bot: BotDriver) -> None:
    token = bot.fake.token
    good = init_data(token, 5)
    refused = {
        "forged": _with(good, hash="ab" * 32),
        "expired": init_data(token, 5, age=86_400 + 60),
        "other user": _with(good, user=json.dumps({"id": 6, "first_name": "Eve"}, separators=(",", ":"))),
        "other bot": init_data(OTHER_TOKEN, 5),
        "empty": "",
    }
    for case, data in refused.items():
        for method, path in (
            ("PUT", "bookmarks/ai-forum"),
            ("DELETE", "bookmarks/ai-forum"),
            ("GET", "programme"),
        ):
            status, body = await call(bot, method, path, data)
            assert (status, body) == (401, {"error": "unauthorised"}), (case, method)
        status, _ = await call(bot, "POST", "ask/ai-forum", data)
        assert status == 401, case
    status, _ = await call(bot, "PUT", "bookmarks/ai-forum")  # no Authorization header
    assert status == 401
    status, _ = await call(bot, "PUT", "bookmarks/ai-forum", good, scheme="Bearer")
    assert status == 401
    assert await stored(bot, 5, 6) == [], "nothing stored for anyone"
    assert bot.messages_to(5) == [] and bot.messages_to(6) == []


async def test_the_user_is_always_the_one_init_data_names(bot: BotDriver) -> None:
    data = init_data(bot.fake.token, 5)
    url = f"http://127.0.0.1:{bot.port}/summit/app/api/bookmarks/youth-forum?user_id=6"  # type: ignore[attr-defined]
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, headers={"Authorization": f"tma {data}"}, json={"user_id": 6}) as response,
    ):
        assert response.status == 200
    assert await stored(bot, 5) == ["youth-forum"]
    assert await stored(bot, 6) == []


async def test_ask_about_a_session_sends_its_card_to_the_chat(bot: BotDriver) -> None:
    data = init_data(bot.fake.token, 5, "th")
    status, body = await call(bot, "POST", "ask/ai-forum", data)
    assert (status, body) == (202, {"sent": True})
    card = await bot.message_to(5, "ฟอรัมปัญญาประดิษฐ์")
    assert buttons(card) == [("⭐ เพิ่มในกำหนดการของฉัน", "st:ai-forum:1")]
    follow = await bot.say(5, "อยู่ที่ไหน")  # "where is it?" is about the session just sent
    assert "ซีจ๋า" in follow.params["text"]
    status, _ = await call(bot, "POST", "ask/no-such-session", data)
    assert status == 404


async def test_api_calls_are_rate_limited_per_user(engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    env = {"PUBLIC_URL": PUBLIC_URL, "WEBHOOK_PORT": str(port), "WEBAPP_RATE_LIMIT": "3"}
    async with driving(engine, tmp_path, **env) as bot:
        bot.port = port  # type: ignore[attr-defined]
        data = init_data(bot.fake.token, 5)
        for _ in range(3):
            assert (await call(bot, "GET", "programme", data))[0] == 200
        url = f"http://127.0.0.1:{port}/summit/app/api/bookmarks/ai-forum"
        async with (
            aiohttp.ClientSession() as http,
            http.put(url, headers={"Authorization": f"tma {data}"}) as response,
        ):
            assert response.status == 429
            assert response.headers["Retry-After"] == "30"
        assert await stored(bot, 5) == [], "a refused call changes nothing"
        assert (await call(bot, "GET", "programme", init_data(bot.fake.token, 6)))[0] == 200


async def test_page_buttons_and_menu_button(bot: BotDriver) -> None:
    base = f"http://127.0.0.1:{bot.port}/summit/app"  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/") as page:
            html = await page.text()
            assert page.status == 200 and page.content_type == "text/html"
            assert "'self'" in page.headers["Content-Security-Policy"]
        script = html.split('<script src="')[1].split('"')[0]
        assert script.startswith("static/app.js?v=") and "http" not in html, "nothing from another host"
        async with http.get(f"{base}/{script}") as js:
            assert js.status == 200 and "immutable" in js.headers["Cache-Control"]
            assert "tgWebAppData" in await js.text()
        async with http.get(base + "/static/../config.py") as escape:
            assert escape.status == 404
        async with http.get(base, allow_redirects=False) as bare:
            assert (bare.status, bare.headers["Location"]) == (301, "/summit/app/")

    menu = bot.fake.menu_buttons[None]
    assert menu == {"type": "web_app", "text": "Programme", "web_app": {"url": PUBLIC_URL + "/app/"}}
    agenda = await bot.say(5, "/agenda")
    first = agenda.params["reply_markup"]["inline_keyboard"][0][0]
    assert first == {"text": "🗓 Programme", "web_app": {"url": PUBLIC_URL + "/app/"}}
    mine = await bot.say(5, "/myagenda")
    assert mine.params["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"] == PUBLIC_URL + "/app/"
    await bot.say(9, "/start", language_code="th")
    await until(lambda: 9 in bot.fake.menu_buttons, what="the Thai chat's menu button")
    assert bot.fake.menu_buttons[9]["text"] == "กำหนดการ", "labelled in the user's language"
    await bot.ack(9, "lang:zh")
    await until(lambda: bot.fake.menu_buttons[9].get("text") == "日程", what="the menu button in Chinese")
    await bot.ack(9, "lang:en")
    await until(lambda: bot.fake.menu_buttons[9] == {"type": "default"}, what="back to the bot's English one")
    group = await bot.say(5, "/agenda", chat_id=-100, chat_type="supergroup")
    assert all("web_app" not in b for row in group.params["reply_markup"]["inline_keyboard"] for b in row), (
        "Telegram allows Mini App buttons only in private chats"
    )


async def test_without_public_url_the_chat_works_as_before(engine: Engine, tmp_path: Path) -> None:
    async with driving(engine, tmp_path) as bot:
        agenda = await bot.say(5, "/agenda")
        assert all(
            "web_app" not in b for row in agenda.params["reply_markup"]["inline_keyboard"] for b in row
        )
        assert [d for _, d in buttons(agenda)][:2] == ["ag:2023-11-08", "ag:2023-11-09"]
        assert bot.fake.menu_buttons[None] == {"type": "default"}


async def test_webhook_mode_serves_the_page_beside_the_webhook(engine: Engine, tmp_path: Path) -> None:
    async with driving(engine, tmp_path, "webhook", PUBLIC_URL=PUBLIC_URL) as bot:
        webhook = bot.fake.webhook_url
        assert webhook is not None
        port = int(webhook.split(":")[2].split("/")[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/summit/app/") as page:
                assert page.status == 200
            data = init_data(bot.fake.token, 5)
            url = f"http://127.0.0.1:{port}/summit/app/api/bookmarks/closing-ceremony"
            async with http.put(url, headers={"Authorization": f"tma {data}"}) as response:
                assert response.status == 200
        assert await bot.services.agenda.store.bookmarks(5) == ["closing-ceremony"]


def test_init_data_max_age_is_a_setting() -> None:
    assert settings_from({"WEBAPP_MAX_AGE": "600"}).webapp_max_age == 600
    with pytest.raises(ConfigError, match="WEBAPP_MAX_AGE"):
        settings_from({"WEBAPP_MAX_AGE": "soon"})


async def test_a_knowledge_reload_shows_in_the_programme_and_alerts_follow(
    bot: BotDriver, knowledge: Path
) -> None:
    data = init_data(bot.fake.token, 5)
    _, before = await call(bot, "GET", "programme", data)
    opening = next(s for s in before["programme"]["sessions"] if s["id"] == "opening-ceremony")
    assert opening["time"] == "09:30–11:00"
    assert (await call(bot, "PUT", "bookmarks/opening-ceremony", data))[0] == 200

    raw = yaml.safe_load((knowledge / "summit.yaml").read_text(encoding="utf-8"))
    for session in raw["sessions"]:
        if session["id"] == "opening-ceremony":
            session.update(start="10:00", end="11:30")
    moved = copy.copy(bot.services.holder.current)
    moved.kb = validate_documents({"summit.yaml": yaml.safe_dump(raw, allow_unicode=True)})
    await bot.services.holder.swap(moved)
    alert = await bot.message_to(5, "⚠️")
    moved_text = "09:30–11:00 (UTC+8) → <b>8 November 2023, 10:00–11:30 (UTC+8)</b>"
    assert moved_text in alert.params["text"], "a star from the Mini App gets alerts"
    _, after = await call(bot, "GET", "programme", data)
    opening = next(s for s in after["programme"]["sessions"] if s["id"] == "opening-ceremony")
    assert opening["time"] == "10:00–11:30"


def test_run_prints_the_mini_app_address(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``summit-bot run`` names the Mini App's address (the server itself is tested above, in polling and
    webhook mode, by the same ``running`` that ``run`` uses)."""
    from typer.testing import CliRunner

    from bot import cli, startup
    from bot.telegram import app as telegram_app

    started: list[Settings] = []
    monkeypatch.setattr(startup, "preflight", lambda settings: None)
    monkeypatch.setattr(telegram_app, "run_bot", lambda settings, webhook=False: started.append(settings))
    monkeypatch.chdir(tmp_path)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "SUMMIT_BOT_DATA_DIR": str(tmp_path / "data"), "WEBHOOK_PORT": "8099"}
    result = CliRunner().invoke(cli.app, ["run"], env={**env, "PUBLIC_URL": PUBLIC_URL})
    assert result.exit_code == 0, result.output
    assert f"Programme Mini App: {PUBLIC_URL}/app/ (served on 127.0.0.1:8099/summit/app/" in result.output
    assert started[0].webapp_url == PUBLIC_URL + "/app/"
    result = CliRunner().invoke(cli.app, ["run"], env={**env, "PUBLIC_URL": ""})
    assert result.exit_code == 0 and "Mini App" not in result.output
