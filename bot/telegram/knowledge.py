"""Admins change the knowledge from the chat: /knowledge, uploads, /reload, Apply/Cancel, /rollback.

Every handler here is registered for the ids in ADMIN_IDS only (``filters.User``); a button press is
checked again, since anyone can press a button they see. A change that removes more than the set share
of the entries (``mass_removal_share`` in ``admin.yaml``, 20%) says so in bold and takes a second
confirmation; the ``/rollback`` confirmation is bound to the admin who asked and to the version shown.
The work is done by :class:`bot.services.knowledge.KnowledgeService`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.services import Services
from bot.services.knowledge import (
    Activated,
    Diff,
    KnowledgeError,
    NotApplied,
    Preview,
    Removal,
    UploadRefused,
)
from bot.storage.knowledge_versions import VersionInfo
from bot.telegram.callbacks import KnowledgeApply, KnowledgeCancel, KnowledgeRollback
from bot.telegram.common import (
    answer_button,
    edit_markup,
    keyboard,
    reply_html,
    send_document,
    send_html,
)
from bot.telegram.context import BotContext
from index.types import Lang

log = logging.getLogger(__name__)
_K = TypeVar("_K", KnowledgeApply, KnowledgeCancel, KnowledgeRollback)

PROBLEMS_SHOWN = 40
"""Problems listed in the chat; beyond that the complete list comes as a text file too."""
ENTRIES_SHOWN = 30
"""Entries listed per kind of change in a preview."""


def _version_label(svc: Services, lang: Lang, version: VersionInfo | None) -> str:
    return version.id if version is not None else svc.texts(lang, "admin.version_shipped")


def _changes(svc: Services, lang: Lang, diff: Diff) -> str:
    lines: list[str] = []
    for key, items in (("added", diff.added), ("changed", diff.changed), ("removed", diff.removed)):
        if not items:
            continue
        lines.append(f"<b>{svc.texts(lang, f'admin.{key}')}</b> ({len(items)}):")
        lines += [
            f"• <code>{html.escape(i.entry_id, quote=False)}</code> {html.escape(i.title, quote=False)}"
            for i in items[:ENTRIES_SHOWN]
        ]
        if len(items) > ENTRIES_SHOWN:
            lines.append(f"• … +{len(items) - ENTRIES_SHOWN}")
    return "\n".join(lines)


async def _show_preview(
    update: Update, svc: Services, lang: Lang, preview: Preview | None, upload: str | None = None
) -> None:
    """The changes of a proposal with "Apply" and "Cancel"; ``upload`` names the uploaded file, None for
    a ``/reload``."""
    message = update.effective_message
    if upload is not None:
        source = svc.texts(lang, "admin.source_upload", name=upload)
    else:
        source = svc.texts(lang, "admin.source_reload")
    if preview is None:
        await reply_html(svc.sender, message, svc.texts(lang, "admin.unchanged"))
        return
    text = svc.texts(lang, "admin.preview", entries=preview.entries, source=html.unescape(source))
    if preview.removal is not None and preview.removal.massive:
        text = f"{_removal_text(svc, lang, 'admin.mass_removal', preview.removal)}\n\n{text}"
    text = f"{text}\n\n{_changes(svc, lang, preview.diff)}"
    buttons = keyboard(
        [
            [
                (svc.texts(lang, "admin.apply"), KnowledgeApply(preview.proposal_id).encode()),
                (svc.texts(lang, "admin.cancel"), KnowledgeCancel(preview.proposal_id).encode()),
            ]
        ]
    )
    await reply_html(svc.sender, message, text, buttons)


def _removal_text(svc: Services, lang: Lang, key: str, removal: Removal) -> str:
    percent = round(removal.share * 100)
    return svc.texts(lang, key, removed=removal.removed, served=removal.served, percent=percent)


async def _ask_removal_confirmation(
    context: BotContext, press: _Press[KnowledgeApply], chat_id: int, removal: Removal
) -> None:
    """The second confirmation of a change that removes many entries."""
    svc, lang, data = press.svc, press.lang, press.data
    buttons = keyboard(
        [
            [
                (
                    svc.texts(lang, "admin.confirm_removal_button", removed=removal.removed),
                    KnowledgeApply(data.proposal_id, removal_confirmed=True).encode(),
                ),
                (svc.texts(lang, "admin.cancel"), KnowledgeCancel(data.proposal_id).encode()),
            ]
        ]
    )
    await send_html(
        context.sender, chat_id, _removal_text(svc, lang, "admin.confirm_removal", removal), buttons
    )


async def _show_problems(update: Update, context: BotContext, lang: Lang, error: KnowledgeError) -> None:
    svc = context.services
    problems = [str(p) for p in error.problems]
    lines = [svc.texts(lang, "admin.invalid", count=len(problems))]
    lines += [f"• {html.escape(p, quote=False)}" for p in problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(svc.texts(lang, "admin.invalid_more", count=len(problems) - PROBLEMS_SHOWN))
    message = update.effective_message
    await reply_html(svc.sender, message, "\n".join(lines))
    if len(problems) > PROBLEMS_SHOWN:
        report = "\n".join(problems).encode()
        await send_document(context.sender, message.chat_id, "knowledge-problems.txt", report)


async def send_files(update: Update, context: BotContext) -> None:
    """/knowledge: the files of the served knowledge, one document each."""
    lang = context.user_lang
    svc = context.services
    documents = svc.knowledge.current_documents()
    version = svc.knowledge.current_version
    label = _version_label(svc, lang, version)
    await reply_html(
        context.sender,
        update.effective_message,
        svc.texts(lang, "admin.knowledge_files", version=label, count=len(documents)),
    )
    for name, text in documents.items():
        await send_document(context.sender, update.effective_message.chat_id, name, text.encode())


async def downloaded_document(update: Update, context: BotContext, limit: int) -> bytes | None:
    """The bytes of the document an admin sent; None once the admin has been told why not (larger than
    ``limit`` bytes, or Telegram would not hand the file over)."""
    lang = context.user_lang
    svc = context.services
    message = update.effective_message
    document = message.document
    if document.file_size is not None and document.file_size > limit:
        await reply_html(context.sender, message, svc.texts(lang, "admin.refused_size", limit=limit // 1000))
        return None
    try:
        telegram_file = await context.bot.get_file(document.file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except TelegramError:
        await reply_html(context.sender, message, svc.texts(lang, "admin.download_failed"))
        return None


async def upload(update: Update, context: BotContext) -> None:
    """A document from an admin: validate the resulting set and preview the change."""
    lang = context.user_lang
    svc = context.services
    message = update.effective_message
    name = message.document.file_name or ""
    try:
        if not name.lower().endswith((".yaml", ".yml")):
            raise UploadRefused("name")
        data = await downloaded_document(update, context, svc.knowledge.max_upload_bytes)
        if data is None:
            return
        preview = await svc.knowledge.propose_upload(update.effective_user.id, name, data, lang)
    except UploadRefused as refused:
        limit = svc.knowledge.max_upload_bytes // 1000
        await reply_html(
            context.sender, message, svc.texts(lang, f"admin.refused_{refused.reason}", limit=limit)
        )
        return
    except KnowledgeError as error:
        await _show_problems(update, context, lang, error)
        return
    await _show_preview(update, svc, lang, preview, upload=name)


async def reload(update: Update, context: BotContext) -> None:
    """/reload: the files in the knowledge directory on the server, validated and previewed."""
    lang = context.user_lang
    svc = context.services
    try:
        preview = await svc.knowledge.propose_reload(update.effective_user.id, lang)
    except KnowledgeError as error:
        await _show_problems(update, context, lang, error)
        return
    await _show_preview(update, svc, lang, preview)


def _is_admin(update: Update, svc: Services) -> bool:
    user = update.effective_user
    return user is not None and user.id in svc.settings.admin_ids


@dataclass(frozen=True)
class _Press(Generic[_K]):
    """An admin's press on one of this module's buttons, with what every handler needs."""

    svc: Services
    lang: Lang
    data: _K


async def _admin_press(update: Update, context: BotContext, kind: type[_K]) -> _Press[_K] | None:
    """The press as ``kind`` when an admin made it; otherwise it is answered here and None returned."""
    query = update.callback_query
    lang = context.user_lang
    svc = context.services
    if not _is_admin(update, svc):
        await answer_button(query, svc.texts(lang, "admin.denied"))
        return None
    data = kind.parse(query.data)
    if data is None:
        await answer_button(query)
        return None
    return _Press(svc, lang, data)


async def _close_buttons(update: Update, context: BotContext) -> None:
    """Take the buttons off the pressed message so it cannot be pressed again (through the sender: if
    it was already edited, or is too old, the service refuses a second decision anyway)."""
    query = update.callback_query
    if query.message is not None:
        await edit_markup(context.sender, query.message.chat.id, query.message.message_id, None)


async def _acknowledge(update: Update, context: BotContext) -> int:
    """Answer an admin's press and take the buttons off its message; the chat to report in."""
    query = update.callback_query
    await answer_button(query)
    await _close_buttons(update, context)
    return query.message.chat.id if query.message else update.effective_user.id


