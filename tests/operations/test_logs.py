"""The bot token never reaches a log line."""

import io
import logging

from bot.logs import REDACTED, hide_secret

TOKEN = "123456:SECRET-token-value"


def test_token_is_redacted_in_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        hide_secret(TOKEN)
        hide_secret(TOKEN)  # idempotent
        log = logging.getLogger("some.library")
        log.error("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            log.exception("start-up failed")
    finally:
        root.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(REDACTED) == 2
    assert "start-up failed" in output and "RuntimeError" in output
    assert len(handler.filters) == 1
