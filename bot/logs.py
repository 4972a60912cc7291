"""Keeping the bot token out of every log line, whoever writes it.

Libraries put request URLs (which hold the token) and their own error texts ("The token `…` was
rejected") into log records and tracebacks; a filter on the handlers rewrites them before output.
"""

from __future__ import annotations

import logging

REDACTED = "<token>"


class SecretFilter(logging.Filter):
    """Replaces ``secret`` in a record's message and traceback text."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, REDACTED), ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = text.replace(self.secret, REDACTED), None
        elif record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, REDACTED)
        return True


def hide_secret(secret: str) -> None:
    """Install a :class:`SecretFilter` for ``secret`` on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretFilter) and f.secret == secret for f in handler.filters):
            handler.addFilter(SecretFilter(secret))
