"""Organisers' announcements: drafts, language versions, scheduling, and their delivery by the one sender.

The text of an announcement is Telegram HTML (from the organiser's formatted message, or written on the
command line). It may hold one version per language, each starting on its own line with ``[th]``,
``[zh]`` or ``[en]``; every subscriber gets the version in their language, else the first one.

When an announcement is due (sent now, or its scheduled time has passed) :meth:`AnnouncementService.tick`
or :meth:`AnnouncementService.send_now` hands every delivery to the sender in ONE
:meth:`~bot.delivery.sender.Sender.submit`, whose transaction also marks the announcement as being sent:
after a crash it is either not started (and will be, by the next tick) or fully queued (and the sender
resumes its pending deliveries at start-up). Progress is read from the outbox (``ann:<id>``); the author
sees one message edited as it goes and a summary at the end. Nothing here imports Telegram: the time
comes from ``now``, and the only Telegram-shaped things are the Bot API parameters handed to the sender.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from bot import metrics
from bot.delivery.sender import Outgoing, Sender, html_message
from bot.i18n import Translator
from bot.storage.announcements import (
    AnnouncementRow,
    NotOpen,
    Version,
    progress_ref,
)
from bot.storage.database import Database
from index.types import LANGS, Lang

log = logging.getLogger(__name__)

MAX_CHARS = 4096
"""Telegram's limit on one message's text (UTF-16 code units after the HTML is parsed)."""
PROGRESS_INTERVAL = 3.0
"""Seconds between two edits of the author's progress message."""
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler"}
    | {"tg-emoji", "blockquote"}
)
_MARKER = re.compile(r"^((?:<[^>]+>)*)[ \t]*\[(th|zh|en)\][ \t]*", re.IGNORECASE)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class AnnouncementError(ValueError):
    """Input an announcement cannot be made of; ``key`` names the explanation in the interface texts."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"{key} {values}")
        self.key = key
        self.values = values


# ------------------------------------------------------------------------------------------ text


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain(html_text: str) -> str:
    """The text Telegram shows for ``html_text``: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", html_text))


def _balanced(parts: list[str]) -> list[str]:
    """Close tags left open at the end of a part and reopen them at the start of the next one."""
    out: list[str] = []
    open_tags: list[tuple[str, str]] = []
    for part in parts:
        prefix = "".join(tag for _, tag in open_tags)
        for match in _TAG.finditer(part):
            closing, name = match.group(1), match.group(2).lower()
            if not closing:
                open_tags.append((name, match.group(0)))
            elif open_tags and open_tags[-1][0] == name:
                open_tags.pop()
        suffix = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        out.append(prefix + part + suffix)
    return out


def _strip_empty(text: str) -> str:
    """Trim blank lines and spaces at both ends (tags at the ends are kept)."""
    return text.strip()


def split_versions(html_text: str) -> list[Version]:
    """The language versions in an announcement's HTML, in the order written.

    A line starting with ``[th]``, ``[zh]`` or ``[en]`` (possibly after formatting tags) starts that
    language's version; text before the first marker is a version for everyone. Formatting that runs
    across a marker is closed before it and reopened after it. Raises :class:`AnnouncementError` for
    an empty announcement, an empty version or a language given twice.
    """
    chunks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in html_text.split("\n"):
        marker = _MARKER.match(line)
        if marker:
            chunks.append((marker.group(2).lower(), [marker.group(1) + line[marker.end() :]]))
        else:
            chunks[-1][1].append(line)
    texts = _balanced(["\n".join(lines) for _, lines in chunks])
    versions: list[Version] = []
    seen: set[str | None] = set()
    for (lang, _), text in zip(chunks, texts, strict=True):
        body = _strip_empty(text)
        if lang is None and not plain(body).strip():
            continue  # nothing before the first marker
        if not plain(body).strip():
            raise AnnouncementError("announce.error_empty_version", language=lang or "")
        if lang in seen:
            raise AnnouncementError("announce.error_twice", language=lang or "")
        seen.add(lang)
        if _utf16(plain(body)) > MAX_CHARS:
            raise AnnouncementError("announce.error_too_long", limit=MAX_CHARS, length=_utf16(plain(body)))
        versions.append(Version(lang, body))
    if not versions:
        raise AnnouncementError("announce.error_empty")
    return versions


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problem = self.problem or f"<{tag}> is not a formatting Telegram knows"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problem = self.problem or f"</{tag}> closes a tag that is not open"
        else:
            self.stack.pop()


