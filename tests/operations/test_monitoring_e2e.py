"""Where /healthz and /metrics are served: their own listener, or beside the webhook only with a bearer
token; never open on the webhook's port. The real application against the Bot API fake."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from bot_harness import free_port, running_bot, settings_for
from botapi_fake import FakeBotApi

from bot.config import ConfigError, settings_from
from index.engine import Engine

TOKEN = "scrape-me-0123456789abcdef"


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


async def status(url: str, token: str | None = None, scheme: str = "Bearer") -> int:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        body = await response.text()
        if response.status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if response.status == 200 and url.endswith("/metrics"):
            assert "summit_bot_questions_total" in body or "# TYPE summit_bot_questions" in body
        return response.status


async def test_webhook_port_serves_no_monitoring_without_a_token(engine: Engine, tmp_path: Path) -> None:
    metrics_port, webhook_port = free_port(), free_port()
    async with FakeBotApi() as fake:
        settings = settings_for(fake, tmp_path, METRICS_PORT=str(metrics_port))
        async with running_bot(settings, engine, "webhook", webhook_port):
            for path in ("/healthz", "/metrics"):
                assert await status(f"http://127.0.0.1:{webhook_port}{path}") == 404
                assert await status(f"http://127.0.0.1:{metrics_port}{path}") == 200
            # The webhook itself still works.
            fake.user_message(42, "When is the summit?")
            reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 42)
            assert "2023" in reply.params["text"]


async def test_with_a_token_both_listeners_need_it(engine: Engine, tmp_path: Path) -> None:
    metrics_port, webhook_port = free_port(), free_port()
    async with FakeBotApi() as fake:
        settings = settings_for(fake, tmp_path, METRICS_PORT=str(metrics_port), METRICS_TOKEN=TOKEN)
        async with running_bot(settings, engine, "webhook", webhook_port):
            for port in (webhook_port, metrics_port):
                for path in ("/healthz", "/metrics"):
                    url = f"http://127.0.0.1:{port}{path}"
                    assert await status(url) == 401
                    assert await status(url, "wrong-token-0123456789") == 401
                    assert await status(url, TOKEN[:-1]) == 401
                    assert await status(url, TOKEN, scheme="Basic") == 401
                    assert await status(url, TOKEN) == 200
                    assert await status(url, TOKEN, scheme="bearer") == 200


async def test_polling_mode_serves_monitoring_only_on_its_listener(engine: Engine, tmp_path: Path) -> None:
    metrics_port = free_port()
    async with FakeBotApi() as fake:
        settings = settings_for(fake, tmp_path, METRICS_PORT=str(metrics_port), METRICS_TOKEN=TOKEN)
        async with running_bot(settings, engine) as app:
            assert app is not None
            assert await status(f"http://127.0.0.1:{metrics_port}/metrics") == 401
            assert await status(f"http://127.0.0.1:{metrics_port}/healthz", TOKEN) == 200


def test_metrics_token_setting() -> None:
    assert settings_from({"METRICS_TOKEN": TOKEN}).metrics_token == TOKEN
    assert settings_from({}).metrics_token is None
    assert TOKEN not in repr(settings_from({"METRICS_TOKEN": TOKEN}))
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        settings_from({"METRICS_TOKEN": "short"})
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        settings_from({"METRICS_TOKEN": "has spaces in it and is long"})
