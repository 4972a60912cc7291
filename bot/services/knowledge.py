"""Changing the knowledge while the bot keeps answering: proposals, Apply, rollback, versions.

An admin's upload (one file of the set) or a ``/reload`` (the files in the knowledge directory on the
server) becomes a *proposal*: the whole resulting set is validated exactly as ``summit-bot index
check`` does (every problem with its file, entry, field and line, and nothing stored on error) and
compared with the served knowledge entry by entry. Nothing changes until an admin applies it.

Apply stores the set as a new version in the data directory, builds a complete engine for it on a
worker thread (the embedding cache means only passages whose text changed go through the model), and
then swaps it in through the :class:`EngineHolder` in one reference change. Questions arriving during
the build are answered by the old engine; a batch already running finishes on the engine it started
with. One lock serialises Apply and rollback, and a proposal records the content hash of the knowledge it
was compared against: applying it after another change went live is refused rather than undoing that
change.

``Engine.load`` collects and then freezes everything alive into the garbage collector's permanent
generation, so that full collections never scan the engine while it answers. The build does not unfreeze
first: the old engine is then not scanned by the build's collection (with the old engine unfrozen, that
collection stalled every answer for 0.5 s on the shipped knowledge). Frozen objects are still freed by
reference counting, and the engine holds no reference cycles: the replaced engine is freed as soon as the
last batch started on it finishes (a test checks this with a weak reference). A full collection after
the swap would stall answers for as long as scanning the new engine takes, for nothing to collect.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.metrics import ENGINE
from bot.services.engine_holder import EngineHolder
from bot.storage.database import Database
from bot.storage.knowledge import Proposal
from bot.storage.knowledge_versions import VersionInfo, VersionStore
from bot.storage.sql import now_text
from index.composer import entry_title
from index.engine import Engine
from index.knowledge import (
    MAX_FILE_BYTES,
    KnowledgeBase,
    KnowledgeError,
    Problem,
    content_hash,
    read_documents,
    validate_documents,
)
from index.types import Lang

log = logging.getLogger(__name__)

OFFER_BYTES = 6
"""Random bytes in a rollback offer's id (8 characters on the button)."""
MAX_OFFERS = 100
MASS_REMOVAL_SHARE = 0.2
"""A change removing more than this share of the served entries needs a second confirmation."""
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.ya?ml$")
"""Knowledge file names an upload may have (no directories, no hidden files)."""


class UploadRefused(Exception):
    """An upload that is not a knowledge file at all; ``reason`` is a short key (``name``, ``size``,
    ``encoding``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotApplied(Exception):
    """Apply or rollback did not happen. ``reason``: ``unknown`` (no such proposal or version),
    ``applied``/``cancelled``/``stale``/``failed`` (already decided), ``changed`` (the knowledge changed
    since the preview), ``build`` (the new index could not be built), ``confirm`` (it removes more than
    the set share of entries and was not confirmed a second time)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EntryChange:
    entry_id: str
    title: str


