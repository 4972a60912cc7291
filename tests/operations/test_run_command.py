"""``summit-bot run`` as an operator starts it: a separate process, settings from the environment."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot_harness import start_bot_process
from botapi_fake import FakeBotApi


async def test_run_polls_the_configured_bot_api_and_answers(tmp_path: Path, shipped_data: Path) -> None:
    async with FakeBotApi(token="4242:RUN-command-token") as fake:
        log_path = tmp_path / "bot.log"
        process = await start_bot_process(fake, shipped_data, log_path, knowledge=None)
        try:
            await fake.wait_for(lambda c: c.method.lower() == "getupdates", timeout=180)
            menus = {c.params.get("language_code") for c in fake.calls if c.method.lower() == "setmycommands"}
            assert menus == {None, "th", "zh"}
            fake.user_message(42, "/start", language_code="th")
            welcome = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 42, timeout=30)
            assert "สวัสดี" in welcome.params["text"]
            fake.user_message(42, "乌镇离杭州有多远？", language_code="th")
            answer = await fake.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == 42 and "80" in c.params["text"],
                timeout=30,
            )
            assert "公里" in answer.params["text"]  # answered in the language of the question
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), timeout=60)
    log = log_path.read_text()
    assert process.returncode == 0, log[-2000:]
    assert "started: mode polling" in log
    assert fake.token not in log and "RUN-command-token" not in log


async def test_run_with_a_rejected_token_explains_without_printing_it(
    tmp_path: Path, shipped_data: Path
) -> None:
    async with FakeBotApi(token="4242:the-real-token") as fake:
        log_path = tmp_path / "bot.log"
        process = await start_bot_process(
            fake, shipped_data, log_path, knowledge=None, TELEGRAM_BOT_TOKEN="4242:a-wrong-token"
        )
        await asyncio.wait_for(process.wait(), timeout=180)
    log = log_path.read_text()
    assert process.returncode == 2, log[-2000:]
    assert "rejected TELEGRAM_BOT_TOKEN" in log
    assert "a-wrong-token" not in log  # not in our message, nor in the library's own error log
