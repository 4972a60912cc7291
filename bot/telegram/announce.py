"""/subscribe and /unsubscribe for everyone; /announce and /announcements for organisers and admins.

Staff commands are registered with ``filters.User`` (ADMIN_IDS and ORGANISER_IDS); the same commands from
anyone else reach :func:`refuse`, which answers politely and logs the attempt. Buttons cannot be
filtered by user, so :func:`pressed` checks the presser itself.

``/announce`` takes the text in the same message or, alone, in the organiser's next message; the reply
is a preview with Send now / Schedule / Cancel. Schedule asks for a time in the event's time zone, also
as the next message. Those follow-ups are caught by :func:`follow_up`, registered in an earlier handler
group than questions: it stops the update there only when it was expected.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.delivery.sender import Outgoing
from bot.i18n import Translator
from bot.services.announcements import AnnouncementError, Markup, Preview, plain
from bot.telegram.callbacks import AnnounceAction
from bot.telegram.common import answer_button, reply_html, send, send_html
from bot.telegram.context import BotContext
from index.types import Lang

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
"""How often the bot looks for announcements that are due, stopped or finished."""
FOLLOW_UP_GROUP = -1
"""Handler group of :func:`follow_up`: after the gate (group -2, :mod:`bot.telegram.gate`), before the
question handler of group 0."""
_WAITING = "announce_waiting"
"""user_data key: ``("text", 0)`` or ``("time", announcement id)`` while a follow-up is expected."""
EXAMPLE_TIME = "2023-11-08 14:30"
LIST_PREVIEW = 80
_COMMAND = re.compile(r"^/\w+(@\w+)?")


# ---------------------------------------------------------------------------- wiring


def stop_markup(texts: Translator) -> Markup:
    """The Stop button under an announcement's progress message, in its author's language."""

    def markup(announcement_id: int, lang: str) -> dict[str, Any]:
        label = texts(lang, "announce.stop_button", id=announcement_id)  # type: ignore[arg-type]
        data = AnnounceAction("stop", announcement_id).encode()
        return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]]).to_dict()

    return markup


def schedule_ticks(application: Application) -> None:
    """Look for due and finished announcements every :data:`TICK_SECONDS` (the database is the record)."""
    assert application.job_queue is not None
    application.job_queue.run_repeating(tick, interval=TICK_SECONDS, first=TICK_SECONDS, name="announcements")


async def tick(context: BotContext) -> None:
    try:
        await context.services.announcements.tick()
    except Exception:  # the next tick tries again; the database still says what is due
        log.exception("announcements: delivery round failed")


# ---------------------------------------------------------------------------- rendering


def _version_label(texts: Translator, lang: Lang, version_lang: str | None) -> str:
    if version_lang is None:
        return texts(lang, "announce.all_languages")
    return texts(version_lang, "language_name")  # type: ignore[arg-type]


def preview_html(preview: Preview, texts: Translator, lang: Lang) -> str:
    row = preview.announcement
    parts = [texts(lang, "announce.preview_title", id=row.id, total=preview.total)]
    for version, count in preview.audience:
        label = _version_label(texts, lang, version.lang)
        parts.append(texts(lang, "announce.version", language=label, count=count) + "\n" + version.html)
    return "\n\n".join(parts)


def preview_keyboard(announcement_id: int, texts: Translator, lang: Lang) -> InlineKeyboardMarkup:
    def button(key: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            texts(lang, f"announce.{key}"), callback_data=AnnounceAction(action, announcement_id).encode()
        )

    return InlineKeyboardMarkup(
        [[button("send_now", "send"), button("schedule", "schedule"), button("cancel", "cancel")]]
    )


def _error(texts: Translator, lang: Lang, error: AnnouncementError) -> str:
    return texts(lang, error.key, **error.values)


# ---------------------------------------------------------------------------- everyone


async def subscribe(update: Update, context: BotContext) -> None:
    lang = context.user_lang
    svc = context.services
    await svc.users.set_subscribed(update.effective_user.id, True)
    await reply_html(context.sender, update.effective_message, svc.texts(lang, "subscribed"))


async def unsubscribe(update: Update, context: BotContext) -> None:
    lang = context.user_lang
    svc = context.services
    await svc.users.set_subscribed(update.effective_user.id, False)
    await reply_html(context.sender, update.effective_message, svc.texts(lang, "unsubscribed"))


async def refuse(update: Update, context: BotContext) -> None:
    """A staff command from someone who is not staff: a polite no, and a line in the log."""
    lang = context.user_lang
    user = update.effective_user
    message = update.effective_message
    log.warning(
        "user %s tried %s without being an organiser or admin",
        user.id if user else None,
        (message.text or "").split(maxsplit=1)[0][:40] if message else "a staff command",
    )
    await reply_html(context.sender, message, context.services.texts(lang, "announce.refused"))


# ---------------------------------------------------------------------------- staff


def _without_command(message: Message) -> str:
    """The message's text as safe HTML (formatting kept), without the leading /announce command."""
    return _COMMAND.sub("", message.text_html or "", count=1).strip()


