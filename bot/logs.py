"""Logging for the command line, and keeping the bot token out of every log line, whoever writes it.

:func:`configure_logging` sends every record to standard error at ``LOG_LEVEL``: the level is set on the
handler too, so a library that sets its own logger to DEBUG (bm25s does) is not heard at INFO.

Libraries put request URLs (which hold the token) and their own error texts ("The token `…` was
rejected") into log records and tracebacks; a filter on the handlers rewrites them before output.
"""

from __future__ import annotations

import logging
import sys

REDACTED = "<token>"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("httpx", "jieba", "sentence_transformers", "faiss")
"""Libraries that log at INFO what an operator never needs (every HTTP request, every index step):
shown from WARNING on, unless LOG_LEVEL asks for more detail than that."""


def configure_logging(level: str) -> None:
    """Log to standard error at ``level`` (a name from :data:`bot.config.LOG_LEVELS`), libraries too."""
    numeric = logging.getLevelName(level)
    if not isinstance(numeric, int):
        numeric = logging.INFO  # an invalid LOG_LEVEL is reported with the other settings
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(numeric)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


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
