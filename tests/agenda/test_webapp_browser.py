"""The programme Mini App in a real headless browser (the system's Chromium driven by Playwright) against the
real bot and the local Bot API fake: days, venue filter, search by a speaker's name in Thai and in Chinese,
bookmarks shared with /myagenda, the session's detail, and a screenshot per language and theme at 360 px
(kept in ``tests/artifacts/``).

Skipped, saying why, when Playwright or Chromium (``/usr/bin/chromium``, Debian's package, which
``make setup`` installs when it runs as root) is missing. One browser for the whole module.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from bot_harness import BotDriver, driving, free_port
from miniapp_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DARK,
    LIGHT,
    PUBLIC_URL,
    init_data,
    page_url,
    write_knowledge,
)

from index.embedders import Embedder
from index.engine import Engine

pytestmark = pytest.mark.asyncio(loop_scope="module")

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
WIDTH = 360


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (`make setup` installs Debian's chromium when run as root)")
    async_api = pytest.importorskip("playwright.async_api", reason="Playwright is not installed (dev extra)")
    async with async_api.async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except async_api.Error as exc:
            pytest.skip(f"Chromium at {CHROMIUM} cannot start here: {exc.message.splitlines()[0]}")
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    knowledge = write_knowledge(tmp_path_factory.mktemp("knowledge"))
    return Engine.load(knowledge, tmp_path_factory.mktemp("index"), embedder=embedder)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotDriver]:
    port = free_port()
    data = tmp_path_factory.mktemp("data")
    async with driving(engine, data, PUBLIC_URL=PUBLIC_URL, WEBHOOK_PORT=str(port)) as driver:
        driver.port = port  # type: ignore[attr-defined]
        yield driver


async def open_page(
    browser: Any, bot: BotDriver, user_id: int, lang: str, theme: dict[str, str] = LIGHT
) -> Any:
    """The Mini App as Telegram opens it for the user, at 360 px, once it has rendered the programme."""
    page = await browser.new_page(viewport={"width": WIDTH, "height": 740}, device_scale_factor=2)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    port = bot.port  # type: ignore[attr-defined]
    await page.goto(page_url(port, init_data(bot.fake.token, user_id, lang), theme))
    await page.wait_for_selector("body[data-ready]")
    assert await page.get_attribute("body", "data-ready") == "1"
    return page


async def shown(page: Any) -> list[str]:
    """The sessions listed, in order."""
    return await page.eval_on_selector_all("#list .card", "cards => cards.map(c => c.dataset.session)")


async def test_thai_user_browses_filters_searches_and_bookmarks(browser: Any, bot: BotDriver) -> None:
    await bot.services.users.set_language(7, "th")  # the bot's setting, not Telegram's "en"
    page = await open_page(browser, bot, 7, "en")
    assert await page.get_attribute("html", "lang") == "th"
    days = await page.eval_on_selector_all("#days .day", "tabs => tabs.map(t => t.dataset.day)")
    assert days == ["2023-11-08", "2023-11-09", "2023-11-10", "undated"]
    assert await page.inner_text('#days .day[aria-selected="true"] b') == "8 พ.ย."
    assert await shown(page) == ["opening-ceremony", "data-forum", "ai-forum"]

    await page.select_option("#venue", "xizha")
    assert await shown(page) == ["ai-forum"]
    await page.click('#days .day[data-day="2023-11-09"]')
    assert await shown(page) == ["youth-forum"], "the venue filter holds across days"
    await page.select_option("#venue", "")
    await page.select_option("#topic", "data")
    await page.click('#days .day[data-day="2023-11-08"]')
    assert await shown(page) == ["data-forum"]
    await page.select_option("#topic", "")

    await page.locator("#q").press_sequentially("สมชาย ประ")
    assert await shown(page) == ["youth-forum"], "found by the speaker's Thai name, across days"
    await page.click('[data-session="youth-forum"] .star')
    await page.wait_for_selector('[data-session="youth-forum"] .star[aria-pressed="true"]')
    await page.wait_for_selector("#toast:has-text('เพิ่มในกำหนดการของคุณแล้ว')")

    mine = await bot.say(7, "/myagenda")
    assert "ฟอรัมเยาวชน" in mine.params["text"], "the Mini App's star is in /myagenda"
    await bot.ack(7, "st:opening-ceremony:1")  # and a star from the chat shows in the Mini App
    await page.reload()
    await page.wait_for_selector("body[data-ready='1']")
    assert await page.get_attribute('[data-session="opening-ceremony"] .star', "aria-pressed") == "true"
    assert await page.get_attribute('[data-session="ai-forum"] .star', "aria-pressed") == "false"
    await page.click("#mine")
    assert await shown(page) == ["opening-ceremony", "youth-forum"]
    await page.click("#mine")

    await page.click('[data-session="ai-forum"] .title')
    detail = page.locator("#detail")
    assert await detail.is_visible()
    assert await detail.locator("h1").inner_text() == "ฟอรัมปัญญาประดิษฐ์"
    text = await detail.inner_text()
    assert "14:00–17:30 น. (UTC+8)" in text and "เขตท่องเที่ยวซีจ๋า, ห้องประชุม 2" in text
    assert "จาง เว่ย" in text and "นักวิจัยปัญญาประดิษฐ์" in text
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "miniapp-th-light-detail.png")
    href = await detail.locator("a").get_attribute("href")
    assert href.startswith("https://www.openstreetmap.org/search?query=Xizha")
    await page.click("#ask")
    card = await bot.message_to(7, "ฟอรัมปัญญาประดิษฐ์")
    assert "จาง เว่ย" in card.params["text"]
    await page.evaluate("window.Telegram.WebView.receiveEvent('back_button_pressed')")  # Telegram's back
    assert not await detail.is_visible()

    port = bot.port  # type: ignore[attr-defined]
    assert all(url.startswith(f"http://127.0.0.1:{port}/") for url in page.requests), "nothing from elsewhere"
    await page.close()


async def test_chinese_user_finds_speakers_typed_in_chinese(browser: Any, bot: BotDriver) -> None:
    page = await open_page(browser, bot, 8, "zh")
    assert await page.get_attribute("#q", "placeholder") == "搜索会议、嘉宾、内容"
    await page.locator("#q").press_sequentially("张伟")
    assert await shown(page) == ["ai-forum"]
    await page.fill("#q", "")
    await page.locator("#q").press_sequentially("颂猜巴实")  # written 颂猜·巴实 in the knowledge
    assert await shown(page) == ["youth-forum"]
    await page.fill("#q", "")
    await page.locator("#q").press_sequentially("Zhang Wei")  # and in Latin letters too
    assert await shown(page) == ["ai-forum"]
    await page.click('[data-session="ai-forum"] .star')
    await page.wait_for_selector('[data-session="ai-forum"] .star[aria-pressed="true"]')
    mine = await bot.say(8, "/myagenda", language_code="zh")
    assert "人工智能论坛" in mine.params["text"]
    assert await bot.services.agenda.store.bookmarks(8) == ["ai-forum"]
    await page.evaluate("t => window.Telegram.WebView.receiveEvent('theme_changed', {theme_params: t})", DARK)
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == _rgb(
        DARK["secondary_bg_color"]
    )
    await page.locator("#q").fill("没有这个会议")
    assert await shown(page) == []
    assert await page.inner_text("#list .empty") == "没有符合条件的会议。"
    await page.close()


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("lang", ["en", "zh", "th"])
async def test_screenshots_in_each_language_and_theme(browser: Any, bot: BotDriver, lang: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for name, theme in (("light", LIGHT), ("dark", DARK)):
        page = await open_page(browser, bot, 30, lang, theme)
        assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == _rgb(
            theme["secondary_bg_color"]
        )
        card = page.locator(".card").first
        assert await card.evaluate("c => getComputedStyle(c).backgroundColor") == _rgb(theme["bg_color"])
        assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH, "no sideways scrolling"
        title = await page.inner_text(".card .title")
        assert title == {"en": "Opening Ceremony", "zh": "开幕式", "th": "พิธีเปิด"}[lang]
        await page.screenshot(path=ARTIFACTS / f"miniapp-{lang}-{name}.png", full_page=True)
        await page.close()


async def test_outside_telegram_the_page_says_where_to_open_it(browser: Any, bot: BotDriver) -> None:
    page = await browser.new_page(viewport={"width": WIDTH, "height": 640})
    await page.goto(f"http://127.0.0.1:{bot.port}/summit/app/")  # type: ignore[attr-defined]
    await page.wait_for_selector("body[data-ready='error']")
    assert re.search("open it from the bot's Programme button", await page.inner_text("#list"))
    await page.close()
