"""Every inline button's callback data, built and parsed in this one module.

Each kind of button is a frozen dataclass with a short ``PREFIX``; its fields are written after the
prefix, separated by ``:``. Only ``int``, ``bool`` and ``str`` fields are allowed: integers must lie in
``0 .. MAX_ID`` (so a forged id past 64 bits is refused here instead of overflowing SQLite), booleans
are ``1`` or ``0`` and strings may not contain ``:``. :func:`parse` returns ``None`` for anything that
is not exactly one of these kinds, so a handler never sees malformed data.

A new kind of button: add a dataclass below with ``@register`` and a unique ``PREFIX``; build its data
with :func:`encode` and register its handler with ``CallbackQueryHandler(fn, pattern=Kind.pattern())``
so the handler's ``query.data`` is known to parse. Telegram allows at most 64 bytes of data: building
data that would be longer raises :class:`ValueError` (ids and keys are short by design).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import ClassVar, TypeVar

MAX_BYTES = 64
MAX_ID = 2**63 - 1
_KINDS: dict[str, type[CallbackData]] = {}
_C = TypeVar("_C", bound="CallbackData")


class CallbackData:
    """Base of every kind of callback data."""

    PREFIX: ClassVar[str]

    def encode(self) -> str:
        return encode(self)

    @classmethod
    def pattern(cls) -> str:
        """A regular expression for ``CallbackQueryHandler`` matching this kind's data."""
        return rf"^{re.escape(cls.PREFIX)}(:|$)"

    @classmethod
    def parse(cls: type[_C], data: str | None) -> _C | None:
        """``data`` as this kind, or None when it is not a well-formed one."""
        parsed = parse(data)
        return parsed if isinstance(parsed, cls) else None


def register(cls: type[_C]) -> type[_C]:
    """Class decorator: make ``cls`` a frozen dataclass known to :func:`parse`."""
    if cls.PREFIX in _KINDS or ":" in cls.PREFIX:
        raise ValueError(f"callback prefix {cls.PREFIX!r} is taken or invalid")
    made = dataclasses.dataclass(frozen=True)(cls)
    _KINDS[cls.PREFIX] = made
    return made


def _field_types(cls: type[CallbackData]) -> list[tuple[str, type]]:
    hints = typing.get_type_hints(cls)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]  # type: ignore[arg-type]


def encode(item: CallbackData) -> str:
    """The callback data string for ``item``; ValueError if a field cannot be written or it is too long."""
    parts = [item.PREFIX]
    for name, kind in _field_types(type(item)):
        value = getattr(item, name)
        if kind is bool:
            parts.append("1" if value else "0")
        elif kind is int:
            if not 0 <= value <= MAX_ID:
                raise ValueError(f"{name}={value} is out of range")
            parts.append(str(value))
        else:
            if ":" in value:
                raise ValueError(f"{name}={value!r} contains ':'")
            parts.append(value)
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data {data!r} is longer than {MAX_BYTES} bytes")
    return data


def parse(data: str | None) -> CallbackData | None:
    """The button ``data`` belongs to, or None when it is not exactly one known kind."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    prefix, *values = data.split(":")
    cls = _KINDS.get(prefix)
    if cls is None:
        return None
    fields = _field_types(cls)
    if len(values) != len(fields):
        return None
    parsed: dict[str, object] = {}
    for (name, kind), raw in zip(fields, values, strict=True):
        if kind is bool:
            if raw not in ("0", "1"):
                return None
            parsed[name] = raw == "1"
        elif kind is int:
            if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_ID:
                return None
            parsed[name] = int(raw)
        else:
            parsed[name] = raw
    return cls(**parsed)


def fits(item: CallbackData) -> bool:
    """Whether ``item`` can be written as callback data (e.g. an entry id short enough)."""
    try:
        encode(item)
    except ValueError:
        return False
    return True


# --- The kinds of buttons ------------------------------------------------------------------------


@register
class Feedback(CallbackData):
    """👍 / 👎 under an answer."""

    PREFIX = "fb"
    question_id: int
    helpful: bool


@register
class Entry(CallbackData):
    """A topic button: show that knowledge entry in ``lang``."""

    PREFIX = "e"
    lang: str
    entry_id: str


@register
class Language(CallbackData):
    """The language picker."""

    PREFIX = "lang"
    lang: str


@register
class AgendaDay(CallbackData):
    """The agenda: the list of days (``day`` empty) or one day's sessions."""

    PREFIX = "ag"
    day: str


@register
class Session(CallbackData):
    """One session's card from the agenda."""

    PREFIX = "s"
    key: str


@register
class Venue(CallbackData):
    """One venue's card."""

    PREFIX = "v"
    key: str


# --- Personal agenda ---------------------------------------------------------------------------------


@register
class Star(CallbackData):
    """⭐ on a session card: add the session to the user's agenda (``on``) or remove it."""

    PREFIX = "st"
    session_id: str
    on: bool


@register
class Unstar(CallbackData):
    """A remove button in /myagenda: remove the session and show the list again."""

    PREFIX = "myx"
    session_id: str


@register
class CalendarFile(CallbackData):
    """/myagenda's button for the .ics file of the user's agenda."""

    PREFIX = "ics"


@register
class RemindersMenu(CallbackData):
    """/myagenda's button opening the reminder choices."""

    PREFIX = "remm"


@register
class RemindBefore(CallbackData):
    """A reminder choice: minutes before each session (0: off)."""

    PREFIX = "rem"
    minutes: int


# --- Knowledge changes by admins ----------------------------------------------------------------


@register
class KnowledgeApply(CallbackData):
    """ "Apply" under the preview of a knowledge change; ``removal_confirmed``: the second confirmation
    of a change that removes many entries."""

    PREFIX = "kap"
    proposal_id: int
    removal_confirmed: bool = False


@register
class KnowledgeCancel(CallbackData):
    """ "Cancel" under the preview of a knowledge change."""

    PREFIX = "kca"
    proposal_id: int


@register
class KnowledgeRollback(CallbackData):
    """The confirmation of ``/rollback``: return to ``version`` (``confirm``) or leave things as they are.

    ``offer`` names the confirmation the knowledge service recorded for the admin who sent ``/rollback``
    and the version served then: anyone else's press, or a press after the knowledge changed, does
    nothing.
    """

    PREFIX = "krb"
    version: str
    confirm: bool
    offer: str = ""


# --- Organisers' announcements --------------------------------------------------------------------


@register
class AnnounceAction(CallbackData):
    """A button on an announcement: ``send`` now, ``schedule``, ``cancel`` (a draft or scheduled one)
    or ``stop`` (one being sent)."""

    PREFIX = "an"
    action: str
    announcement_id: int
