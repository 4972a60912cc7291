"""What the sender needs from the Bot API: one call, and four kinds of failure it handles differently."""

from __future__ import annotations

from typing import Any, Protocol


class DeliveryError(Exception):
    """A message was not accepted."""


class RetryLater(DeliveryError):
    """Flood control (HTTP 429): try again after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"flood control: retry after {seconds:g} s")
        self.seconds = seconds


class Blocked(DeliveryError):
    """The user blocked the bot, or the chat is gone (HTTP 403): never send there again unprompted."""


class Rejected(DeliveryError):
    """The request itself was refused (HTTP 400): the same request may fail again."""


class Unavailable(DeliveryError):
    """A network error, a time-out or a server error: the same request may well succeed later."""


class Transport(Protocol):
    """Sends one Bot API request (``method`` with JSON-able ``params``).

    Returns the id of the message sent or edited, when the answer has one. Raises one of the
    :class:`DeliveryError` kinds on failure.
    """

    async def call(self, method: str, params: dict[str, Any]) -> int | None: ...
