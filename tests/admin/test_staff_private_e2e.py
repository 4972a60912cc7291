"""End to end: every staff command and button works only in a private chat with the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_harness import BotDriver, driving

from bot.telegram.callbacks import AnnounceAction, KnowledgeApply, KnowledgeCancel, KnowledgeRollback
from bot.telegram.private import STAFF_COMMANDS
from index.engine import Engine

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
GROUP = -100700
ADMIN, ORGANISER, ATTENDEE = 60, 61, 62
PRIVATE_ONLY = "Please use this command in a private chat with me."


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    async with driving(
        engine, tmp_path, ADMIN_IDS=str(ADMIN), ORGANISER_IDS=str(ORGANISER), KNOWLEDGE_DIR=str(FIXTURE)
    ) as running:
        yield running


def test_every_staff_command_is_covered() -> None:
    assert set(STAFF_COMMANDS) == {
        "stats",
        "unanswered",
        "feedback",
        "knowledge",
        "reload",
        "rollback",
        "announce",
        "announcements",
    }


async def test_staff_commands_in_a_group_get_one_short_note_and_nothing_else(bot: BotDriver) -> None:
    # Something to list: a past announcement (sent to nobody) and a question.
    await bot.say(ATTENDEE, "When is the summit?")
    preview = await bot.say(ORGANISER, "/announce Shuttles leave from Gate 3")
    assert "Gate 3" in preview.params["text"]

    groups = []
    for n, command in enumerate(STAFF_COMMANDS):
        # Groups get 20 messages a minute: one group per command keeps the test short.
        group = GROUP - n
        groups.append(group)
        for user in (ADMIN, ORGANISER, ATTENDEE):
            text = f"/{command}@summit_test_bot Secret plans for Gate 3"
            note = await bot.say(user, text, chat_id=group, chat_type="supergroup")
            assert note.params["text"] == PRIVATE_ONLY, (user, command)
    assert not await bot.quiet(GROUP)
    group_calls = [c for c in bot.fake.calls if c.chat_id in groups]
    # One note per command, and no preview, listing, figures, chart or file in the group.
    assert [c.method for c in group_calls] == ["sendMessage"] * 3 * len(STAFF_COMMANDS)
    assert all(c.params["text"] == PRIVATE_ONLY and "reply_markup" not in c.params for c in group_calls)
    # Nothing was drafted from the group.
    listing = await bot.say(ORGANISER, "/announcements")
    assert "Secret plans" not in listing.params["text"]


async def test_a_follow_up_in_a_group_is_not_taken_as_announcement_text(bot: BotDriver) -> None:
    asked = await bot.say(ORGANISER, "/announce")
    assert "next message" in asked.params["text"]
    reply = await bot.say(
        ORGANISER, "@summit_test_bot When is the summit?", chat_id=GROUP, chat_type="supergroup"
    )
    assert "2023" in reply.params["text"] and "Send now" not in str(reply.params)
    # The draft still waits for its text in the private chat.
    preview = await bot.say(ORGANISER, "Doors open at nine")
    assert "Doors open at nine" in preview.params["text"]


@pytest.mark.parametrize(
    "data",
    [
        AnnounceAction("send", 1).encode(),
        AnnounceAction("stop", 1).encode(),
        KnowledgeApply(1).encode(),
        KnowledgeCancel(1).encode(),
        KnowledgeRollback("v1", True).encode(),
    ],
)
async def test_staff_buttons_in_a_group_do_nothing(bot: BotDriver, data: str) -> None:
    await bot.say(ORGANISER, "/announce Gate 3")
    for user in (ADMIN, ORGANISER):
        ack = await bot.ack(user, data, 1, chat_id=GROUP)
        assert ack.params["text"] == PRIVATE_ONLY and ack.params.get("show_alert") is True
    assert not await bot.quiet(GROUP)
    assert not [c for c in bot.fake.calls if c.chat_id == GROUP]
    row = await bot.services.announcements.repo.get(1)
    assert row is not None and row.state == "draft"
    assert bot.services.holder.current.kb.content_hash  # still served, nothing applied