async def _activate(
    context: BotContext, press: _Press[_K], chat_id: int, work: Callable[[], Awaitable[Activated]]
) -> Activated | None:
    """Say that the index is being built, then ``work`` (which swaps it in); None when the service
    refused, and the admin is told why."""
    await send_html(context.sender, chat_id, press.svc.texts(press.lang, "admin.applying"))
    try:
        return await work()
    except NotApplied as refused:
        await send_html(context.sender, chat_id, press.svc.texts(press.lang, f"admin.not_{refused.reason}"))
        return None


async def apply(update: Update, context: BotContext) -> None:
    """ "Apply": build the new index in the background and tell the admin when it is live."""
    press = await _admin_press(update, context, KnowledgeApply)
    if press is None:
        return
    svc, lang, data = press.svc, press.lang, press.data
    if not data.removal_confirmed:
        removal = await svc.knowledge.removal(data.proposal_id)
        if removal is not None and removal.massive:
            query = update.callback_query
            await answer_button(query)
            chat_id = query.message.chat.id if query.message else update.effective_user.id
            await _ask_removal_confirmation(context, press, chat_id, removal)
            return
    chat_id = await _acknowledge(update, context)
    user = update.effective_user
    done = await _activate(
        context,
        press,
        chat_id,
        lambda: svc.knowledge.apply(
            data.proposal_id, user.id, user.full_name, removal_confirmed=data.removal_confirmed
        ),
    )
    if done is None:
        return
    text = svc.texts(
        lang,
        "admin.applied",
        version=done.version.id,
        seconds=f"{done.seconds:.1f}",
        embedded=done.embedded,
        reused=done.reused,
    )
    await send_html(context.sender, chat_id, text)


