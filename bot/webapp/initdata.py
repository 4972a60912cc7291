"""Telegram Mini App ``initData``: checking its signature, and making signed ones (tests, benchmarks).

Telegram opens a Mini App with ``initData``, a URL-encoded query string such as
``query_id=…&user={"id":1,…}&auth_date=1700000000&hash=…``. It is signed with the bot's token as
Telegram's Mini App documentation describes:

- the *data-check-string* is every field except ``hash``, as ``key=value``, sorted by key, joined with
  ``\\n``;
- the secret key is HMAC-SHA256 of the token with the key ``WebAppData``;
- ``hash`` is the hex HMAC-SHA256 of the data-check-string with that secret key.

:func:`verify` accepts ``initData`` only when the hash matches, the data is at most ``max_age`` seconds
old (and not from the future), and it names a user. Everything else raises :class:`InvalidInitData`
with a reason for the log (never shown to the caller in detail).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

MAX_INIT_DATA = 8192
"""Longer ``initData`` is refused unread (Telegram's is a few hundred bytes)."""
CLOCK_SKEW = 60.0
"""Seconds an ``auth_date`` may lie in the future (clocks differ a little)."""


class InvalidInitData(ValueError):
    """The ``initData`` is missing, malformed, wrongly signed, too old or names no user."""


@dataclass(frozen=True)
class WebAppUser:
    """The user a valid ``initData`` names."""

    id: int
    language_code: str | None
    first_name: str
    auth_date: int


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash").encode()


def _fields(init_data: str) -> dict[str, str]:
    if not init_data:
        raise InvalidInitData("no initData")
    if len(init_data) > MAX_INIT_DATA:
        raise InvalidInitData("initData too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInitData("initData is not a query string") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InvalidInitData("a field of initData is repeated")
    return fields


def verify(init_data: str, token: str, max_age: float, now: float | None = None) -> WebAppUser:
    """The user named by ``init_data`` if Telegram signed it for this bot within ``max_age`` seconds."""
    fields = _fields(init_data)
    given = fields.get("hash", "")
    expected = hmac.new(_secret(token), _check_string(fields), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InvalidInitData("wrong signature")
    raw_date = fields.get("auth_date", "")
    if not (raw_date.isascii() and raw_date.isdigit()):
        raise InvalidInitData("no auth_date")
    auth_date = int(raw_date)
    moment = time.time() if now is None else now
    if moment - auth_date > max_age:
        raise InvalidInitData(f"initData is {moment - auth_date:.0f} s old (at most {max_age:.0f} s)")
    if auth_date - moment > CLOCK_SKEW:
        raise InvalidInitData("auth_date is in the future")
    try:
        user: Any = json.loads(fields.get("user", ""))
    except ValueError as exc:
        raise InvalidInitData("no user") from exc
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise InvalidInitData("no user id")
    code = user.get("language_code")
    name = user.get("first_name")
    return WebAppUser(
        id=user_id,
        language_code=code if isinstance(code, str) else None,
        first_name=name if isinstance(name, str) else "",
        auth_date=auth_date,
    )


def sign(token: str, user: dict[str, Any], auth_date: int | None = None, **extra: str) -> str:
    """``initData`` as Telegram would make it for ``user`` (tests and benchmarks stand in for Telegram)."""
    fields = {
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **extra,
    }
    fields["hash"] = hmac.new(_secret(token), _check_string(fields), hashlib.sha256).hexdigest()
    return urlencode(fields)
