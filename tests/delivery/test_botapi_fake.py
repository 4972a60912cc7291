"""The fake Bot API server, driven by the real python-telegram-bot over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from botapi_fake import Call, FakeBotApi
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram.http import ApiContact
from bot.telegram.webserver import Health, Webhook, WebServer, enqueue_to

TOKEN = "123456:TEST-token"


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"button {d}", callback_data=d) for d in data]])


async def until_polling(fake: FakeBotApi) -> None:
    """Wait until a getUpdates long poll is waiting in the fake."""
    async with asyncio.timeout(5):
        while not fake.long_polls_waiting:
            await asyncio.sleep(0.005)


def seconds(period: int | timedelta) -> float:
    return period.total_seconds() if isinstance(period, timedelta) else float(period)


async def test_get_me_describes_the_bot(bot: Bot, fake: FakeBotApi) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "summit_test_bot", True)
    assert fake.calls[-1].method == "getMe" and fake.calls[-1].ok


async def test_wrong_token_is_unauthorized(fake: FakeBotApi) -> None:
    stranger = Bot("999:wrong-token", base_url=fake.base_url)
    try:
        with pytest.raises(InvalidToken):
            await stranger.initialize()  # asks getMe
    finally:
        await stranger.shutdown()
    assert (fake.calls[-1].method, fake.calls[-1].status) == ("getMe", 401)


async def test_send_message_is_recorded_decoded_and_echoed(bot: Bot, fake: FakeBotApi) -> None:
    sent = await bot.send_message(
        42, "<b>Hi</b> &amp; welcome 👋", parse_mode="HTML", reply_markup=keyboard("fb:1:y")
    )
    [call] = fake.sent_to(42)
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == 42
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == "<b>Hi</b> &amp; welcome 👋"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "button fb:1:y", "callback_data": "fb:1:y"}]]
    }
    assert sent.text == "Hi & welcome 👋"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [(MessageEntity.BOLD, 0, 2)]
    assert sent.reply_markup == keyboard("fb:1:y")
    assert sent.chat.id == 42 and sent.from_user.id == 123456
    second = await bot.send_message(42, "digits only: 12345")
    assert second.message_id > sent.message_id and second.text == "digits only: 12345"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>bold</i>", "unmatched end tag"),
        ("<b>never closed", "can't find end tag"),
        ("1 < 2", "unsupported start tag"),
        ("<div>block</div>", 'unsupported start tag "div"'),
    ],
)
async def test_malformed_html_is_refused_like_telegram(bot: Bot, text: str, problem: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities") as caught:
        await bot.send_message(1, text, parse_mode="HTML")
    assert problem in caught.value.message


async def test_html_entities_use_utf16_offsets_and_pre_language(bot: Bot) -> None:
    sent = await bot.send_message(
        1,
        '😀 <a href="https://wicwuzhen.cn">site</a>\n<pre><code class="language-python">x = 1</code></pre>',
        parse_mode="HTML",
    )
    assert sent.text == "😀 site\nx = 1"
    link, pre = sent.entities
    assert sent.parse_entity(link) == "site" and link.url == "https://wicwuzhen.cn"
    assert sent.parse_entity(pre) == "x = 1" and pre.language == "python"


async def test_too_long_text_and_oversized_button_data_are_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    await bot.send_message(1, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "vote", reply_markup=keyboard("y" * 65))


async def test_blocked_user_gives_forbidden_and_others_still_get_messages(bot: Bot, fake: FakeBotApi) -> None:
    notice = fake.block_user(7, notify=True)
    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == notice and update.my_chat_member.new_chat_member.status == "kicked"
    assert update.my_chat_member.chat.id == 7
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(7, "hello")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(7, "typing")
    await bot.send_message(8, "hello")
    assert fake.sent_to(7) == [] and len(fake.sent_to(8)) == 1
    assert [c.status for c in fake.calls if c.chat_id == 7] == [403, 403]
    fake.unblock_user(7)
    await bot.send_message(7, "hello again")


async def test_flood_gives_retry_after_then_recovers(bot: Bot, fake: FakeBotApi) -> None:
    fake.flood("sendMessage", times=2, retry_after=3)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1, "hi")
        assert seconds(caught.value.retry_after) == 3
    await bot.get_me()  # other methods are not limited
    await bot.send_message(1, "hi")
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [429, 429, 200]


async def test_unknown_method_is_not_found_and_recorded(bot: Bot, fake: FakeBotApi) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendHologram", api_kwargs={"chat_id": 1})
    assert fake.calls[-1].method == "sendHologram" and fake.calls[-1].status == 404
    assert fake.calls[-1].params == {"chat_id": 1}


async def test_edits_callbacks_venues_and_deletes(bot: Bot, fake: FakeBotApi) -> None:
    sent = await bot.send_message(5, "Which hall?", reply_markup=keyboard("hall:a", "hall:b"))
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Which hall?", chat_id=5, message_id=sent.message_id, reply_markup=keyboard("hall:a", "hall:b")
        )
    edited = await bot.edit_message_text("Hall A", chat_id=5, message_id=sent.message_id)
    assert edited.text == "Hall A" and edited.reply_markup is None and edited.edit_date is not None
    marked = await bot.edit_message_reply_markup(
        chat_id=5, message_id=sent.message_id, reply_markup=keyboard("x")
    )
    assert marked.text == "Hall A" and marked.reply_markup == keyboard("x")
    assert fake.bot_messages(5)[-1]["reply_markup"] == keyboard("x").to_dict()

    fake.callback(5, "hall:a", message_id=sent.message_id)
    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query.data == "hall:a" and update.callback_query.message.text == "Hall A"
    assert await update.callback_query.answer("Noted")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer("twice")

    venue = await bot.send_venue(
        5,
        latitude=30.74,
        longitude=120.49,
        title="Wuzhen Internet International Convention and Exhibition Center",
        address="Wuzhen, Tongxiang",
    )
    assert venue.venue.title.startswith("Wuzhen Internet") and venue.location.latitude == pytest.approx(30.74)
    located = await bot.send_location(5, latitude=30.75, longitude=120.48)
    assert located.location.longitude == pytest.approx(120.48)
    assert await bot.delete_message(5, located.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(5, located.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("gone", chat_id=5, message_id=9999)


async def test_commands_are_kept_per_language(bot: Bot, fake: FakeBotApi) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    await bot.set_my_commands([("start", "เริ่ม")], language_code="th")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="th")] == ["เริ่ม"]
    assert fake.commands("th") == [{"command": "start", "description": "เริ่ม"}]
    assert await bot.get_my_commands(language_code="zh") == ()
    await bot.delete_my_commands(language_code="th")
    assert await bot.get_my_commands(language_code="th") == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start-Now", "bad")])


async def test_raw_updates_keep_their_ids_which_must_increase(bot: Bot, fake: FakeBotApi) -> None:
    raw = {"update_id": 500, "message": {"message_id": 1, "date": 0, "chat": {"id": 9, "type": "private"}}}
    assert fake.inject(raw) == 500
    assert fake.user_message(9, "next") == 501
    with pytest.raises(ValueError, match="not above"):
        fake.inject({**raw, "update_id": 501})
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [500, 501]


async def test_get_updates_offsets_long_polling_and_allowed_updates(bot: Bot, fake: FakeBotApi) -> None:
    first = fake.user_message(1, "one")
    fake.user_message(2, "two")
    fake.callback(3, "x", message_id=1)
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, first + 1, first + 2]
    assert [u.update_id for u in await bot.get_updates(offset=first + 1, timeout=0)] == [first + 1, first + 2]
    assert await bot.get_updates(offset=first + 3, timeout=0) == ()

    waiting = asyncio.create_task(bot.get_updates(offset=first + 3, timeout=5))
    await until_polling(fake)
    late = fake.user_message(4, "late")
    assert [u.update_id for u in await waiting] == [late]  # answered when it arrived, not after 5 s

    fake.callback(5, "y", message_id=1)
    fake.user_message(5, "kept")
    only_messages = await bot.get_updates(offset=late + 1, timeout=0, allowed_updates=["message"])
    assert [u.message.text for u in only_messages] == ["kept"]


async def test_a_second_poller_ends_the_first_with_conflict(bot: Bot, fake: FakeBotApi) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await until_polling(fake)
    async with Bot(TOKEN, base_url=fake.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
        await first


async def test_update_helpers_build_updates_ptb_understands(bot: Bot, fake: FakeBotApi) -> None:
    fake.user_message(1, "😀 /start@summit_test_bot hi @summit_test_bot", language_code="th")
    fake.user_message(1, "@summit_test_bot where?", chat_id=-100, chat_type="supergroup")
    sent = await bot.send_message(-100, "Hall A")
    fake.user_message(2, "and then?", chat_id=-100, chat_type="supergroup", reply_to_bot=True)
    fake.edited_message(1, "/help")
    fake.sticker(1)
    fake.photo(1, caption="map")
    fake.voice(1, duration=4)
    fake.location(1, 30.74, 120.49)
    fake.my_chat_member(1, "kicked")
    updates = await bot.get_updates(timeout=0)

    command = updates[0].message
    assert command.from_user.language_code == "th" and command.chat.type == "private"
    assert command.parse_entities() == {
        command.entities[0]: "/start@summit_test_bot",
        command.entities[1]: "@summit_test_bot",
    }
    assert [e.type for e in command.entities] == [MessageEntity.BOT_COMMAND, MessageEntity.MENTION]
    assert updates[1].message.chat.id == -100 and updates[1].message.chat.type == "supergroup"
    assert updates[2].message.reply_to_message.message_id == sent.message_id
    assert (
        updates[3].edited_message.text == "/help"
        and updates[3].edited_message.message_id == command.message_id
    )
    assert updates[4].message.sticker.emoji == "👍"
    assert updates[5].message.photo[-1].width == 800 and updates[5].message.caption == "map"
    assert seconds(updates[6].message.voice.duration) == 4
    assert updates[7].message.location.latitude == pytest.approx(30.74)
    assert updates[8].my_chat_member.new_chat_member.status == "kicked"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("<b>Welcome</b>", parse_mode="HTML", reply_markup=keyboard("lang:th"))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(f"chosen {update.callback_query.data}")


async def test_polling_application_answers_and_shuts_down_cleanly(fake: FakeBotApi) -> None:
    app = Application.builder().token(TOKEN).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    before = asyncio.all_tasks()
    await app.initialize()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        hello = fake.user_message(10, "hello summit")
        reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 10)
        assert reply.params["text"] == "hello summit"
        latency = fake.reply_latency(hello)
        assert latency is not None and latency >= 0

        fake.user_message(11, "/start")
        welcome = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 11)
        assert welcome.params["parse_mode"] == "HTML"
        message_id = fake.bot_messages(11)[-1]["message_id"]
        fake.callback(11, "lang:th", message_id=message_id)
        edit = await fake.wait_for(lambda c: c.method == "editMessageText")
        assert edit.params["text"] == "chosen lang:th" and edit.ok
        assert (await fake.wait_for(lambda c: c.method == "answerCallbackQuery")).ok
        assert fake.bot_messages(11)[-1]["text"] == "chosen lang:th"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    await asyncio.sleep(0)
    left = [
        task.get_coro().__qualname__
        for task in asyncio.all_tasks() - before - {asyncio.current_task()}
        if "/aiohttp/" not in task.get_coro().cr_code.co_filename  # the fake's own connection handlers
    ]
    assert left == []


class Receiver:
    """A tiny webhook endpoint that stores what it receives and answers with ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.json()))
        self.arrived.set()
        return web.Response(status=self.status)

    async def __aenter__(self) -> Receiver:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.SockSite(self.runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_webhook_delivery_carries_the_secret(bot: Bot, fake: FakeBotApi) -> None:
    queued = fake.user_message(3, "sent before the webhook")
    async with Receiver() as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret_token-1")
        assert fake.webhook_url == receiver.url
        pushed = fake.user_message(3, "hello webhook")
        deliveries = await fake.wait_delivered(2)
        assert sorted((d.update_id, d.status) for d in deliveries) == [(queued, 200), (pushed, 200)]
        assert len(receiver.received) == 2
        for headers, _ in receiver.received:
            assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_token-1"
        bodies = {body["update_id"]: body for _, body in receiver.received}
        assert bodies[pushed]["message"]["text"] == "hello webhook"
        assert Update.de_json(bodies[pushed], bot).message.from_user.id == 3
        info = await bot.get_webhook_info()
        assert info.url == receiver.url and info.pending_update_count == 0
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    fake.user_message(3, "polling again")
    assert [u.message.text for u in await bot.get_updates(timeout=0)] == ["polling again"]


async def test_webhook_application_answers_and_refuses_a_wrong_secret(bot: Bot, fake: FakeBotApi) -> None:
    """The fake against the bot's own webhook server (bot.telegram.webserver) and a plain application."""
    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram"
    health = Health(engine=lambda: None, database=lambda: None, api=ApiContact())
    server = WebServer(
        listen="127.0.0.1",
        port=port,
        health=health,
        webhook=Webhook("telegram", "right-secret", enqueue_to(app)),
    )
    await app.initialize()
    await app.start()
    await server.start()
    try:
        await app.bot.set_webhook(url, secret_token="right-secret")
        assert fake.webhook_url == url
        fake.user_message(20, "over the webhook")
        reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 20)
        assert reply.params["text"] == "over the webhook"
        assert fake.deliveries[-1].status == 200

        await bot.set_webhook(url, secret_token="wrong-secret")
        refused = fake.user_message(21, "forged")
        deliveries = await fake.wait_delivered(2)
        assert (deliveries[-1].update_id, deliveries[-1].status) == (refused, 403)
        assert fake.sent_to(21) == []
    finally:
        await server.stop()
        await app.stop()
        await app.shutdown()


