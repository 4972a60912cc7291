"""Fixtures shared by the test modules that talk to the local Bot API fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from botapi_fake import FakeBotApi


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API on 127.0.0.1 with the default test token, stopped after the test."""
    async with FakeBotApi() as server:
        yield server
