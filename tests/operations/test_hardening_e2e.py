"""End to end against the Bot API fake: forged and unknown buttons, the question rate, unknown commands,
content-free messages, /stats in groups, the sender recorded once per update, the purge job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bot_harness import BotDriver, driving, until
from botapi_fake import Call

from index.engine import Engine

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
GROUP = -100600
NEUTRAL = "This answer can no longer be rated."
THANKS = "Thank you for your feedback!"


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    async with driving(engine, tmp_path, ADMIN_IDS="50") as running:
        yield running


def feedback_data(call: Call) -> tuple[str, str]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    up, down = (b["callback_data"] for row in rows for b in row if b["text"] in ("👍", "👎"))
    return up, down


# --- Buttons ---------------------------------------------------------------------------------------


async def test_forged_feedback_is_refused_like_a_missing_id(bot: BotDriver) -> None:
    answer = await bot.say(21, "Is there wifi at the venue?")
    up, down = feedback_data(answer)
    question_id = int(up.split(":")[1])

    other = await bot.ack(22, up, 1)  # someone else's question id
    missing = await bot.ack(22, f"fb:{question_id + 1000}:1", 1)
    assert other.params["text"] == missing.params["text"] == NEUTRAL
    assert await bot.services.db.feedback.feedback_for(question_id) == []

    for forged in (f"fb:{2**64}:1", "fb:9223372036854775808:0", "fb:-1:1", "fb:1:7", "fb:abc:1", "fb"):
        assert (await bot.ack(22, forged, 1)).params["text"] == NEUTRAL

    assert (await bot.ack(21, down, 1)).params["text"] == THANKS
    assert await bot.services.db.feedback.feedback_for(question_id) == [(21, False)]
    assert not bot.fake.unanswered_callbacks


async def test_feedback_in_a_group_is_only_the_askers(bot: BotDriver) -> None:
    answer = await bot.say(23, "@summit_test_bot When is the summit?", chat_id=GROUP, chat_type="supergroup")
    up, _ = feedback_data(answer)
    bot.fake.callback(24, up, message_id=1, chat_id=GROUP)
    bot.fake.callback(23, up, message_id=1, chat_id=GROUP)
    acks = await bot.fake.wait_for_count("answerCallbackQuery", 2)
    by_user = {c.params["callback_query_id"].split("-")[0]: c.params["text"] for c in acks}
    assert by_user == {"24": NEUTRAL, "23": THANKS}
    assert await bot.services.db.feedback.feedback_for(int(up.split(":")[1])) == [(23, True)]


async def test_every_button_press_is_answered(bot: BotDriver) -> None:
    await bot.say(25, "/start")
    unknown = "This button no longer works."
    gone = "This information is no longer available."
    for data in ("nope", "zz:1", "lang:de", "lang", "ag:x:y", "s", "v", "e:en"):
        ack = await bot.ack(25, data, 1)
        assert ack.params.get("text") in (unknown, gone)
    assert (await bot.ack(25, "nope", 1)).params["text"] == unknown
    assert (await bot.ack(25, "lang:de", 1)).params["text"] == unknown
    assert (await bot.ack(25, "e:en:no-such-entry", 1)).params["text"] == gone
    assert (await bot.ack(25, "v:" + "x" * 62, 1)).params["text"] == gone
    await until(lambda: not bot.fake.unanswered_callbacks)
    assert (await bot.services.db.users.get_user(25)).language is not None
    assert not [c for c in bot.fake.calls if c.status >= 400]


# --- Question rate ---------------------------------------------------------------------------------


WAITING = "I'll answer every one of them, in order"
LEFT_WAITING = {"SHUTDOWN_GRACE_SECONDS": "0.5"}
"""For a test that ends with a question waiting for its user's rate: the bot stops without waiting for it
(it would be handled at the next start)."""


async def question_numbers(bot: BotDriver, chat_id: int) -> list[int]:
    """The "(n)" of the question each answer in the chat answers, in the order the answers came (each
    answer's 👍 button names its stored question)."""
    numbers = []
    for call in bot.messages_to(chat_id):
        if "reply_markup" not in call.params:
            continue
        question_id = int(feedback_data(call)[0].split(":")[1])
        record = await bot.services.db.questions.get_question(question_id)
        numbers.append(int(record.text.rsplit("(", 1)[1].rstrip(")")))
    return numbers


async def test_a_burst_of_twenty_questions_is_answered_in_order(engine: Engine, tmp_path: Path) -> None:
    async with driving(engine, tmp_path, QUESTION_RATE_LIMIT="10", QUESTION_RATE_WINDOW="2") as bot:
        started = time.monotonic()
        for n in range(20):
            bot.fake.user_message(30, f"When is the summit? ({n})")
        other = await bot.say(31, "Is there wifi at the venue?")
        assert "wifi" in other.params["text"].lower()
        assert time.monotonic() - started < 2  # not held up by the burst
        await until(lambda: len(bot.texts_to(30)) >= 21, timeout=40, what="20 answers and a notice")
        assert not await bot.quiet(30, 1.0)
        texts = bot.texts_to(30)
        assert len(texts) == 21 and len([t for t in texts if WAITING in t]) == 1
        assert await question_numbers(bot, 30) == list(range(20))  # every one answered, once, in order
        stored = [q for q in await bot.services.db.questions.recent_questions(50) if q.user_id == 30]
        assert len(stored) == 20
        # Ten at once, the other ten once the first ten left the two-second window.
        asked = sorted(q.asked_at for q in stored)
        assert (asked[10] - asked[0]).total_seconds() >= 1.9


async def test_questions_past_the_backlog_get_one_notice_naming_them(engine: Engine, tmp_path: Path) -> None:
    env = {"QUESTION_RATE_LIMIT": "2", "QUESTION_RATE_WINDOW": "2", "QUESTION_BACKLOG": "3"}
    async with driving(engine, tmp_path, **env) as bot:
        for n in range(8):
            bot.fake.user_message(30, f"When is the summit? ({n})", language_code="zh")
        await until(lambda: len(bot.texts_to(30)) >= 7, timeout=30, what="5 answers and 2 notices")
        assert not await bot.quiet(30, 1.0)
        texts = bot.texts_to(30)
        waiting = [t for t in texts if "我会按顺序逐一回答" in t]
        not_taken = [t for t in texts if "没能接收" in t]
        assert len(texts) == 7 and len(waiting) == 1 and len(not_taken) == 1
        assert "以下 3 个问题" in not_taken[0]
        for n in (5, 6, 7):
            assert f"When is the summit? ({n})" in not_taken[0]
        for n in range(5):
            assert f"({n})" not in not_taken[0]
        assert await question_numbers(bot, 30) == [0, 1, 2, 3, 4]
        # Nothing is held against the user afterwards.
        await asyncio.sleep(2.1)
        assert "2023" in (await bot.say(30, "When is the summit? (8)")).params["text"]


async def test_edits_of_one_message_are_one_question(engine: Engine, tmp_path: Path) -> None:
    env = {"QUESTION_RATE_LIMIT": "3", "QUESTION_RATE_WINDOW": "30", **LEFT_WAITING}
    async with driving(engine, tmp_path, **env) as bot:
        await bot.say(32, "Is there wifi?")
        for n in range(2):  # two edits are answered again
            update_id = bot.fake.edited_message(32, f"When is the summit? {n}")
            at = bot.fake.injected_at(update_id)
            await bot.fake.wait_for(
                lambda c, at=at: c.method == "sendMessage" and c.chat_id == 32 and c.at >= at
            )
        for n in range(17):  # the rest are not
            bot.fake.edited_message(32, f"When is the summit?{'!' * n}")
        assert not await bot.quiet(32)
        assert len(bot.texts_to(32)) == 3
        # The twenty versions were one question: two more fit in the rate of three.
        assert "2023" in (await bot.say(32, "When is the summit?")).params["text"]
        assert "2023" in (await bot.say(32, "When is the summit?")).params["text"]
        assert WAITING in (await bot.say(32, "When is the summit?")).params["text"]
        assert not await bot.quiet(32)  # it waits for the window


async def test_commands_are_not_counted_but_staff_questions_are(engine: Engine, tmp_path: Path) -> None:
    async with driving(engine, tmp_path, QUESTION_RATE_LIMIT="2", ADMIN_IDS="33", **LEFT_WAITING) as bot:
        for _ in range(4):
            assert "What I can do" in (await bot.say(33, "/help")).params["text"]
        await bot.say(33, "When is the summit?")
        await bot.say(33, "When is the summit?")
        assert WAITING in (await bot.say(33, "When is the summit?")).params["text"]
        assert "Usage" in (await bot.say(33, "/stats")).params["text"]  # commands do not wait


# --- Sender recorded once per update ---------------------------------------------------------------


async def test_sender_is_recorded_once_per_update_and_language_read_from_context(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = bot.services.db.users
    calls: list[str] = []
    for name in ("touch_user", "get_user"):
        original = getattr(users, name)

        def counting(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(users, name, counting)

    assert "สวัสดี" in (await bot.say(40, "/start", language_code="th")).params["text"]
    assert calls == ["touch_user"]
    calls.clear()
    answer = await bot.say(40, "When is the summit?", language_code="th")
    assert calls == ["touch_user"]
    calls.clear()
    up, _ = feedback_data(answer)
    ack = await bot.ack(40, up, 1)
    assert ack.params["text"] == THANKS and calls == ["touch_user"]
    calls.clear()
    bot.fake.user_message(41, "chatting among ourselves", chat_id=GROUP, chat_type="supergroup")
    assert not await bot.quiet(GROUP)
    assert calls == [] and await users.get_user(41) is None  # not for the bot: not recorded


async def test_writing_again_unblocks_but_a_block_notice_does_not(bot: BotDriver) -> None:
    await bot.say(42, "/start")
    bot.fake.block_user(42, notify=True)
    await until(lambda: bot.blocked(42), 5.0)
    bot.fake.unblock_user(42)
    await bot.say(42, "/help")
    assert not await bot.blocked(42)


# --- Unknown commands, content-free messages, staff commands ---------------------------------------


async def test_unknown_commands_get_a_hint_in_the_users_language(bot: BotDriver) -> None:
    hint = (await bot.say(43, "/foo", language_code="th")).params["text"]
    assert hint.startswith("ฉันไม่รู้จักคำสั่งนี้")
    assert all(f"/{name}" in hint for name in ("start", "agenda", "venues", "transport", "language", "help"))
    assert "/stats" not in hint
    assert "What I can do" in (await bot.say(43, "/help", language_code="en")).params["text"]  # real ones win
    bot.fake.user_message(43, "/foo", chat_id=GROUP, chat_type="supergroup")  # maybe for another bot
    assert not await bot.quiet(GROUP)
    addressed = await bot.say(43, "/foo@summit_test_bot", chat_id=GROUP, chat_type="supergroup")
    assert "I don't know that command" in addressed.params["text"]


@pytest.mark.parametrize("text", ["👍🎉", "???", "\u200b", "@someone"])
async def test_content_free_messages_get_a_hint_and_are_not_stored(bot: BotDriver, text: str) -> None:
    hint = await bot.say(44, text)
    assert hint.params["text"].startswith("I didn't find a question in that message.")
    assert await bot.services.db.questions.recent_questions(5) == []


async def test_a_bare_mention_in_a_group_is_not_a_question(bot: BotDriver) -> None:
    hint = await bot.say(45, "@summit_test_bot", chat_id=GROUP, chat_type="supergroup", language_code="zh")
    assert hint.params["text"].startswith("这条消息里没有找到问题")
    assert await bot.services.db.questions.recent_questions(5) == []


async def test_stats_answer_only_in_a_private_chat(bot: BotDriver) -> None:
    note = await bot.say(50, "/stats", chat_id=GROUP, chat_type="supergroup")
    assert note.params["text"] == "Please use this command in a private chat with me."
    assert not await bot.quiet(GROUP)
    assert bot.texts_to(GROUP) == [note.params["text"]]
    outsider = await bot.say(51, "/stats@summit_test_bot", chat_id=GROUP, chat_type="supergroup")
    assert outsider.params["text"] == note.params["text"]
    assert "Usage" in (await bot.say(50, "/stats")).params["text"]
    assert "for the organisers" in (await bot.say(51, "/stats")).params["text"]


async def test_the_purge_is_scheduled(bot: BotDriver) -> None:
    jobs = bot.app.job_queue.get_jobs_by_name("purge-old-questions")
    assert len(jobs) == 1
    await bot.say(52, "When is the summit?")
    old = (await bot.services.db.questions.recent_questions(1))[0]
    await bot.services.db.rows(
        "UPDATE questions SET asked_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (old.id,)
    )
    await jobs[0].run(bot.app)
    assert await bot.services.db.questions.get_question(old.id) is None
    assert (await bot.services.privacy.last_purge()).questions == 1


async def test_a_button_whose_handler_fails_is_still_answered(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(bot.services.catalogue, "entry", broken)
    update_id = bot.fake.callback(53, "e:en:faq-dates", message_id=1)
    at = bot.fake.injected_at(update_id)
    await bot.fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 53 and c.at >= at)
    await until(lambda: not bot.fake.unanswered_callbacks)
