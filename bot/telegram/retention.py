"""The daily purge of old questions, woken by PTB's job queue.

The job wakes every hour; the database records when the last purge ran (by the bot or by
``summit-bot purge``), so the purge itself runs once a day however often the bot restarts.
"""

from __future__ import annotations

import logging

from telegram.ext import Application

from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

WAKE_EVERY_SECONDS = 3600
FIRST_WAKE_SECONDS = 30


async def purge_if_due(context: BotContext) -> None:
    try:
        await context.services.privacy.purge_if_due()
    except Exception:
        log.exception("the purge of old questions failed; it is tried again in an hour")


def schedule(application: Application) -> None:
    """Wake :func:`purge_if_due` every hour, the first time shortly after start-up."""
    if application.job_queue is None:
        log.warning("no job queue: old questions are only deleted by `summit-bot purge`")
        return
    application.job_queue.run_repeating(
        purge_if_due, interval=WAKE_EVERY_SECONDS, first=FIRST_WAKE_SECONDS, name="purge-old-questions"
    )
