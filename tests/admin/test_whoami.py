"""/whoami against the Bot API fake: anyone learns their numeric id (for ADMIN_IDS / ORGANISER_IDS) in
a private chat, staff also see their role, and no id is ever posted to a group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_harness import BotDriver, driving

from index.engine import Engine

GROUP = -100700


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    async with driving(engine, tmp_path, ADMIN_IDS="5001", ORGANISER_IDS="6001,6002") as running:
        yield running


async def test_whoami_tells_each_user_their_own_id_and_role(bot: BotDriver) -> None:
    attendee = (await bot.say(987654321, "/whoami")).params["text"]
    assert "<code>987654321</code>" in attendee
    assert "ADMIN_IDS or ORGANISER_IDS" in attendee and "You are" not in attendee

    admin = (await bot.say(5001, "/whoami")).params["text"]
    assert "<code>5001</code>" in admin and "admin of this bot" in admin

    organiser = (await bot.say(6002, "/whoami")).params["text"]
    assert "<code>6002</code>" in organiser and "organiser of this bot" in organiser
    assert "admin" not in organiser


async def test_whoami_speaks_the_users_language(bot: BotDriver) -> None:
    thai = (await bot.say(4242, "/whoami", language_code="th")).params["text"]
    assert thai.startswith("รหัสผู้ใช้ Telegram ของคุณคือ <code>4242</code>")
    chinese = (await bot.say(4343, "/whoami", language_code="zh")).params["text"]
    assert chinese.startswith("您的 Telegram 用户 ID 是 <code>4343</code>")


async def test_whoami_in_a_group_posts_no_id(bot: BotDriver) -> None:
    note = await bot.say(5001, "/whoami@summit_test_bot", chat_id=GROUP, chat_type="supergroup")
    assert note.params["text"] == "Please use this command in a private chat with me."
    assert not await bot.quiet(GROUP)
    assert all("5001" not in text for text in bot.texts_to(GROUP))