async def test_webhook_failures_are_recorded(bot: Bot, fake: FakeBotApi) -> None:
    async with Receiver(status=500) as receiver:
        await bot.set_webhook(receiver.url)
        update_id = fake.user_message(4, "anyone?")
        [delivery] = await fake.wait_delivered(1)
        assert (delivery.update_id, delivery.status) == (update_id, 500)
        assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][0]
        info = await bot.get_webhook_info()
        assert "500" in (info.last_error_message or "")


async def test_wait_helpers_time_out_with_a_clear_message(fake: FakeBotApi) -> None:
    with pytest.raises(TimeoutError, match=r"no matching Bot API call"):
        await fake.wait_for(lambda c: c.method == "sendMessage", timeout=0.05)
    with pytest.raises(TimeoutError, match=r"only 0 of 2 sendMessage"):
        await fake.wait_for_count("sendMessage", 2, timeout=0.05)


async def test_wait_for_count_returns_all_successful_calls(bot: Bot, fake: FakeBotApi) -> None:
    async def send_later() -> None:
        for n in range(3):
            await asyncio.sleep(0.01)
            await bot.send_message(n + 1, f"message {n}")

    sender = asyncio.create_task(send_later())
    calls: list[Call] = await fake.wait_for_count("sendMessage", 3, timeout=5)
    await sender
    assert [c.params["text"] for c in calls] == ["message 0", "message 1", "message 2"]
