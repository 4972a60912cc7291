"""Updates from Telegram into the durable inbox (:mod:`bot.delivery.inbox`), and from there to the handlers.

- Long polling is our own loop (:func:`start_polling`), not PTB's updater: PTB's updater confirms a batch
  to Telegram before its updates are handled, so a crash lost them.
- The bot's webhook server (:mod:`bot.telegram.webserver`) hands each update's JSON to
  :func:`ingest_for` ``(application)`` and answers 200 once that returns (the update is then stored).
- Stored updates go to ``application.process_update`` (:func:`handler`), at most ``CONCURRENT_UPDATES``
  at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.delivery.inbox import Fetch, Handle, UpdateInbox
from bot.telegram.bot_api import retry_seconds
from bot.telegram.common import services

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10.0
"""Seconds a ``getUpdates`` long poll waits for updates."""
RETRY_FIRST = 1.0
RETRY_MAX = 30.0


def handler(application: Application) -> Handle:
    """Handling a stored update: PTB's handlers for it, finished when they are."""

    async def handle(payload: dict[str, Any]) -> None:
        update = Update.de_json(payload, application.bot)
        await application.process_update(update)

    return handle


def fetcher(bot: Bot, allowed_updates: Sequence[str], timeout: float = POLL_TIMEOUT) -> Fetch:
    """One ``getUpdates`` long poll from ``offset`` (retried with backoff on network errors, after
    flood control and while another instance polls); the updates as Telegram's JSON."""

    async def fetch(offset: int | None) -> list[dict[str, Any]]:
        delay = RETRY_FIRST
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=list(allowed_updates)
                )
            except InvalidToken:
                raise
            except RetryAfter as error:
                wait = retry_seconds(error.retry_after)
                log.warning("getUpdates: flood control, waiting %.0f s", wait)
                await asyncio.sleep(wait)
                continue
            except Conflict as error:
                log.warning("getUpdates: %s; trying again in %.0f s", error.message, delay)
            except (NetworkError, TelegramError) as error:
                log.warning("getUpdates failed (%s); trying again in %.0f s", error.message, delay)
            else:
                return [update.to_dict() for update in updates]
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    return fetch


def ingest_for(application: Application) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The coroutine a webhook server calls with each update's JSON body: it returns once the update is
    stored (answer 200 then); see :meth:`UpdateInbox.ingest` for its errors. Usable before the
    application starts; updates are accepted once it has."""

    async def ingest(update_json: dict[str, Any]) -> None:
        await inbox_of(application).ingest(update_json)

    return ingest


def inbox_of(application: Application) -> UpdateInbox:
    """The application's inbox (created when the application starts)."""
    inbox = services(application).inbox
    if inbox is None:
        raise RuntimeError("the bot's inbox is not running")
    return inbox


async def start_polling(
    application: Application, allowed_updates: Sequence[str], timeout: float = POLL_TIMEOUT
) -> asyncio.Task[None]:
    """Remove any webhook, then poll in the background into the application's inbox; the polling task."""
    await application.bot.delete_webhook()
    inbox = inbox_of(application)
    task = asyncio.create_task(inbox.poll(fetcher(application.bot, allowed_updates, timeout)), name="polling")
    task.add_done_callback(_report_end)
    return task


async def stop_polling(
    application: Application, task: asyncio.Task[None], grace: float | None = None
) -> None:
    """Stop polling, then let the updates being handled finish (up to ``grace`` seconds, by default the
    inbox's own, SHUTDOWN_GRACE_SECONDS)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):  # an error was logged when it ended
        await task
    await inbox_of(application).stop(grace)


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("polling stopped: %s", task.exception())
