"""The bot's HTTP server: webhook hand-over, /healthz, /metrics, and a clean stop of the real process."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bot_harness import WEBHOOK_SECRET, free_port, running_bot, settings_for, start_bot_process
from botapi_fake import FakeBotApi
from prometheus_client.parser import text_string_to_metric_families

from bot.config import ConfigError, settings_from
from bot.services import Services
from bot.storage.database import CURRENT_VERSION, Database
from bot.telegram.common import services
from bot.telegram.http import ApiContact
from bot.telegram.webserver import Health
from index.engine import Engine

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def question_count(text: str, language: str, outcome: str) -> float:
    key = ("summit_bot_questions_total", frozenset({("language", language), ("outcome", outcome)}))
    return samples(text).get(key, 0.0)


async def test_metrics_move_when_questions_are_answered(engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotApi() as fake:
        settings = settings_for(fake, tmp_path, METRICS_PORT=str(port))
        async with running_bot(settings, engine):
            url = f"http://127.0.0.1:{port}/metrics"
            status, before = await get(url)
            assert status == 200
            info = samples(before)[
                (
                    "summit_bot_engine_info",
                    frozenset(
                        {
                            ("version", engine.version),
                            ("embedder", "use-multilingual"),
                            ("entries", str(len(engine.kb.by_id))),
                            ("knowledge_version", "shipped"),
                        }
                    ),
                )
            ]
            assert info == 1.0
            latency_before = samples(before).get(("summit_bot_answer_seconds_count", frozenset()), 0.0)

            for text in ("When is the summit?", "峰会什么时候举行？", "What is the capital of France?"):
                fake.user_message(31, text)
            await fake.wait_for_count("sendMessage", 3)
            _, after = await get(url)

    assert question_count(after, "en", "answer") == question_count(before, "en", "answer") + 1
    assert question_count(after, "zh", "answer") == question_count(before, "zh", "answer") + 1
    assert question_count(after, "en", "decline") == question_count(before, "en", "decline") + 1
    assert samples(after)[("summit_bot_answer_seconds_count", frozenset())] == latency_before + 3
    for family in ("summit_bot_send_queue", "summit_bot_messages_sent", "summit_bot_broadcasts_running"):
        assert f"# TYPE {family}" in after


async def test_healthz_in_webhook_mode_and_503_when_the_database_refuses_writes(
    engine: Engine, tmp_path: Path
) -> None:
    port = free_port()
    async with (
        FakeBotApi() as fake,
        running_bot(settings_for(fake, tmp_path, METRICS_PORT=str(port)), engine, "webhook") as app,
    ):
        url = f"http://127.0.0.1:{port}/healthz"
        status, body = await get(url)
        assert status == 200, body
        assert body["status"] == "ok" and body["index"] == engine.version

        db = services(app).db
        await db.rows("PRAGMA query_only = ON")  # the file can no longer be written
        status, body = await get(url)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert set(body["problems"]) == {"database"}
        assert "readonly" in body["problems"]["database"]

        await db.rows("PRAGMA query_only = OFF")
        assert (await get(url))[0] == 200
        # The health check writes nothing, the migration marker least of all.
        assert await db.schema_version() == CURRENT_VERSION


async def test_health_reports_a_silent_bot_api_and_a_missing_engine(engine: Engine, tmp_path: Path) -> None:
    now = [1000.0]
    contact = ApiContact(clock=lambda: now[0])
    db = await Database.open(tmp_path / "bot.sqlite3")
    current: list[Engine | None] = [engine]
    health = Health(engine=lambda: current[0], database=lambda: db, api=contact, max_silence=180)
    try:
        report = await health.check()
        assert report.problems == {"telegram": "the Bot API has not been reached yet"}
        contact.seen()
        now[0] += 179
        assert (await health.check()).ok
        now[0] += 2
        report = await health.check()
        assert report.problems == {"telegram": "no answer from the Bot API for 181 s"}
        assert report.as_json()["status"] == "unhealthy"
        contact.seen()
        current[0] = None
        assert set((await health.check()).problems) == {"engine"}
    finally:
        await db.close()
    assert set((await health.check()).problems) == {"engine", "database"}


async def test_webhook_answers_200_only_after_ingest_has_finished(
    fake: FakeBotApi, engine: Engine, tmp_path: Path
) -> None:
    taken: list[dict[str, Any]] = []
    fail = {"on": False}

    async def ingest(update: dict[str, Any]) -> None:
        await asyncio.sleep(0.2)  # a slow store: the answer to Telegram must wait for it
        if fail["on"]:
            raise OSError("disk full")
        taken.append(update)

    port = free_port()
    async with (
        FakeBotApi() as fake,
        running_bot(settings_for(fake, tmp_path), engine, "webhook", port, ingest),
    ):
        first = fake.user_message(41, "When is the summit?")
        await fake.wait_delivered(1)
        assert [d.status for d in fake.deliveries] == [200]
        assert [u["update_id"] for u in taken] == [first]
        assert taken[0]["message"]["text"] == "When is the summit?"

        fail["on"] = True
        fake.user_message(41, "Is there wifi?")
        await fake.wait_delivered(2)
        assert fake.deliveries[1].status == 500
        assert len(taken) == 1

        url = f"http://127.0.0.1:{port}/telegram"
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with aiohttp.ClientSession() as http:
            for body in (b"not json", b"[1, 2]"):
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status == 400
            async with http.get(url) as response:
                assert response.status == 405
        # The updates went to ``ingest`` only: the application answered nothing.
        assert not [c for c in fake.calls if c.method == "sendMessage"]


async def test_default_ingest_hands_updates_to_the_application(engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    async with (
        FakeBotApi() as fake,
        running_bot(settings_for(fake, tmp_path), engine, "webhook", port) as app,
    ):
        fake.user_message(42, "When is the summit?")
        reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 42)
        assert "8 to 10 November 2023" in reply.params["text"]
        assert isinstance(services(app), Services)
        assert fake.webhook_url == f"http://127.0.0.1:{port}/telegram"


async def test_the_bot_process_serves_health_and_stops_cleanly_on_sigterm(
    fake: FakeBotApi, tmp_path: Path, fixture_data: Path
) -> None:
    port = free_port()
    log_path = tmp_path / "bot.log"
    process = await start_bot_process(fake, fixture_data, log_path, cwd=tmp_path, METRICS_PORT=str(port))
    try:
        status = None
        for _ in range(300):
            try:
                status, _ = await get(f"http://127.0.0.1:{port}/healthz")
                if status == 200:
                    break
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
        assert status == 200
        fake.user_message(43, "When is the summit?")
        reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 43, timeout=20)
        assert "8 to 10 November 2023" in reply.params["text"]
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = log_path.read_text()
    assert process.returncode == 0, log
    assert "stopping" in log and "bot stopped" in log
    assert fake.token not in log


def test_metrics_port_setting() -> None:
    settings = settings_from({"METRICS_PORT": "9100"})
    assert (settings.metrics_listen, settings.metrics_port) == ("127.0.0.1", 9100)
    assert settings_from({}).metrics_port is None
    with pytest.raises(ConfigError, match="METRICS_PORT: '70000' is not a port number"):
        settings_from({"METRICS_PORT": "70000", "METRICS_LISTEN": "0.0.0.0"})


async def test_a_taken_port_stops_the_bot_with_a_clear_message(
    fake: FakeBotApi, tmp_path: Path, fixture_data: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log_path = tmp_path / "bot.log"
        process = await start_bot_process(fake, fixture_data, log_path, cwd=tmp_path, METRICS_PORT=str(port))
        try:
            await asyncio.wait_for(process.wait(), 120)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = log_path.read_text()
    assert process.returncode == 1, log
    assert "error: the bot could not start" in log and "address already in use" in log.lower()
    assert "Traceback" not in log and fake.token not in log
