"""The webhook against malformed bodies: every body that is not an update gets a 4xx and one log line,
never a 5xx; nothing of it is stored; the bot keeps answering. The real application in webhook mode,
the Bot API fake, and bodies POSTed with the right secret token."""

from __future__ import annotations

import copy
import io
import json
import logging
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bot_harness import WEBHOOK_SECRET, free_port, running_bot, settings_for
from botapi_fake import FakeBotApi

from bot.telegram.common import services
from bot.telegram.webhook_body import MAX_UPDATE_ID, NotAnUpdate, read_update
from index.engine import Engine

SEED = 20231108


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


def valid_message(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7,
            "date": 1699401600,
            "chat": {"id": 77, "type": "private", "first_name": "A"},
            "from": {"id": 77, "is_bot": False, "first_name": "A", "language_code": "en"},
            "text": "When is the summit?",
        },
    }


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


JUNK: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    float("inf"),
    "",
    "x" * 1000,
    [],
    {},
    [1, "a", None],
    {"a": {"b": {"c": []}}},
    2**64,
    -(2**63),
]


def invalid_bodies(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """(kind, body) of bodies that are not updates: each must get a 4xx."""
    # Not JSON, not UTF-8, not an object.
    for body in (b"", b"{", b"}", b"{'update_id': 1}", b"update_id=1", b"\xff\xfe{}", b'{"update_id": 1,}'):
        yield "not json", body
    for _ in range(40):
        yield "random bytes", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    for value in (None, True, 1, 1.5, "update", [], [{"update_id": 1}], nested(50)):
        yield "not an object", json.dumps(value).encode()
    yield "deep nesting", b"[" * 100_000 + b"]" * 100_000
    yield "deep nesting", b'{"update_id": 5, "message": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001
    # update_id missing, of the wrong type, or out of range.
    for update_id in (None, True, False, "1", 1.0, 1e3, [1], {"id": 1}, -1, MAX_UPDATE_ID + 1, 2**63, 2**64):
        body = valid_message(1)
        body["update_id"] = update_id
        yield "bad update_id", json.dumps(body).encode()
    missing = valid_message(1)
    del missing["update_id"]
    yield "no update_id", json.dumps(missing).encode()
    yield "huge update_id", b'{"update_id": ' + b"9" * 5000 + b"}"
    yield "huge update_id", b'{"update_id": 1e999}'
    yield "NaN update_id", b'{"update_id": NaN}'
    # A valid update_id with a message that cannot be one.
    for junk in (True, 5, "hello", [1, 2], nested(30)):
        yield "message of the wrong type", json.dumps({"update_id": 9, "message": junk}).encode()
    for field in ("chat", "date", "message_id"):
        body = valid_message(10)
        del body["message"][field]
        yield f"message without {field}", json.dumps(body).encode()
    for field, junk in (("chat", "x"), ("chat", [1]), ("date", "yesterday"), ("date", [1]), ("from", "me")):
        body = valid_message(11)
        body["message"][field] = junk
        yield f"message {field} of the wrong type", json.dumps(body).encode()
    for junk in ("x", 5, [1]):
        yield "callback of the wrong type", json.dumps({"update_id": 12, "callback_query": junk}).encode()
    yield "callback without from", json.dumps({"update_id": 13, "callback_query": {"id": "1"}}).encode()


def mutated_bodies(rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """A valid update with one value replaced by junk: some stay updates (200), none may give a 5xx."""
    for n in range(count):
        body = valid_message(100_000 + n)
        paths: list[tuple[dict[str, Any], str]] = []
        stack: list[dict[str, Any]] = [body["message"]]
        while stack:
            node = stack.pop()
            for key, value in node.items():
                paths.append((node, key))
                if isinstance(value, dict):
                    stack.append(value)
        node, key = rng.choice(paths)
        node[key] = copy.deepcopy(rng.choice(JUNK))
        yield f"mutated {key}", json.dumps(body).encode()


def test_read_update_takes_a_valid_update_and_refuses_each_kind_of_junk() -> None:
    assert read_update(json.dumps(valid_message(3)).encode())["update_id"] == 3
    assert read_update(b'{"update_id": 4, "some_future_kind": {"x": 1}}')["update_id"] == 4
    rng = random.Random(SEED)
    kinds: Counter[str] = Counter()
    for kind, body in invalid_bodies(rng):
        with pytest.raises(NotAnUpdate) as refused:
            read_update(body)
        assert len(str(refused.value)) < 250, kind  # a short reason, for one log line
        kinds[refused.value.kind] += 1
    assert set(kinds) == {"json", "type", "update_id", "fields"}


async def test_fuzzed_webhook_bodies_get_4xx_never_5xx(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    invalid = list(invalid_bodies(rng))
    mutated = list(mutated_bodies(rng, 300))
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
    statuses: Counter[int] = Counter()
    async with (
        FakeBotApi() as fake,
        running_bot(settings_for(fake, tmp_path), engine, "webhook", port) as app,
    ):
        caplog.set_level(logging.WARNING, logger="bot.telegram.webserver")
        async with aiohttp.ClientSession() as http:
            for kind, body in invalid:
                async with http.post(url, data=body, headers=headers) as response:
                    assert 400 <= response.status < 500, (kind, body[:80], response.status)
                    statuses[response.status] += 1
            refused_lines = [r for r in caplog.records if "webhook body" in r.getMessage()]
            assert len(refused_lines) == len(invalid)  # one line per refused body
            assert all(len(r.getMessage()) < 400 for r in refused_lines)

            async with http.post(url, data=io.BytesIO(b"x" * (2 << 20)), headers=headers) as response:
                assert response.status == 413
                statuses[response.status] += 1
            stored = await services(app).db.rows("SELECT count(*) FROM inbox")
            assert stored == [(0,)]  # nothing that was refused was stored

            accepted = 0
            for kind, body in mutated:
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status in (200, 400), (kind, body[:200], response.status)
                    statuses[response.status] += 1
                    accepted += response.status == 200
            stored = await services(app).db.rows("SELECT count(*) FROM inbox")
            assert stored == [(accepted,)]  # a 200 only for what was stored

        # The bot still answers.
        fake.user_message(42, "When is the summit?")
        reply = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 42 and c.ok)
        assert "2023" in reply.params["text"]

    tried = len(invalid) + 1 + len(mutated)
    fives = sum(n for status, n in statuses.items() if status >= 500)
    print(f"\nwebhook fuzz: {tried} bodies tried, answers {dict(sorted(statuses.items()))}, {fives} of 5xx")
    assert fives == 0 and sum(statuses.values()) == tried
    assert statuses[400] >= len(invalid) - 1 and statuses[200] > 0