async def _draft(message: Message, context: BotContext, lang: Lang, html_text: str) -> None:
    svc = context.services
    try:
        preview = await svc.announcements.draft(message.from_user.id, message.chat_id, lang, html_text)
    except AnnouncementError as error:
        await reply_html(context.sender, message, _error(svc.texts, lang, error))
        return
    text = preview_html(preview, svc.texts, lang)
    await reply_html(
        context.sender, message, text, preview_keyboard(preview.announcement.id, svc.texts, lang)
    )


async def announce(update: Update, context: BotContext) -> None:
    """/announce TEXT: a preview; /announce alone: the text is expected as the next message."""
    lang = context.user_lang
    message = update.effective_message
    html_text = _without_command(message)
    if not plain(html_text).strip():
        context.user_data[_WAITING] = ("text", 0)
        await reply_html(context.sender, message, context.services.texts(lang, "announce.ask_text"))
        return
    context.user_data.pop(_WAITING, None)
    await _draft(message, context, lang, html_text)


async def follow_up(update: Update, context: BotContext) -> None:
    """A staff member's text while the announcement's text or time is expected; else left to questions."""
    waiting = context.user_data.get(_WAITING)
    message = update.effective_message
    if waiting is None or message is None:
        return
    lang = context.user_lang
    svc = context.services
    what, announcement_id = waiting
    if what == "text":
        context.user_data.pop(_WAITING, None)
        await _draft(message, context, lang, message.text_html or "")
        raise ApplicationHandlerStop
    try:
        due = await svc.announcements.schedule(announcement_id, message.text or "")
    except AnnouncementError as error:
        if error.key == "announce.error_not_open":
            context.user_data.pop(_WAITING, None)
        await reply_html(context.sender, message, _error(svc.texts, lang, error))
        raise ApplicationHandlerStop from None
    context.user_data.pop(_WAITING, None)
    zone = svc.announcements.zone.key
    when = svc.announcements.local(due)
    await reply_html(
        context.sender,
        message,
        svc.texts(lang, "announce.scheduled", id=announcement_id, when=when, zone=zone),
    )
    raise ApplicationHandlerStop


def _drop_keyboard(chat_id: int, message_id: int) -> Outgoing:
    return Outgoing(
        chat_id,
        {"message_id": message_id, "reply_markup": {"inline_keyboard": []}},
        method="editMessageReplyMarkup",
        kind="notice",
    )


