"""The programme in the chat: admins upload a programme file; ``SCHEDULE_URL`` is kept in sync;
attendees get a personal calendar link.

- An admin sends ``schedule.json``, ``schedule.xml``, a ``.csv`` or an ``.xlsx`` file as a document: it
  becomes a knowledge proposal with the same preview, Apply and Cancel as a YAML upload
  (:mod:`bot.telegram.knowledge`); a bad row, column or JSON path is listed and nothing changes.
- With ``SCHEDULE_URL`` the programme is polled (:class:`bot.schedule.sync.ScheduleSync`); a change is
  sent to every admin as such a preview, or applied at once with ``SCHEDULE_AUTO_APPLY``.
- ``/calendarlink`` gives the attendee their feed link (``PUBLIC_URL`` must be set);
  ``/calendarlink_revoke`` stops it.
"""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.ext import Application, BaseHandler, CommandHandler, MessageHandler, filters

from bot.schedule.model import ScheduleError
from bot.schedule.sync import Fetched, ScheduleSync
from bot.services import Services
from bot.services.calendar_feed import feed_url
from bot.services.knowledge import KnowledgeError, NotApplied
from bot.services.schedule import SCHEDULE_SUFFIXES, ImportPreview
from bot.telegram import knowledge as knowledge_handlers
from bot.telegram.callbacks import KnowledgeApply, KnowledgeCancel
from bot.telegram.common import keyboard, reply_html, send_html, services
from bot.telegram.context import BotContext
from index.types import Lang

log = logging.getLogger(__name__)

SYNC_KEY = "schedule_sync"
PROBLEMS_SHOWN = knowledge_handlers.PROBLEMS_SHOWN


def _summary(svc: Services, lang: Lang, name: str, result: ImportPreview) -> str:
    summary = result.summary
    lines = [
        svc.texts(
            lang,
            "schedule.summary",
            name=name,
            sessions=summary.sessions,
            rooms=len(summary.new_rooms),
            zone=summary.timezone,
        )
    ]
    lines += [svc.texts(lang, "schedule.note", note=note) for note in summary.notes[:5]]
    return "\n".join(lines)