async def cancel(update: Update, context: BotContext) -> None:
    """ "Cancel": drop the proposal."""
    query = update.callback_query
    press = await _admin_press(update, context, KnowledgeCancel)
    if press is None:
        return
    svc, lang, data = press.svc, press.lang, press.data
    cancelled = await svc.knowledge.cancel(data.proposal_id)
    if not cancelled:
        proposal = await svc.knowledge.proposal(data.proposal_id)
        await answer_button(query, svc.texts(lang, f"admin.not_{proposal.state if proposal else 'unknown'}"))
        return
    await answer_button(query, svc.texts(lang, "admin.cancelled"))
    await _close_buttons(update, context)
    await send_html(context.sender, query.message.chat.id, svc.texts(lang, "admin.cancelled"))


async def rollback(update: Update, context: BotContext) -> None:
    """/rollback: what returning to the previous version undoes, with a confirmation button."""
    lang = context.user_lang
    svc = context.services
    found = await svc.knowledge.rollback_preview(lang)
    if found is None:
        await reply_html(context.sender, update.effective_message, svc.texts(lang, "admin.rollback_none"))
        return
    target, diff = found
    offer = svc.knowledge.offer_rollback(update.effective_user.id, target.id)
    who = target.applied_by_name or (str(target.applied_by) if target.applied_by else "")
    text = svc.texts(
        lang,
        "admin.rollback_confirm",
        version=target.id,
        when=target.created.strftime("%Y-%m-%d %H:%M UTC"),
        who=who or svc.texts(lang, "admin.shipped_by"),
    )
    buttons = keyboard(
        [
            [
                (
                    svc.texts(lang, "admin.rollback_button", version=target.id),
                    KnowledgeRollback(target.id, True, offer).encode(),
                ),
                (
                    svc.texts(lang, "admin.cancel"),
                    KnowledgeRollback(target.id, False, offer).encode(),
                ),
            ]
        ]
    )
    await reply_html(
        context.sender, update.effective_message, f"{text}\n\n{_changes(svc, lang, diff)}", buttons
    )


async def confirm_rollback(update: Update, context: BotContext) -> None:
    press = await _admin_press(update, context, KnowledgeRollback)
    if press is None:
        return
    svc, lang, data = press.svc, press.lang, press.data
    user = update.effective_user
    offered_to = svc.knowledge.offered_to(data.offer)
    if offered_to != user.id:  # the admin who sent /rollback decides, on what they were shown
        log.warning("admin %s pressed a rollback confirmation made for %s", user.id, offered_to)
        await answer_button(
            update.callback_query, svc.texts(lang, "admin.rollback_not_yours"), show_alert=True
        )
        return
    chat_id = await _acknowledge(update, context)
    if not data.confirm:
        await send_html(context.sender, chat_id, svc.texts(lang, "admin.cancelled"))
        return
    done = await _activate(
        context,
        press,
        chat_id,
        lambda: svc.knowledge.rollback(data.version, user.id, offer=data.offer),
    )
    if done is None:
        return
    text = svc.texts(lang, "admin.rolled_back", version=done.version.id, seconds=f"{done.seconds:.1f}")
    await send_html(context.sender, chat_id, text)


async def denied(update: Update, context: BotContext) -> None:
    lang = context.user_lang
    await reply_html(context.sender, update.effective_message, context.services.texts(lang, "admin.denied"))


COMMANDS = ("knowledge", "reload", "rollback")


def handlers(admins: filters.BaseFilter) -> list[BaseHandler]:
    """Admins' handlers (``admins``: ADMIN_IDS in a private chat, :class:`bot.telegram.private.Staff`);
    they must come before the non-text hint, which would take the documents."""
    return [
        CommandHandler("knowledge", send_files, filters=admins),
        CommandHandler("reload", reload, filters=admins),
        CommandHandler("rollback", rollback, filters=admins),
        MessageHandler(filters.UpdateType.MESSAGE & admins & filters.Document.ALL, upload),
        CallbackQueryHandler(apply, pattern=KnowledgeApply.pattern()),
        CallbackQueryHandler(cancel, pattern=KnowledgeCancel.pattern()),
        CallbackQueryHandler(confirm_rollback, pattern=KnowledgeRollback.pattern()),
        CommandHandler(list(COMMANDS), denied),
    ]