def check_html(text: str) -> str | None:
    """Why Telegram would refuse ``text`` in HTML parse mode (None when it looks fine).

    For text written by hand (the command line); text from a Telegram message is built safe.
    """
    outside = _TAG.sub("", text)
    if "<" in outside or ">" in outside:
        return "write < and > as &lt; and &gt; (or use only the tags Telegram knows)"
    if "&" in _ENTITY.sub("", outside):
        return "write & as &amp;"
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.problem:
        return checker.problem
    if checker.stack:
        return f"<{checker.stack[-1]}> is not closed"
    return None


def version_for(versions: Sequence[Version], lang: str | None) -> Version:
    """The version a user with ``lang`` gets: theirs, else the first."""
    for version in versions:
        if version.lang == lang:
            return version
    return versions[0]


def parse_local_time(text: str, zone: ZoneInfo) -> datetime:
    """``YYYY-MM-DD HH:MM`` in ``zone`` as an aware UTC datetime; AnnouncementError if malformed."""
    cleaned = " ".join(text.split())
    for layout in TIME_FORMATS:
        try:
            local = datetime.strptime(cleaned, layout)
        except ValueError:
            continue
        return local.replace(tzinfo=zone).astimezone(UTC)
    raise AnnouncementError("announce.error_time", example="2023-11-08 14:30")


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def next_clock_time(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """``HH:MM`` alone: the next moment after ``now`` when it is that time in ``zone``, as UTC.

    None when ``text`` is not a bare time of day (then it needs a date: :func:`parse_local_time`).
    """
    found = _CLOCK.match(text.strip())
    if found is None:
        return None
    local_now = now.astimezone(zone)
    moment = local_now.replace(hour=int(found[1]), minute=int(found[2]), second=0, microsecond=0)
    if moment <= local_now:
        tomorrow = moment.date() + timedelta(days=1)
        moment = datetime.combine(tomorrow, moment.time(), tzinfo=zone)
    return moment.astimezone(UTC)


# ------------------------------------------------------------------------------------------ service


@dataclass(frozen=True)
class Preview:
    """What the author is shown before confirming: each version and how many people get it."""

    announcement: AnnouncementRow
    audience: tuple[tuple[Version, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.audience)


@dataclass(frozen=True)
class Listed:
    """An announcement with its delivery counts (``pending``, ``sent``, ``failed``, ``blocked``, ...)."""

    announcement: AnnouncementRow
    counts: dict[str, int]


@dataclass
class _Progress:
    shown: tuple[int, ...] | None = None
    at: datetime | None = None


Markup = Callable[[int, str], dict[str, Any] | None]
"""The buttons under a progress message: (announcement id, author's language) → reply markup."""


class AnnouncementService:
    """Drafts, schedules, sends, stops and reports announcements. See the module docstring."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        texts: Translator,
        timezone: str | Callable[[], str],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        stop_markup: Markup | None = None,
    ) -> None:
        self.repo = db.announcements
        self._sender = sender
        self._texts = texts
        self._timezone = timezone
        self._zone: ZoneInfo | None = None
        self.now = now
        self._stop_markup = stop_markup
        self._lock = asyncio.Lock()
        self._progress: dict[int, _Progress] = {}

    @property
    def zone(self) -> ZoneInfo:
        """The event's time zone (given, or read the first time it is needed)."""
        if self._zone is None:
            name = self._timezone if isinstance(self._timezone, str) else self._timezone()
            self._zone = ZoneInfo(name)
        return self._zone

    # --------------------------------------------------------------------- drafting

    async def draft(self, author_id: int, chat_id: int, language: Lang, html_text: str) -> Preview:
        """Store a draft from the author's message (AnnouncementError when it is not usable)."""
        versions = split_versions(html_text)
        row = await self.repo.create(versions, author_id=author_id, chat_id=chat_id, language=language)
        log.info("announcement %d drafted by user %d (%d versions)", row.id, author_id, len(versions))
        return await self.preview(row)

    async def preview(self, row: AnnouncementRow) -> Preview:
        recipients = await self.repo.recipients()
        counts = [0] * len(row.versions)
        for _, lang in recipients:
            counts[row.versions.index(version_for(row.versions, lang))] += 1
        return Preview(row, tuple(zip(row.versions, counts, strict=True)))

    def local(self, moment: datetime) -> str:
        """A UTC time as shown to organisers: in the event's time zone."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    async def schedule(self, announcement_id: int, when: str) -> datetime:
        """Schedule a draft (or move a scheduled one) to ``when`` (local event time); the UTC time.

        AnnouncementError when the time is malformed or past, or the announcement is no longer open.
        """
        due = parse_local_time(when, self.zone)
        if due <= self.now():
            raise AnnouncementError("announce.error_past", now=self.local(self.now()))
        if not await self.repo.schedule(announcement_id, due):
            raise AnnouncementError("announce.error_not_open", id=announcement_id)
        log.info("announcement %d scheduled for %s UTC", announcement_id, due.isoformat())
        return due

    async def send_now(self, announcement_id: int) -> int:
        """Queue a draft or scheduled announcement for everyone now; how many people it goes to.

        It is first scheduled for now (committed), so a crash before the deliveries are stored still
        leaves it to be sent by the next tick. AnnouncementError when it is no longer open.
        """
        if not await self.repo.schedule(announcement_id, self.now()):
            raise AnnouncementError("announce.error_not_open", id=announcement_id)
        async with self._lock:
            row = await self.repo.get(announcement_id)
            if row is None or row.state != "scheduled":  # the tick started it meanwhile
                return (row.recipients or 0) if row else 0
            return await self._start(row)

    async def cancel(self, announcement_id: int) -> str:
        """Cancel a scheduled announcement or stop one being sent: ``cancelled``, ``stopped`` or ``""``."""
        if await self.repo.cancel(announcement_id, self.now()):
            log.info("announcement %d cancelled", announcement_id)
            return "cancelled"
        if await self.repo.request_stop(announcement_id):
            async with self._lock:
                row = await self.repo.get(announcement_id)
                if row is not None:
                    await self._stop(row)
            return "stopped"
        return ""

    async def queue(self, versions: Sequence[Version], due: datetime) -> tuple[AnnouncementRow, int]:
        """Schedule an announcement written elsewhere (the command line) for ``due``; the running bot's
        tick sends it. The row and how many people are subscribed now."""
        row = await self.repo.create(versions, state="scheduled", due_at=due)
        log.info("announcement %d queued for %s UTC", row.id, due.isoformat())
        return row, len(await self.repo.recipients())

    async def request_cancel(self, announcement_id: int) -> str:
        """Cancel a scheduled announcement, or mark one being sent for the running bot to stop (from
        outside it): ``cancelled``, ``stopping`` or ``""`` when it is neither."""
        if await self.repo.cancel(announcement_id, self.now()):
            log.info("announcement %d cancelled", announcement_id)
            return "cancelled"
        if await self.repo.request_stop(announcement_id):
            return "stopping"
        return ""

    async def get(self, announcement_id: int) -> AnnouncementRow | None:
        return await self.repo.get(announcement_id)

    async def listing(self, recent: int = 10) -> list[Listed]:
        rows = await self.repo.listing(recent)
        counts = await self.repo.counts([row.ref for row in rows])
        return [Listed(row, counts[row.ref]) for row in rows]

    # --------------------------------------------------------------------- delivery

    async def recover(self) -> None:
        """Before the sender resumes at start-up: carry out stops asked for while the bot was down."""
        for row in await self.repo.active():
            if row.state == "stopping":
                await self._stop(row)

    async def tick(self) -> None:
        """Start what is due, carry out stop requests, report progress and finish what is done.

        Called every second or so; it also picks up announcements another process queued.
        """
        async with self._lock:
            for row in await self.repo.due(self.now()):
                await self._start(row)
            active = await self.repo.active()
            metrics.BROADCASTS_RUNNING.set(sum(1 for row in active if row.state == "sending"))
            for row in active:
                if row.state == "stopping":
                    await self._stop(row)
                else:
                    await self._follow(row)

    async def _start(self, row: AnnouncementRow) -> int:
        recipients = await self.repo.recipients()
        messages = [
            html_message(
                user_id,
                version_for(row.versions, lang).html,
                kind="announcement",
                ref=row.ref,
                user_id=user_id,
            )
            for user_id, lang in recipients
        ]
        if row.chat_id is not None:
            text = self._progress_text(row, dict.fromkeys(("sent", "failed", "blocked"), 0), len(messages))
            messages.insert(0, self._progress_message(row, text, self._stop_markup_for(row)))

        async def mark_sending(tx: Any) -> None:
            await self.repo.mark_sending(tx, row.id, len(recipients), self.now())

        try:
            await self._sender.submit(messages, also=mark_sending)
        except NotOpen:
            return 0
        self._progress[row.id] = _Progress(shown=(0, 0, 0, len(recipients)), at=self.now())
        log.info("announcement %d: %d deliveries queued", row.id, len(recipients))
        return len(recipients)

    async def _stop(self, row: AnnouncementRow) -> None:
        cancelled = await self._sender.cancel(row.ref)
        if await self.repo.finish(row.id, "stopped", self.now()):
            log.info("announcement %d stopped; %d deliveries cancelled", row.id, cancelled)
            await self._summary(row, "stopped")

    async def _follow(self, row: AnnouncementRow) -> None:
        counts = await self._sender.counts(row.ref)
        if counts["pending"] == 0:
            if await self.repo.finish(row.id, "done", self.now()):
                log.info(
                    "announcement %d delivered: %d sent, %d failed, %d blocked",
                    row.id,
                    counts["sent"],
                    counts["failed"],
                    counts["blocked"],
                )
                await self._summary(row, "done", counts)
            return
        if row.chat_id is None:
            return
        progress = self._progress.setdefault(row.id, _Progress())
        shown = (counts["sent"], counts["failed"], counts["blocked"], counts["pending"])
        now = self.now()
        if shown == progress.shown or (
            progress.at is not None and now - progress.at < timedelta(seconds=PROGRESS_INTERVAL)
        ):
            return
        if (await self._sender.counts(progress_ref(row.id)))["pending"]:
            return  # the previous edit is still on its way
        message_id = await self.repo.progress_message(row.id)
        if message_id is None:
            return
        text = self._progress_text(row, counts, counts["pending"])
        await self._sender.submit([self._edit(row, message_id, text, self._stop_markup_for(row))])
        progress.shown, progress.at = shown, now

    async def _summary(self, row: AnnouncementRow, state: str, counts: dict[str, int] | None = None) -> None:
        self._progress.pop(row.id, None)
        if row.chat_id is None:
            return
        counts = counts or await self._sender.counts(row.ref)
        lang = self._lang(row)
        key = "announce.finished" if state == "done" else "announce.stopped"
        text = self._texts(
            lang,
            key,
            id=row.id,
            sent=counts["sent"],
            failed=counts["failed"],
            blocked=counts["blocked"],
            cancelled=counts["cancelled"],
        )
        messages: list[Outgoing] = []
        await self._sender.cancel(
            progress_ref(row.id)
        )  # a progress message not shown yet: the summary says it
        message_id = await self.repo.progress_message(row.id)
        if message_id is not None:
            final = self._progress_text(row, counts, 0)
            messages.append(self._edit(row, message_id, final, None))
        messages.append(self._progress_message(row, text, None))
        await self._sender.submit(messages)

    # --------------------------------------------------------------------- helpers

    def _lang(self, row: AnnouncementRow) -> Lang:
        return row.language if row.language in LANGS else "en"  # type: ignore[return-value]

    def _stop_markup_for(self, row: AnnouncementRow) -> dict[str, Any] | None:
        return self._stop_markup(row.id, self._lang(row)) if self._stop_markup else None

    def _progress_text(self, row: AnnouncementRow, counts: dict[str, int], remaining: int) -> str:
        return self._texts(
            self._lang(row),
            "announce.progress",
            id=row.id,
            sent=counts["sent"],
            failed=counts["failed"],
            blocked=counts["blocked"],
            remaining=remaining,
        )

    def _progress_message(self, row: AnnouncementRow, text: str, markup: dict[str, Any] | None) -> Outgoing:
        assert row.chat_id is not None
        return html_message(row.chat_id, text, markup, kind="notice", ref=progress_ref(row.id))

    def _edit(
        self, row: AnnouncementRow, message_id: int, text: str, markup: dict[str, Any] | None
    ) -> Outgoing:
        assert row.chat_id is not None
        params: dict[str, Any] = {
            "message_id": message_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if markup:
            params["reply_markup"] = markup
        return Outgoing(
            row.chat_id, params, method="editMessageText", kind="notice", ref=progress_ref(row.id)
        )
