"""The aiohttp transport for python-telegram-bot, driven by a real ``Bot`` against the Bot API fake."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from bot_harness import free_port
from botapi_fake import FakeBotApi
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram.http import AiohttpRequest

TOKEN = "123456:TEST-token"


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    request = AiohttpRequest(read_timeout=0.3)
    async with Bot(
        TOKEN, base_url=fake.base_url, request=request, get_updates_request=AiohttpRequest(1)
    ) as b:
        yield b


async def test_parameters_arrive_as_telegram_reads_them(bot: Bot, fake: FakeBotApi) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("yes", callback_data="fb:7:1")]])
    sent = await bot.send_message(42, "<b>Wuzhen</b> & Hangzhou", parse_mode="HTML", reply_markup=markup)
    assert sent.text == "Wuzhen & Hangzhou" and sent.chat.id == 42
    call = fake.calls[-1]
    assert call.method == "sendMessage" and call.params["chat_id"] == 42
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "yes", "callback_data": "fb:7:1"}]]}


async def test_long_polling_returns_injected_updates(bot: Bot, fake: FakeBotApi) -> None:
    fake.user_message(5, "峰会什么时候举行？")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["峰会什么时候举行？"]


async def test_error_answers_become_ptb_errors(bot: Bot, fake: FakeBotApi) -> None:
    fake.block_user(9)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(9, "hello")
    fake.flood("sendMessage", 1, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(10, "hello")
    assert flood.value.retry_after == 3


async def test_a_file_is_sent_as_multipart(bot: Bot, fake: FakeBotApi) -> None:
    data = RequestData(
        [
            RequestParameter.from_input("chat_id", 11),
            RequestParameter.from_input("text", "the agenda"),
            RequestParameter.from_input("document", InputFile(io.BytesIO(b"agenda"), filename="agenda.txt")),
        ]
    )
    sent = await bot.request.post(f"{fake.base_url}{TOKEN}/sendMessage", data)
    assert sent["text"] == "the agenda"  # the form fields were read from the multipart body
    assert fake.calls[-1].params == {
        "chat_id": 11,
        "text": "the agenda",
        "document": {"filename": "agenda.txt", "data": b"agenda"},
    }


async def test_a_slow_answer_times_out(bot: Bot, fake: FakeBotApi) -> None:
    fake.response_delay = 1.0
    with pytest.raises(TimedOut):
        await bot.get_me()


async def test_an_unreachable_server_is_a_network_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/bot{TOKEN}/getMe"
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError, match="aiohttp") as raised:
            await request.post(url)
    # The URL carries the token: it must not travel on in the message or the chained exception.
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_a_timeout_keeps_no_url(fake: FakeBotApi) -> None:
    fake.response_delay = 1.0
    async with AiohttpRequest(read_timeout=0.1) as request:
        with pytest.raises(TimedOut) as raised:
            await request.post(f"{fake.base_url}{TOKEN}/getMe")
    assert TOKEN not in str(raised.value) and raised.value.__cause__ is None


async def test_requests_need_an_open_session(fake: FakeBotApi) -> None:
    request = AiohttpRequest()
    url = f"{fake.base_url}{TOKEN}/getMe"
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(url)
    await request.initialize()
    assert (await request.post(url))["username"] == fake.bot_username
    await request.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(url)
    await request.initialize()  # reopened after a shutdown
    assert (await request.post(url))["username"] == fake.bot_username
    await request.shutdown()