async def pressed(update: Update, context: BotContext) -> None:
    """Send now, Schedule, Cancel under a preview; Cancel or Stop under a listing or a progress message."""
    query = update.callback_query
    svc = context.services
    lang = context.user_lang
    if query.from_user.id not in svc.settings.staff_ids:
        log.warning("user %s pressed an announcement button without being staff", query.from_user.id)
        await answer_button(query, svc.texts(lang, "announce.refused"), show_alert=True)
        return
    action = AnnounceAction.parse(query.data)
    announcements = svc.announcements
    if action is None or query.message is None:
        await answer_button(query)
        return
    chat_id, message_id = query.message.chat.id, query.message.message_id
    aid = action.announcement_id
    try:
        if action.action == "send":
            count = await announcements.send_now(aid)
            await answer_button(query, svc.texts(lang, "announce.sending", count=count))
            await send(context.sender, [_drop_keyboard(chat_id, message_id)])
        elif action.action == "schedule":
            row = await announcements.repo.get(aid)
            if row is None or row.state not in ("draft", "scheduled"):
                raise AnnouncementError("announce.error_not_open", id=aid)
            context.user_data[_WAITING] = ("time", aid)
            await answer_button(query)
            zone = announcements.zone.key
            await send_html(
                context.sender, chat_id, svc.texts(lang, "announce.ask_time", zone=zone, example=EXAMPLE_TIME)
            )
        elif action.action in ("cancel", "stop"):
            outcome = await announcements.cancel(aid)
            if not outcome:
                raise AnnouncementError("announce.error_not_open", id=aid)
            await answer_button(query)
            if context.user_data.get(_WAITING) == ("time", aid):
                context.user_data.pop(_WAITING, None)
            if outcome == "cancelled":
                await send(context.sender, [_drop_keyboard(chat_id, message_id)])
                await send_html(context.sender, chat_id, svc.texts(lang, "announce.cancelled", id=aid))
        else:
            await answer_button(query)
    except AnnouncementError as error:
        await answer_button(query, _error(svc.texts, lang, error), show_alert=True)


async def listing(update: Update, context: BotContext) -> None:
    """/announcements: recent and scheduled announcements with their counts and control buttons."""
    lang = context.user_lang
    svc = context.services
    announcements = svc.announcements
    assert announcements is not None
    listed = await announcements.listing()
    if not listed:
        await reply_html(context.sender, update.effective_message, svc.texts(lang, "announce.list_empty"))
        return
    parts = [svc.texts(lang, "announce.list_title", zone=announcements.zone.key)]
    rows: list[list[InlineKeyboardButton]] = []
    for item in listed:
        row = item.announcement
        when = row.due_at if row.state == "scheduled" else (row.finished_at or row.started_at)
        shown = announcements.local(when) if when else ""
        state = svc.texts(lang, f"announce.state_{row.state}", when=shown)
        first = " ".join(plain(row.versions[0].html).split())
        short = first if len(first) <= LIST_PREVIEW else first[: LIST_PREVIEW - 1] + "…"
        text = svc.texts(lang, "announce.list_item", id=row.id, state=state, text=short)
        if row.state in ("sending", "stopping", "done", "stopped"):
            counts = item.counts
            text += "\n" + svc.texts(
                lang,
                "announce.list_counts",
                sent=counts["sent"],
                failed=counts["failed"],
                blocked=counts["blocked"],
                remaining=counts["pending"],
            )
        parts.append(text)
        if row.state == "scheduled":
            label, action = svc.texts(lang, "announce.cancel_button", id=row.id), "cancel"
        elif row.state == "sending":
            label, action = svc.texts(lang, "announce.stop_button", id=row.id), "stop"
        else:
            continue
        rows.append([InlineKeyboardButton(label, callback_data=AnnounceAction(action, row.id).encode())])
    markup = InlineKeyboardMarkup(rows) if rows else None
    await reply_html(context.sender, update.effective_message, "\n\n".join(parts), markup)


def handlers(staff: filters.BaseFilter) -> list[BaseHandler]:
    """``staff``: organisers and admins in a private chat (:class:`bot.telegram.private.Staff`)."""
    return [
        CommandHandler("subscribe", subscribe),
        CommandHandler("unsubscribe", unsubscribe),
        CommandHandler("announce", announce, filters=staff),
        CommandHandler("announcements", listing, filters=staff),
        CommandHandler(("announce", "announcements"), refuse),
        CallbackQueryHandler(pressed, pattern=AnnounceAction.pattern()),
    ]


def follow_up_handlers(staff: filters.BaseFilter) -> list[BaseHandler]:
    """For :data:`FOLLOW_UP_GROUP`: a staff member's next text after /announce or Schedule."""
    text = filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE
    return [MessageHandler(staff & text, follow_up)]
