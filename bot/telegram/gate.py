"""What happens to every update before any handler (handler group -2).

The sender is recorded once per update (created on first contact, ``last_seen`` updated, no longer
marked as blocking the bot) and their language is kept on the context for every handler of the update
(:func:`bot.telegram.common.language` reads it). Then the question goes through its user's line
(:mod:`bot.services.question_queue`): each user's questions are answered one after another, in the
order they came, within the per-user rate. A question over the rate waits for the window (its handling
slot serves other updates meanwhile) and the user is told once per burst that the rest follow; past
``QUESTION_BACKLOG`` waiting questions, the further ones are not taken and the user gets one notice
naming them. Nothing is dropped silently.

Messages in a group that are not for the bot (no command, no mention, no reply to the bot) are left
alone: their senders are not recorded and nothing is counted. A ``my_chat_member`` update (the user
blocked or unblocked the bot) is not contact either: its handler records what it says.

Only questions count toward the rate: text and media messages, and edits of them. Commands and buttons
are cheap (no engine time) and are not counted; staff are counted like everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.delivery.inbox import HANDLING, Handling
from bot.delivery.sender import Sender
from bot.services import Services
from bot.services.question_queue import Admission, Ticket
from bot.telegram.common import (
    addressed_text,
    is_command,
    is_group,
    is_stale_edit,
    remember_language,
    reply_html,
)
from bot.telegram.context import BotContext
from bot.telegram.formatting import escape
from index.types import Lang

log = logging.getLogger(__name__)

GROUP = -2
"""The handler group the gate runs in: before every other handler (the organisers' follow-up messages
are read in group -1, after the user is seen in group -2)."""
REFUSED_GATHER = 1.0
"""Seconds the first question not taken waits for others of the same burst, so one notice names all."""
REFUSED_NOTICE_WAIT = 30.0
"""Seconds the others wait at most for that notice to be queued."""
REFUSED_LISTED = 10
REFUSED_CHARS = 80


def _for_bot(message: Message, context: BotContext) -> bool:
    if not is_group(message.chat) or is_command(message):
        return True
    return addressed_text(message, context.bot) is not None


async def before_handlers(update: Update, context: BotContext) -> None:
    """Record the sender and their language; let a question go when its turn comes within the rate."""
    user = update.effective_user
    if user is None or user.is_bot or update.my_chat_member is not None:
        return
    message = None if update.callback_query is not None else update.effective_message
    if message is not None and not _for_bot(message, context):
        return
    svc = context.services
    ticket: Ticket | None = None
    if message is not None and not is_command(message) and not is_stale_edit(update):
        # Before the first await: the line keeps the order in which the updates came.
        ticket = svc.question_queue.arrive(user.id, (message.chat_id, message.message_id))
    try:
        lang = await svc.users.seen(user.id, user.language_code)
        remember_language(context, lang)
        if ticket is not None:
            assert message is not None
            await _take_turn(message, svc, lang, ticket)
    except BaseException:
        if ticket is not None:
            svc.question_queue.done(ticket)  # never leave the user's line waiting for this one
        raise


async def _take_turn(message: Message, svc: Services, lang: Lang, ticket: Ticket) -> None:
    """Return when the question may be answered; raise ApplicationHandlerStop when it is not taken."""
    queue = svc.question_queue
    if ticket.admission is Admission.SPENT:
        raise ApplicationHandlerStop
    handling = HANDLING.get()
    if ticket.admission is Admission.REFUSED:
        await _not_taken(message, svc, lang, ticket, handling)
        raise ApplicationHandlerStop
    if ticket.notify:
        log.info("user %s is over the question rate; the next questions wait their turn", ticket.user_id)
        seconds = max(1, math.ceil(ticket.wait_seconds))
        await _tell(
            svc.sender, message, svc.texts(lang, "questions_waiting", seconds=seconds), ticket.user_id
        )
    try:
        if handling is not None:
            async with handling.aside():
                await queue.turn(ticket)
        else:
            await queue.turn(ticket)
    except BaseException:
        queue.done(ticket)
        raise
    if handling is not None:
        handling.when_done(lambda: queue.done(ticket))  # the user's next question goes after this one
    else:
        queue.done(ticket)


async def _not_taken(
    message: Message, svc: Services, lang: Lang, ticket: Ticket, handling: Handling | None
) -> None:
    """A question past the backlog: the first of a burst waits a moment for the rest, then one notice
    names them all; the others wait for that notice to be queued (so none is marked handled before)."""
    queue = svc.question_queue
    text = message.text or message.caption or "…"
    batch, first = queue.refuse(ticket, text)
    aside = handling.aside() if handling is not None else contextlib.nullcontext()
    async with aside:
        if not first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(batch.sent.wait(), REFUSED_GATHER + REFUSED_NOTICE_WAIT)
            return
        try:
            await asyncio.sleep(REFUSED_GATHER)
            texts = queue.close_refused(ticket.user_id, batch)
            log.warning(
                "user %s: %d questions not taken, %d already waiting",
                ticket.user_id,
                len(texts),
                queue.backlog,
            )
            listed = [f"• <i>{escape(_short(t))}</i>" for t in texts[:REFUSED_LISTED]]
            if len(texts) > REFUSED_LISTED:
                listed.append(f"• … +{len(texts) - REFUSED_LISTED}")
            notice = svc.texts(
                lang,
                "questions_not_taken",
                count=len(texts),
                waiting=queue.backlog,
                seconds=max(1, math.ceil(ticket.wait_seconds)),
                questions="\n".join(listed),
            )
            await _tell(svc.sender, message, notice, ticket.user_id)
        finally:
            batch.sent.set()


async def _tell(sender: Sender, message: Message, text: str, user_id: int) -> None:
    try:
        await reply_html(sender, message, text)
    except TelegramError as exc:
        log.info("user %s: a notice about their questions was not delivered: %s", user_id, exc)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REFUSED_CHARS else text[: REFUSED_CHARS - 1] + "…"


def handlers() -> list[BaseHandler]:
    """Register with ``application.add_handlers(gate.handlers(), group=gate.GROUP)``."""
    return [TypeHandler(Update, before_handlers)]