@dataclass(frozen=True)
class Diff:
    """What a proposal changes, entry by entry (titles in the admin's language)."""

    added: list[EntryChange] = field(default_factory=list)
    changed: list[EntryChange] = field(default_factory=list)
    removed: list[EntryChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass(frozen=True)
class Removal:
    """How much of the served knowledge a change removes."""

    removed: int
    served: int
    share_limit: float = MASS_REMOVAL_SHARE

    @property
    def share(self) -> float:
        return self.removed / self.served if self.served else 0.0

    @property
    def massive(self) -> bool:
        """More than ``share_limit`` of the served entries go: Apply needs a second confirmation."""
        return self.share > self.share_limit


@dataclass(frozen=True)
class Preview:
    """A stored proposal (``proposal_id`` goes on the Apply and Cancel buttons) and its changes."""

    proposal_id: int
    diff: Diff
    entries: int
    removal: Removal | None = None
    """What share of the served entries it removes (None: not worked out)."""


@dataclass(frozen=True)
class Activated:
    """A version that went live and how long it took from the request to serving it."""

    version: VersionInfo
    seconds: float
    embedded: int
    reused: int


def diff_knowledge(old: KnowledgeBase, new: KnowledgeBase, lang: Lang) -> Diff:
    """Entries added, changed and removed between two knowledge bases, in the order of ``new``/``old``."""
    diff = Diff()
    for entry_id, entry in new.by_id.items():
        before = old.by_id.get(entry_id)
        if before is None:
            diff.added.append(EntryChange(entry_id, entry_title(entry, lang)))
        elif before.model_dump(mode="json") != entry.model_dump(mode="json"):
            diff.changed.append(EntryChange(entry_id, entry_title(entry, lang)))
    for entry_id, entry in old.by_id.items():
        if entry_id not in new.by_id:
            diff.removed.append(EntryChange(entry_id, entry_title(entry, lang)))
    return diff


def decode_upload(name: str, data: bytes, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of an uploaded knowledge file, or :class:`UploadRefused`."""
    if not FILE_NAME.match(name):
        raise UploadRefused("name")
    if len(data) > max_bytes:
        raise UploadRefused("size")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused("encoding") from None


BUILD_SWITCH_INTERVAL = 0.0005
"""Seconds the building thread may hold the interpreter before a question being answered gets it
(Python's default is 0.005): the build is mostly Python, and each answer needs the interpreter back
dozens of times between its numpy steps."""


def _build(directory: Path, data_dir: Path, like: Engine) -> Engine:
    """On a worker thread: a complete engine for ``directory``, sharing the served engine's embedder."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(BUILD_SWITCH_INTERVAL)
    try:
        return Engine.load(directory, data_dir, embedder=like.embedder)
    finally:
        sys.setswitchinterval(previous)


class KnowledgeService:
    """Proposals, Apply, rollback and the versions of the knowledge; see the module docstring."""

    def __init__(
        self,
        holder: EngineHolder,
        db: Database,
        data_dir: Path,
        knowledge_dir: Path,
        *,
        max_upload_bytes: int = MAX_FILE_BYTES,
        mass_removal_share: float = MASS_REMOVAL_SHARE,
    ) -> None:
        self.mass_removal_share = mass_removal_share
        self._removals: dict[int, Removal] = {}
        self._offers: dict[str, tuple[int, str, str]] = {}
        """Rollback confirmations shown: offer id -> (admin, target version, version served then)."""
        """Per proposal made in this run, what it removes (worked out again after a restart)."""
        self._holder = holder
        self._repo = db.knowledge
        self._data_dir = Path(data_dir)
        self._knowledge_dir = Path(knowledge_dir)
        self.store = VersionStore(self._data_dir)
        self.max_upload_bytes = max_upload_bytes
        self._lock = asyncio.Lock()
        self._shipped: dict[str, str] | None = None
        holder.add_listener(self._publish)
        # The version the holder serves (or will load: the current one, when its files are there).
        served = self.current_version if holder.loaded else self.store.current()
        if served is None:
            # What the engine was loaded from, before anyone edits the files on the server.
            try:
                self._shipped = read_documents(self._knowledge_dir)
            except KnowledgeError as exc:
                log.warning("cannot read the knowledge files in %s: %s", self._knowledge_dir, exc)

    async def _publish(self, old: Engine | None, new: Engine) -> None:
        """The served index and knowledge version as the ``summit_bot_engine`` metric."""
        version = self.current_version
        ENGINE.info(
            {
                "version": new.version,
                "embedder": new.embedder.id,
                "entries": str(len(new.kb.by_id)),
                "knowledge_version": version.id if version else "shipped",
            }
        )

    # -- what is served --------------------------------------------------------------------------

    @property
    def current_version(self) -> VersionInfo | None:
        """The applied version being served; None while the shipped knowledge is served."""
        version = self.store.current()
        if version is not None and version.content_hash == self._holder.current.kb.content_hash:
            return version
        return None

    def current_documents(self) -> dict[str, str]:
        """The files of the served knowledge as ``{name: text}``."""
        version = self.current_version
        if version is not None:
            return self.store.documents(version.id)
        if self._shipped is None:
            self._shipped = read_documents(self._knowledge_dir)
        return dict(self._shipped)

    # -- proposals -------------------------------------------------------------------------------

    async def propose_upload(self, admin_id: int, name: str, data: bytes, lang: Lang) -> Preview | None:
        """Validate the served set with ``name`` replaced or added; store it as a proposal.

        Returns None when it changes nothing. Raises :class:`UploadRefused` or :class:`KnowledgeError`
        (every problem of the resulting set), storing nothing.
        """
        text = decode_upload(name, data, self.max_upload_bytes)
        documents = await asyncio.to_thread(self.current_documents)
        documents[name] = text
        return await self._propose(admin_id, "upload", name, documents, lang)

    async def propose_reload(self, admin_id: int, lang: Lang) -> Preview | None:
        """Validate the files in the knowledge directory on the server; store them as a proposal."""
        documents = await asyncio.to_thread(read_documents, self._knowledge_dir)
        return await self._propose(admin_id, "reload", str(self._knowledge_dir), documents, lang)

    async def propose_documents(
        self, admin_id: int, note: str, documents: dict[str, str], lang: Lang
    ) -> Preview | None:
        """Validate a whole knowledge set made from the served one (a programme import writes one file
        of it) and store it as a proposal, like an upload."""
        return await self._propose(admin_id, "upload", note, documents, lang)

    async def _propose(
        self, admin_id: int, source: str, note: str, documents: dict[str, str], lang: Lang
    ) -> Preview | None:
        served = self._holder.current.kb
        kb = await asyncio.to_thread(validate_documents, documents)
        if kb.content_hash == served.content_hash:
            return None
        diff = diff_knowledge(served, kb, lang)
        proposal_id = await self._repo.add_proposal(admin_id, source, note, served.content_hash, documents)
        removal = Removal(len(diff.removed), len(served.by_id), self.mass_removal_share)
        self._removals[proposal_id] = removal
        return Preview(proposal_id, diff, len(kb.by_id), removal)

    async def removal(self, proposal_id: int) -> Removal | None:
        """What the proposal removes from the knowledge it was compared against (None: no proposal)."""
        known = self._removals.get(proposal_id)
        if known is not None:
            return known
        proposal = await self._repo.proposal(proposal_id)
        if proposal is None:
            return None
        kb = await asyncio.to_thread(validate_documents, proposal.files)
        served = self._holder.current.kb
        removed = sum(1 for entry_id in served.by_id if entry_id not in kb.by_id)
        removal = Removal(removed, len(served.by_id), self.mass_removal_share)
        self._removals[proposal_id] = removal
        return removal

    async def proposal(self, proposal_id: int) -> Proposal | None:
        return await self._repo.proposal(proposal_id)

    async def cancel(self, proposal_id: int) -> bool:
        return await self._repo.decide(proposal_id, "cancelled")

    # -- going live ------------------------------------------------------------------------------

    async def apply(
        self, proposal_id: int, admin_id: int, admin_name: str = "", *, removal_confirmed: bool = False
    ) -> Activated:
        """Build the proposal's engine off the event loop and swap it in; see the module docstring.

        A proposal removing more than ``mass_removal_share`` of the entries is applied only with
        ``removal_confirmed`` (the admin's second confirmation); otherwise :class:`NotApplied`
        (``confirm``), and nothing changes.
        """
        started = time.perf_counter()
        async with self._lock:
            proposal = await self._repo.proposal(proposal_id)
            if proposal is None:
                raise NotApplied("unknown")
            if proposal.state != "pending":
                raise NotApplied(proposal.state)
            if proposal.base_hash != self._holder.current.kb.content_hash:
                await self._repo.decide(proposal_id, "stale")
                raise NotApplied("changed")
            removal = await self.removal(proposal_id)
            if removal is not None and removal.massive and not removal_confirmed:
                raise NotApplied("confirm")
            base = await asyncio.to_thread(self._base_version)
            version = await asyncio.to_thread(
                self.store.create,
                proposal.files,
                parent=base.id,
                source=proposal.source,
                applied_by=admin_id,
                applied_by_name=admin_name,
                created_at=now_text(),
                content_hash=content_hash(proposal.files),
                note=proposal.note,
            )
            try:
                engine = await asyncio.to_thread(
                    _build, self.store.files_dir(version.id), self._data_dir, self._holder.current
                )
            except Exception as exc:
                log.exception("building knowledge version %s failed", version.id)
                await asyncio.to_thread(self.store.discard, version.id)
                await self._repo.decide(proposal_id, "failed")
                raise NotApplied("build") from exc
            await self._repo.decide(proposal_id, "applied")
            return await self._activate(engine, version, "apply", admin_id, started)

    def rollback_target(self) -> VersionInfo | None:
        """The version ``/rollback`` returns to: the parent of the served one."""
        current = self.current_version
        if current is None or current.parent is None:
            return None
        return self.store.get(current.parent)

    async def rollback_preview(self, lang: Lang) -> tuple[VersionInfo, Diff] | None:
        target = self.rollback_target()
        if target is None:
            return None
        documents = await asyncio.to_thread(self.store.documents, target.id)
        kb = await asyncio.to_thread(validate_documents, documents)
        return target, diff_knowledge(self._holder.current.kb, kb, lang)

    def offer_rollback(self, admin_id: int, target_id: str) -> str:
        """Record that ``admin_id`` was shown the rollback to ``target_id`` from the served version; the
        offer's id, for their confirmation button (:meth:`rollback` with ``offer``)."""
        current = self.current_version
        offer = secrets.token_urlsafe(OFFER_BYTES)
        self._offers[offer] = (admin_id, target_id, current.id if current else "")
        while len(self._offers) > MAX_OFFERS:
            self._offers.pop(next(iter(self._offers)))
        return offer

    def offered_to(self, offer: str) -> int | None:
        """The admin a rollback offer was made to (None: no such offer in this run)."""
        found = self._offers.get(offer)
        return found[0] if found else None

    async def rollback(self, target_id: str, admin_id: int, *, offer: str | None = None) -> Activated:
        """Serve ``target_id`` again, which must still be the parent of the served version.

        With ``offer`` (see :meth:`offer_rollback`), the offer must have been made to ``admin_id`` for
        ``target_id`` while the version served now was served; it can be used once.
        """
        started = time.perf_counter()
        async with self._lock:
            target = self.rollback_target()
            current = self.current_version
            if offer is not None:
                made = self._offers.get(offer)
                served = current.id if current else ""
                if made is None or made != (admin_id, target_id, served):
                    raise NotApplied("changed")
                del self._offers[offer]
            if target is None or target.id != target_id:
                raise NotApplied("changed")
            try:
                engine = await asyncio.to_thread(
                    _build, self.store.files_dir(target.id), self._data_dir, self._holder.current
                )
            except Exception as exc:
                log.exception("rebuilding knowledge version %s failed", target.id)
                raise NotApplied("build") from exc
            return await self._activate(engine, target, "rollback", admin_id, started)

    def _base_version(self) -> VersionInfo:
        """The served version; the shipped knowledge is stored as the first one when nothing was applied."""
        current = self.current_version
        if current is not None:
            return current
        documents = self.current_documents()
        version = self.store.create(
            documents,
            parent=None,
            source="shipped",
            applied_by=None,
            applied_by_name="",
            created_at=now_text(),
            content_hash=content_hash(documents),
            note=str(self._knowledge_dir),
        )
        self.store.set_current(version.id)
        return version

    async def _activate(
        self, engine: Engine, version: VersionInfo, action: str, admin_id: int, started: float
    ) -> Activated:
        await asyncio.to_thread(self.store.set_current, version.id)  # before the listeners run
        old = await self._holder.swap(engine)
        seconds = time.perf_counter() - started
        await self._repo.log_activation(version.id, action, admin_id, seconds)
        report = engine.build_report
        log.info(
            "knowledge version %s live (%s by %s) in %.2fs: index %s -> %s",
            version.id,
            action,
            admin_id,
            seconds,
            old.version,
            engine.version,
        )
        return Activated(version, seconds, report.embedded if report else 0, report.reused if report else 0)


__all__ = [
    "Activated",
    "Diff",
    "EntryChange",
    "KnowledgeError",
    "KnowledgeService",
    "NotApplied",
    "Preview",
    "Problem",
    "Removal",
    "UploadRefused",
    "decode_upload",
    "diff_knowledge",
]
