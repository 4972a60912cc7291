"""End to end: the real Application and the real engine, over HTTP, against the local Bot API fake.

Most scenarios run twice: with long polling and with the bot's own webhook server (secret token checked).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from bot_harness import (
    WEBHOOK_SECRET,
    BotDriver,
    buttons,
    driving,
    free_port,
    running_bot,
    settings_for,
    until,
)
from botapi_fake import FakeBotApi

from index.engine import Engine

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
GROUP = -100500


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    """The real engine with the default embedder, built once for the whole run."""
    return fixture_engine


REPLIES = ("sendMessage", "editMessageText")
"""What counts as the bot's reply here: a new message, or an edit of one."""


@pytest.fixture(params=["polling", "webhook"])
async def bot(request: pytest.FixtureRequest, engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    async with driving(engine, tmp_path, request.param) as driver:
        yield dataclasses.replace(driver, replies=REPLIES)


@pytest.fixture
async def polling_bot(engine: Engine, tmp_path: Path) -> AsyncIterator[BotDriver]:
    async with driving(engine, tmp_path) as driver:
        yield dataclasses.replace(driver, replies=REPLIES)


async def test_start_menus_and_language_picker(bot: BotDriver) -> None:
    welcome = await bot.say(1, "/start", language_code="th")
    assert "สวัสดี" in welcome.params["text"]
    assert [d for _, d in buttons(welcome)] == ["lang:en", "lang:zh", "lang:th"]
    assert {t for t, _ in buttons(welcome)} == {"English", "中文", "ไทย"}

    confirmed = await bot.press(1, "lang:zh", bot.latest_message_id(1))
    assert "中文" in confirmed.params["text"]
    ack = await bot.fake.wait_for(lambda c: c.method == "answerCallbackQuery" and c.ok)
    assert ack.params.get("text") == "中文"
    assert (await bot.services.db.users.get_user(1)).language == "zh"
    assert "我能做什么" in (await bot.say(1, "/help")).params["text"]
    assert "Choose your language" in (await bot.say(2, "/language", language_code="de")).params["text"]

    menu = " ".join(c["command"] for c in bot.fake.commands())
    assert menu == "start agenda myagenda reminders venues transport subscribe unsubscribe language help"
    assert bot.fake.commands("th")[1]["description"] == "กำหนดการรายวัน"
    assert bot.fake.commands("zh")[1]["description"] == "按日期查看议程"


async def test_menu_offers_announcements_on_and_off_in_every_language(polling_bot: BotDriver) -> None:
    fake = polling_bot.fake
    await fake.wait_for_count("setMyCommands", 3)
    expected = {
        "": ("Get the organisers' announcements", "Stop the organisers' announcements"),
        "zh": ("接收主办方的通知", "不再接收主办方的通知"),
        "th": ("รับประกาศจากผู้จัดงาน", "หยุดรับประกาศจากผู้จัดงาน"),
    }
    for code, (on, off) in expected.items():
        menu = [(c["command"], c["description"]) for c in fake.commands(code)]
        assert ("subscribe", on) in menu and ("unsubscribe", off) in menu, (code, menu)
        assert [name for name, _ in menu].index("subscribe") + 1 == [name for name, _ in menu].index(
            "unsubscribe"
        )
    hint = (await polling_bot.say(30, "/nonsense", language_code="zh")).params["text"]
    assert "/subscribe" in hint and "/unsubscribe" in hint  # the unknown-command hint lists them too


async def test_questions_answered_in_their_own_language(bot: BotDriver) -> None:
    await bot.say(3, "/start", language_code="en")
    cases = {
        "When is the summit?": ("en", "8 to 10 November 2023"),
        "峰会什么时候举行？": ("zh", "2023年11月8日至10日"),
        "การประชุมจัดขึ้นเมื่อไร": ("th", "8–10 พฤศจิกายน 2023"),
    }
    for question, (_, expected) in cases.items():
        reply = await bot.say(3, question)
        assert expected in reply.params["text"]
        assert [t for t, _ in buttons(reply)] == ["👍", "👎"]
    stored = await bot.services.db.questions.recent_questions(3)
    assert [(q.text, q.language, q.answered) for q in reversed(stored)] == [
        (q, lang, True) for q, (lang, _) in cases.items()
    ]
    assert all(q.score > 0 for q in stored)


async def test_agenda_browsing_by_buttons(bot: BotDriver) -> None:
    days = await bot.say(4, "/agenda")
    assert buttons(days) == [
        ("Wednesday 8 November", "ag:2023-11-08"),
        ("Thursday 9 November", "ag:2023-11-09"),
    ]
    agenda_id = bot.latest_message_id(4)
    day = await bot.press(4, "ag:2023-11-08", agenda_id, "editMessageText")
    assert "Wednesday 8 November" in day.params["text"]
    assert buttons(day) == [
        ("09:30 Opening Ceremony", "s:opening-ceremony"),
        ("Artificial Intelligence Forum", "s:ai-forum"),
        ("« Back", "ag:"),
    ]
    card = await bot.press(4, "s:ai-forum", agenda_id, "editMessageText")
    assert "Artificial Intelligence Forum" in card.params["text"]
    assert "time not published" in card.params["text"]
    assert "Wuzhen Internet International Convention and Exhibition Center" in card.params["text"]
    assert buttons(card) == [("⭐ Add to my agenda", "st:ai-forum:1"), ("« Back", "ag:2023-11-08")]
    back = await bot.press(4, "ag:2023-11-08", agenda_id, "editMessageText")
    assert buttons(back)[0] == ("09:30 Opening Ceremony", "s:opening-ceremony")
    assert bot.fake.bot_messages(4)[-1]["message_id"] == agenda_id  # browsing edits one message


async def test_venue_card_with_map_pin(bot: BotDriver) -> None:
    menu = await bot.say(5, "/venues", language_code="zh")
    assert ("乌镇互联网国际会展中心", "v:expo-center") in buttons(menu)
    menu_id = bot.latest_message_id(5)
    card = await bot.press(5, "v:expo-center", menu_id, language_code="zh")
    assert "峰会主会场" in card.params["text"]
    pin = await bot.fake.wait_for(lambda c: c.method == "sendVenue" and c.chat_id == 5)
    assert (pin.params["latitude"], pin.params["longitude"]) == (30.7419, 120.4873)
    assert pin.params["title"] == "乌镇互联网国际会展中心"
    without = await bot.press(5, "v:xizha", menu_id, language_code="zh")
    assert "古镇景区" in without.params["text"]
    assert len([c for c in bot.fake.calls if c.method == "sendVenue"]) == 1  # no position, no pin


async def test_transport_lists_routes(bot: BotDriver) -> None:
    reply = await bot.say(6, "/transport")
    assert "Hangzhou East → Tongxiang" in reply.params["text"] and "20–30 min" in reply.params["text"]


async def test_feedback_buttons_are_stored(bot: BotDriver) -> None:
    answer = await bot.say(7, "Is there wifi at the venue?")
    up, down = buttons(answer)
    question_id = int(up[1].split(":")[1])
    answer_id = bot.latest_message_id(7)
    ack = await bot.ack(7, up[1], answer_id)
    assert ack.params["text"] == "Thank you for your feedback!"
    assert await bot.services.db.feedback.feedback_for(question_id) == [(7, True)]
    await bot.ack(7, down[1], answer_id)
    assert await bot.services.db.feedback.feedback_for(question_id) == [(7, False)]
    unknown = await bot.ack(7, "fb:99999:1", answer_id)
    assert unknown.params["text"] == "This answer can no longer be rated."


async def test_decline_offers_closest_topics(bot: BotDriver) -> None:
    decline = await bot.say(8, "What is the capital of France?")
    assert (
        "Sorry" in decline.params["text"] and "Perhaps one of these topics helps:" in decline.params["text"]
    )
    topics = [(t, d) for t, d in buttons(decline) if d.startswith("e:")]
    assert topics and all(d.startswith("e:en:") for _, d in topics)
    assert buttons(decline)[-2:] == [("👍", buttons(decline)[-2][1]), ("👎", buttons(decline)[-1][1])]
    stored = (await bot.services.db.questions.recent_questions(1))[0]
    assert not stored.answered and stored.language == "en"
    text, data = next((t, d) for t, d in topics if d == "e:en:faq-dates")
    assert text == "When is the summit?"
    shown = await bot.press(8, data, bot.latest_message_id(8))
    assert "8 to 10 November 2023" in shown.params["text"]


async def test_group_answers_only_mentions_replies_and_commands(bot: BotDriver) -> None:
    bot.fake.user_message(9, "When is the summit?", chat_id=GROUP, chat_type="supergroup")
    assert not await bot.quiet(GROUP)
    mention = await bot.say(9, "@summit_test_bot When is the summit?", chat_id=GROUP, chat_type="supergroup")
    assert "8 to 10 November 2023" in mention.params["text"]
    assert "reply_parameters" in mention.params  # quotes the question it answers
    assert (await bot.services.db.questions.recent_questions(1))[0].text == "When is the summit?"
    reply = await bot.say(9, "峰会什么时候举行？", chat_id=GROUP, chat_type="supergroup", reply_to_bot=True)
    assert "2023年11月8日" in reply.params["text"]
    command = await bot.say(9, "/help@summit_test_bot", chat_id=GROUP, chat_type="supergroup")
    assert "What I can do" in command.params["text"]
    bot.fake.sticker(9, chat_id=GROUP, chat_type="supergroup")
    assert not await bot.quiet(GROUP)


async def test_hostile_html_is_escaped(bot: BotDriver) -> None:
    reply = await bot.say(10, "<b>What should I bring</b> to the summit? <script>alert(1)</script> &amp; <i>")
    assert reply.ok  # the fake parses HTML like Telegram: unescaped markup would be refused
    update_id = bot.fake.inject(
        {
            "message": {
                "message_id": 10_000,
                "date": int(time.time()),
                "chat": {"id": 11, "type": "private", "first_name": "x"},
                "from": {
                    "id": 11,
                    "is_bot": False,
                    "first_name": "<b>Eve</b> & <a href='x'>",
                    "language_code": "en",
                },
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
        }
    )
    welcome = await bot.after(update_id, 11)
    assert welcome.params["text"].startswith("Hello, &lt;b&gt;Eve&lt;/b&gt; &amp; &lt;a href='x'&gt;!")
    shown = await bot.press(11, "e:en:faq-bring", bot.latest_message_id(11))
    assert shown.params["text"] == "Bring your badge &amp; passport; children &lt;12 need a guardian."
    assert (
        bot.fake.bot_messages(11)[-1]["text"] == "Bring your badge & passport; children <12 need a guardian."
    )


async def test_user_who_blocked_the_bot_is_marked(bot: BotDriver) -> None:
    await bot.say(12, "/start")
    bot.fake.block_user(12)
    bot.fake.user_message(12, "When is the summit?")
    await bot.fake.wait_for(lambda c: c.status == 403 and c.chat_id == 12)
    await until(lambda: bot.blocked(12), 5.0)
    assert (await bot.services.db.users.get_user(12)).blocked
    assert [c.method for c in bot.fake.calls if c.chat_id == 12 and c.status == 403] == ["sendMessage"]
    bot.fake.unblock_user(12)
    await bot.say(12, "/help")
    assert not (await bot.services.db.users.get_user(12)).blocked

    bot.fake.block_user(13, notify=True)  # Telegram's my_chat_member update
    await until(lambda: bot.blocked(13), 5.0)


async def test_non_text_messages_get_a_hint(polling_bot: BotDriver) -> None:
    bot = polling_bot
    for send in (bot.fake.sticker, bot.fake.photo, bot.fake.voice):
        hint = await bot.after(send(14, language_code="th"), 14)
        assert hint.params["text"] == "ฉันอ่านได้เฉพาะข้อความตัวอักษร กรุณาพิมพ์คำถามของคุณ"


async def test_recent_edits_are_answered_again_old_ones_ignored(polling_bot: BotDriver) -> None:
    bot = polling_bot
    await bot.say(15, "Is there wifi?")
    again = await bot.after(bot.fake.edited_message(15, "When is the summit?"), 15)
    assert "8 to 10 November 2023" in again.params["text"]
    old = dict(bot.fake.bot_messages(15)[0])
    old.update(
        {
            "from": {"id": 15, "is_bot": False, "first_name": "U"},
            "text": "峰会什么时候举行？",
            "message_id": 1,
        }
    )
    old.update({"date": int(time.time()) - 3600, "edit_date": int(time.time())})
    old.pop("reply_markup", None)
    bot.fake.inject({"edited_message": old})
    assert not await bot.quiet(15)


async def test_rate_limit_is_waited_out_and_retried_once(polling_bot: BotDriver) -> None:
    bot = polling_bot
    bot.fake.flood("sendMessage", 1, retry_after=1)
    started = time.monotonic()
    reply = await bot.say(16, "When is the summit?")
    assert "8 to 10 November 2023" in reply.params["text"]
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in bot.fake.calls if c.method == "sendMessage" and c.chat_id == 16] == [429, 200]


async def test_handler_failure_is_reported_to_the_user(
    polling_bot: BotDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bot = polling_bot

    def broken(*_: object) -> None:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(bot.services.catalogue, "entry", broken)
    await bot.say(17, "/start", language_code="zh")
    apology = await bot.press(17, "e:zh:faq-dates", bot.latest_message_id(17), language_code="zh")
    assert apology.params["text"] == "抱歉，我这边出了点问题，请稍后再试。"
    logged = [r for r in caplog.records if r.name == "bot.telegram.errors"]
    assert logged and "user 17" in logged[0].getMessage()
    assert bot.fake.token not in caplog.text


async def test_webhook_checks_the_secret_token(engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    async with (
        FakeBotApi() as fake,
        running_bot(settings_for(fake, tmp_path), engine, "webhook", webhook_port=port),
    ):
        assert fake.webhook_url == f"http://127.0.0.1:{port}/telegram"
        update = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 18, "type": "private", "first_name": "x"},
                "from": {"id": 18, "is_bot": False, "first_name": "x"},
                "text": "When is the summit?",
            },
        }
        async with aiohttp.ClientSession() as http:
            for secret in ("wrong-secret", None):
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                async with http.post(fake.webhook_url, json=update, headers=headers) as response:
                    assert response.status == 403
            ok_id = fake.user_message(18, "When is the summit?")
            reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 18)
        assert [d.status for d in fake.deliveries if d.update_id == ok_id] == [200]
        assert WEBHOOK_SECRET not in reply.params["text"]
        assert len([c for c in fake.calls if c.method == "sendMessage" and c.chat_id == 18]) == 1