def _problems(svc: Services, lang: Lang, name: str, error: ScheduleError) -> str:
    problems = [str(p) for p in error.problems]
    lines = [svc.texts(lang, "schedule.invalid", name=name, count=len(problems))]
    lines += [f"• {html.escape(p, quote=False)}" for p in problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(f"• … +{len(problems) - PROBLEMS_SHOWN}")
    return "\n".join(lines)


def _preview_text(svc: Services, lang: Lang, source: str, result: ImportPreview) -> str:
    preview = result.preview
    assert preview is not None
    head = svc.texts(
        lang,
        "admin.preview",
        entries=preview.entries,
        source=svc.texts(lang, "admin.source_upload", name=source),
    )
    changes = knowledge_handlers._changes(svc, lang, preview.diff)
    return f"{head}\n{_summary(svc, lang, source, result)}\n\n{changes}"


def _buttons(svc: Services, lang: Lang, proposal_id: int):
    return keyboard(
        [
            [
                (svc.texts(lang, "admin.apply"), KnowledgeApply(proposal_id).encode()),
                (svc.texts(lang, "admin.cancel"), KnowledgeCancel(proposal_id).encode()),
            ]
        ]
    )


async def upload(update: Update, context: BotContext) -> None:
    """A programme file from an admin: read, validate and preview it like a knowledge upload."""
    lang = context.user_lang
    svc = context.services
    message = update.effective_message
    name = message.document.file_name or "programme"
    data = await knowledge_handlers.downloaded_document(update, context, svc.knowledge.max_upload_bytes * 10)
    if data is None:
        return
    try:
        result = await svc.schedule.propose(update.effective_user.id, name, data, lang)
    except ScheduleError as error:
        await reply_html(context.sender, message, _problems(svc, lang, name, error))
        return
    except KnowledgeError as error:  # the knowledge with this programme would be invalid
        await knowledge_handlers._show_problems(update, context, lang, error)
        return
    if result.preview is None:
        await reply_html(context.sender, message, svc.texts(lang, "admin.unchanged"))
        return
    await reply_html(
        context.sender,
        message,
        _preview_text(svc, lang, name, result),
        _buttons(svc, lang, result.preview.proposal_id),
    )


async def calendar_link(update: Update, context: BotContext) -> None:
    """/calendarlink: the attendee's personal feed link (made on first use)."""
    lang = context.user_lang
    svc = context.services
    user = update.effective_user
    if user is None:
        return
    if not svc.settings.public_url:
        await reply_html(
            context.sender, update.effective_message, svc.texts(lang, "schedule.feed_unavailable")
        )
        return
    token = await svc.calendar_feeds.token(user.id)
    url = feed_url(svc.settings.public_url, token)
    await reply_html(context.sender, update.effective_message, svc.texts(lang, "schedule.feed_link", url=url))


async def calendar_revoke(update: Update, context: BotContext) -> None:
    """/calendarlink_revoke: the attendee's feed link stops working."""
    lang = context.user_lang
    svc = context.services
    user = update.effective_user
    if user is None:
        return
    revoked = await svc.calendar_feeds.revoke(user.id)
    await reply_html(
        context.sender,
        update.effective_message,
        svc.texts(lang, "schedule.feed_revoked" if revoked else "schedule.feed_none"),
    )


# --------------------------------------------------------------------------- SCHEDULE_URL


def sync_handler(application: Application):
    """What a changed programme at SCHEDULE_URL does: a preview to each admin, or an Apply at once."""

    async def changed(fetched: Fetched) -> None:
        svc = services(application)
        settings = svc.settings
        url = settings.schedule_url or ""
        admins = sorted(settings.admin_ids)
        lang: Lang = "en"
        try:
            result = await svc.schedule.propose(
                admins[0] if admins else 0, fetched.name, fetched.data, lang, source=url
            )
        except (ScheduleError, KnowledgeError) as error:
            log.warning("programme at %s refused: %s", url, error)
            text = (
                _problems(svc, lang, url, error)
                if isinstance(error, ScheduleError)
                else svc.texts(lang, "admin.invalid", count=len(error.problems))
                + "\n"
                + "\n".join(f"• {html.escape(str(p), quote=False)}" for p in error.problems[:PROBLEMS_SHOWN])
            )
            for admin in admins:
                await send_html(svc.sender, admin, text)
            return
        if result.preview is None:
            log.info("programme at %s changed, but not the knowledge", url)
            return
        if not admins and not settings.schedule_auto_apply:
            log.warning("programme at %s changed, but ADMIN_IDS is empty: nobody can apply it", url)
            return
        if settings.schedule_auto_apply:
            try:
                done = await svc.knowledge.apply(
                    result.preview.proposal_id, admins[0] if admins else 0, "schedule sync"
                )
            except NotApplied as refused:
                log.warning("programme at %s not applied: %s", url, refused.reason)
                for admin in admins:
                    await send_html(svc.sender, admin, svc.texts(lang, "schedule.sync_failed", url=url))
                return
            text = svc.texts(
                lang, "schedule.sync_applied", url=url, version=done.version.id, seconds=f"{done.seconds:.1f}"
            )
            for admin in admins:
                await send_html(svc.sender, admin, f"{text}\n\n{_summary(svc, lang, url, result)}")
            return
        for admin in admins:
            await send_html(
                svc.sender,
                admin,
                _preview_text(svc, lang, url, result),
                _buttons(svc, lang, result.preview.proposal_id),
            )

    return changed


def start_sync(application: Application) -> ScheduleSync | None:
    """Poll SCHEDULE_URL in the background, when it is set."""
    settings = services(application).settings
    if not settings.schedule_url:
        return None
    sync = ScheduleSync(
        settings.schedule_url, sync_handler(application), interval=settings.schedule_poll_seconds
    )
    sync.start()
    application.bot_data[SYNC_KEY] = sync
    log.info("programme sync: %s every %.0f s", settings.schedule_url, settings.schedule_poll_seconds)
    return sync


async def stop_sync(application: Application) -> None:
    sync = application.bot_data.pop(SYNC_KEY, None)
    if sync is not None:
        await sync.stop()


def handlers(admins: filters.BaseFilter) -> list[BaseHandler]:
    """Admins' programme uploads (``admins``: ADMIN_IDS in a private chat, before the knowledge upload
    handler) and the calendar link commands."""
    programme = filters.Document.FileExtension("json")
    for suffix in SCHEDULE_SUFFIXES[1:]:
        programme = programme | filters.Document.FileExtension(suffix.lstrip("."))
    return [
        MessageHandler(filters.UpdateType.MESSAGE & admins & programme, upload),
        CommandHandler("calendarlink", calendar_link, filters=filters.ChatType.PRIVATE),
        CommandHandler("calendarlink_revoke", calendar_revoke, filters=filters.ChatType.PRIVATE),
    ]
