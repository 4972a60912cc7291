"""Reading a programme from the formats organisers' tools write.

- the c3voc ``schedule.json`` written by Pretalx and frab (:func:`read_json`);
- the frab ``schedule.xml`` (:func:`read_xml`), parsed without DTDs, entities or network access;
- a spreadsheet, CSV or XLSX (:func:`read_sheet`), one session per row under a header row naming the
  columns (see :data:`COLUMNS` and ``docs/schedule.md``).

Every reader collects all the problems it finds, each located (``$.schedule.conference.days[0].rooms
["Gray Room"][3].duration``, ``row 5, column C (start)``, ``line 41, /schedule/day[1]/room[2]/event[3]``),
and raises :class:`ScheduleError` with all of them: a programme is imported whole or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.schedule.model import ImportedSession, Programme, ScheduleError, ScheduleProblem
from index.types import LANGS, Lang

MAX_SCHEDULE_BYTES = 10_000_000
"""A programme file larger than this is refused before it is parsed."""
MAX_ROWS = 20_000
"""Sessions one programme may hold."""

_HHMM = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")
_DURATION = re.compile(r"^(?:(\d{1,3}):)?(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")


def parse_clock(text: str) -> dt.time | None:
    """``9:30``, ``09:30`` or ``09:30:00`` as a time; None when it is not a clock time."""
    match = _HHMM.match(text.strip())
    if not match or int(match.group(1)) > 23:
        return None
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_duration(text: str) -> dt.timedelta | None:
    """``00:45``, ``1:30``, ``1:02:00`` (days:hours:minutes) or ``HH:MM:SS``; None when malformed."""
    text = text.strip()
    match = _DURATION.match(text)
    if not match:
        return None
    first, second, third, seconds = match.groups()
    if seconds is not None:  # HH:MM:SS
        return dt.timedelta(hours=int(second), minutes=int(third)) if first is None else None
    if first is not None:  # D:HH:MM
        return dt.timedelta(days=int(first), hours=int(second), minutes=int(third))
    return dt.timedelta(hours=int(second), minutes=int(third))


def stable_guid(*parts: str) -> str:
    """A UUID derived from ``parts`` (for sources without their own guid): the same input, the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "summit-bot:" + ":".join(parts)))


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --------------------------------------------------------------------------- schedule.json


class _Problems:
    def __init__(self) -> None:
        self.items: list[ScheduleProblem] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(ScheduleProblem(where, message))

    def raise_any(self) -> None:
        if self.items:
            raise ScheduleError(self.items)


class _Sessions:
    """The sessions a reader takes into ``programme``: a second session with a guid already taken is a
    problem (``same`` words it from where the first one stood), and more than :data:`MAX_ROWS` stops
    the reading."""

    def __init__(
        self, programme: Programme, problems: _Problems, unit: str, same: Callable[[str], str]
    ) -> None:
        self._programme = programme
        self._problems = problems
        self._unit = unit
        self._same = same
        self._first_at: dict[str, str] = {}

    def take(self, session: ImportedSession | None, at: str, guid_at: str | None = None) -> None:
        if session is None:
            return
        first = self._first_at.get(session.guid)
        if first is not None:
            self._problems.add(guid_at or at, self._same(first))
            return
        self._first_at[session.guid] = at
        self._programme.sessions.append(session)
        if len(self._programme.sessions) > MAX_ROWS:
            self._problems.add(at, f"more than {MAX_ROWS:,} {self._unit}")
            self._problems.raise_any()


def _duplicate_guid(first: str) -> str:
    return f"duplicate guid, first at {first}"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_json(data: bytes | str) -> Programme:
    """A c3voc ``schedule.json`` (Pretalx, frab) as a :class:`Programme`."""
    problems = _Problems()
    try:
        doc = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
    except UnicodeDecodeError:
        raise ScheduleError([ScheduleProblem("$", "the file is not UTF-8 text")]) from None
    except json.JSONDecodeError as exc:
        where = f"$ (line {exc.lineno}, column {exc.colno})"
        raise ScheduleError([ScheduleProblem(where, f"not valid JSON: {exc.msg}")]) from None
    schedule = doc.get("schedule") if isinstance(doc, dict) else None
    if not isinstance(schedule, dict):
        raise ScheduleError(
            [ScheduleProblem("$.schedule", "missing or not an object: this is not a schedule.json")]
        )
    conference = schedule.get("conference")
    if not isinstance(conference, dict):
        raise ScheduleError([ScheduleProblem("$.schedule.conference", "missing or not an object")])
    base = "$.schedule.conference"
    title = _text(conference.get("title"))
    if not title:
        problems.add(f"{base}.title", "missing or empty")
    zone_name = _text(conference.get("time_zone_name")) or None
    if zone_name and _zone(zone_name) is None:
        problems.add(f"{base}.time_zone_name", f"unknown time zone {zone_name!r}")
        zone_name = None
    zone = _zone(zone_name)
    programme = Programme(title=title, acronym=_text(conference.get("acronym")) or None, timezone=zone_name)
    for key in ("start", "end"):
        raw = _text(conference.get(key))
        if raw:
            try:
                value = dt.date.fromisoformat(raw[:10])
            except ValueError:
                problems.add(f"{base}.{key}", f"not a date: {raw!r}")
            else:
                setattr(programme, key, value)
    rooms = conference.get("rooms")
    if isinstance(rooms, list):
        programme.rooms = [
            _text(r.get("name")) for r in rooms if isinstance(r, dict) and _text(r.get("name"))
        ]
    days = conference.get("days")
    if not isinstance(days, list):
        problems.add(f"{base}.days", "missing or not a list")
        problems.raise_any()
    taken = _Sessions(programme, problems, "events", _duplicate_guid)
    for i, day in enumerate(days):
        day_path = f"{base}.days[{i}]"
        if not isinstance(day, dict) or not isinstance(day.get("rooms"), dict):
            problems.add(f"{day_path}.rooms", "missing or not an object")
            continue
        day_date: dt.date | None = None
        with contextlib.suppress(ValueError):
            day_date = dt.date.fromisoformat(_text(day.get("date")))
        for room, events in day["rooms"].items():
            room_path = f"{day_path}.rooms[{json.dumps(room, ensure_ascii=False)}]"
            if not isinstance(events, list):
                problems.add(room_path, "not a list of events")
                continue
            for j, event in enumerate(events):
                path = f"{room_path}[{j}]"
                session = _json_event(event, path, str(room), day_date, zone, problems)
                taken.take(session, path, guid_at=f"{path}.guid")
    problems.raise_any()
    _check_zone(programme)
    return programme


def _json_event(
    event: object,
    path: str,
    room: str,
    day_date: dt.date | None,
    zone: ZoneInfo | None,
    problems: _Problems,
) -> ImportedSession | None:
    if not isinstance(event, dict):
        problems.add(path, "not an object")
        return None
    before = len(problems.items)
    guid = _text(event.get("guid"))
    if not guid:
        problems.add(f"{path}.guid", "missing or empty")
    title = _text(event.get("title"))
    if not title:
        problems.add(f"{path}.title", "missing or empty")
    start = _json_start(event, path, day_date, zone, problems)
    duration = None
    raw_duration = event.get("duration")
    if raw_duration not in (None, ""):
        duration = parse_duration(str(raw_duration))
        if duration is None:
            problems.add(f"{path}.duration", f"not a duration (HH:MM): {raw_duration!r}")
    speakers = []
    persons = event.get("persons") or []
    if not isinstance(persons, list):
        problems.add(f"{path}.persons", "not a list")
        persons = []
    for k, person in enumerate(persons):
        name = _text(person.get("name") or person.get("public_name")) if isinstance(person, dict) else ""
        if not name:
            problems.add(f"{path}.persons[{k}]", "a person needs a name or public_name")
        else:
            speakers.append(name)
    if len(problems.items) > before or start is None:
        return None
    description = _text(event.get("abstract")) or _text(event.get("description"))
    lang = _text(event.get("language")).lower()[:2]
    key: Lang = lang if lang in LANGS else "en"  # type: ignore[assignment]
    return ImportedSession(
        guid=guid,
        title={key: title},
        start=start,
        duration=duration,
        room=_text(event.get("room")) or room,
        speakers=speakers,
        track=_text(event.get("track")) or None,
        description={key: description} if description else {},
        where=path,
        slug=_text(event.get("slug")) or None,
    )


def _json_start(
    event: dict[str, Any], path: str, day_date: dt.date | None, zone: ZoneInfo | None, problems: _Problems
) -> dt.datetime | None:
    raw = _text(event.get("date"))
    if raw:
        try:
            moment = dt.datetime.fromisoformat(raw)
        except ValueError:
            problems.add(f"{path}.date", f"not a date and time (ISO 8601): {raw!r}")
            return None
        if moment.tzinfo is None:
            if zone is None:
                problems.add(f"{path}.date", "no UTC offset, and the conference names no time zone")
                return None
            moment = moment.replace(tzinfo=zone)
        return moment
    clock = parse_clock(_text(event.get("start")))
    if clock is None:
        problems.add(f"{path}.start", f"not a time (HH:MM): {event.get('start')!r}")
        return None
    if day_date is None or zone is None:
        problems.add(f"{path}.date", "missing, and the day's date or the time zone is unknown")
        return None
    return dt.datetime.combine(day_date, clock, zone)


def _check_zone(programme: Programme) -> None:
    """When the zone the source names disagrees with the offsets its times carry (Pretalx writes ``UTC``
    beside ``+01:00`` times), keep the times (they are what the organisers see) and note it."""
    zone = _zone(programme.timezone)
    if zone is None or not programme.sessions:
        return
    wrong = [s for s in programme.sessions if s.start.utcoffset() != s.start.astimezone(zone).utcoffset()]
    if wrong:
        programme.notes.append(
            f"the programme names the time zone {programme.timezone}, but {len(wrong)} of its times carry "
            f"another UTC offset ({wrong[0].start.isoformat()}); the times are kept as written"
        )
        programme.timezone = None


# --------------------------------------------------------------------------- schedule.xml


def read_xml(data: bytes) -> Programme:
    """A frab ``schedule.xml`` as a :class:`Programme` (no DTD, entities or network are ever loaded)."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise ScheduleError([ScheduleProblem(f"line {line}", f"not valid XML: {exc.msg}")]) from None
    tree = root.getroottree()

    def where(element: Any) -> str:
        return f"line {element.sourceline}, {tree.getpath(element)}"

    if root.tag != "schedule":
        raise ScheduleError([ScheduleProblem(where(root), "the root element must be <schedule>")])
    problems = _Problems()
    conference = root.find("conference")
    if conference is None:
        raise ScheduleError([ScheduleProblem(where(root), "missing <conference>")])
    title = (conference.findtext("title") or "").strip()
    if not title:
        problems.add(where(conference), "missing <title>")
    zone_name = (conference.findtext("time_zone_name") or "").strip() or None
    if zone_name and _zone(zone_name) is None:
        problems.add(where(conference.find("time_zone_name")), f"unknown time zone {zone_name!r}")
        zone_name = None
    zone = _zone(zone_name)
    programme = Programme(
        title=title, acronym=(conference.findtext("acronym") or "").strip() or None, timezone=zone_name
    )
    for key in ("start", "end"):
        raw = (conference.findtext(key) or "").strip()
        if raw:
            try:
                setattr(programme, key, dt.date.fromisoformat(raw[:10]))
            except ValueError:
                problems.add(where(conference.find(key)), f"not a date: {raw!r}")
    taken = _Sessions(programme, problems, "events", _duplicate_guid)
    for day in root.iterfind("day"):
        day_date = None
        with contextlib.suppress(ValueError):
            day_date = dt.date.fromisoformat(day.get("date") or "")
        for room in day.iterfind("room"):
            room_name = (room.get("name") or "").strip()
            if room_name and room_name not in programme.rooms:
                programme.rooms.append(room_name)
            for event in room.iterfind("event"):
                taken.take(_xml_event(event, where(event), room_name, day_date, zone, problems), where(event))
    problems.raise_any()
    _check_zone(programme)
    return programme


def _xml_event(
    event: Any, at: str, room: str, day_date: dt.date | None, zone: ZoneInfo | None, problems: _Problems
) -> ImportedSession | None:
    before = len(problems.items)
    guid = (event.get("guid") or "").strip()
    if not guid:
        problems.add(at, "missing guid attribute")
    title = (event.findtext("title") or "").strip()
    if not title:
        problems.add(at, "missing <title>")
    start = _json_start(
        {"date": event.findtext("date") or "", "start": event.findtext("start") or ""},
        at,
        day_date,
        zone,
        problems,
    )
    duration = None
    raw = (event.findtext("duration") or "").strip()
    if raw:
        duration = parse_duration(raw)
        if duration is None:
            problems.add(f"{at}/duration", f"not a duration (HH:MM): {raw!r}")
    speakers = [(p.text or "").strip() for p in event.iterfind("persons/person") if (p.text or "").strip()]
    if len(problems.items) > before or start is None:
        return None
    description = (event.findtext("abstract") or "").strip() or (event.findtext("description") or "").strip()
    lang = (event.findtext("language") or "").strip().lower()[:2]
    key: Lang = lang if lang in LANGS else "en"  # type: ignore[assignment]
    return ImportedSession(
        guid=guid,
        title={key: title},
        start=start,
        duration=duration,
        room=(event.findtext("room") or "").strip() or room,
        speakers=speakers,
        track=(event.findtext("track") or "").strip() or None,
        description={key: description} if description else {},
        where=at,
        slug=(event.findtext("slug") or "").strip() or None,
    )


# --------------------------------------------------------------------------- spreadsheets

COLUMNS = {
    "id": "a stable identifier of the session (keeps bookmarks when the title changes); optional",
    "day": "the date, YYYY-MM-DD (a date cell in XLSX)",
    "start": "the start time, HH:MM, 24-hour, local time at the event",
    "end": "the end time, HH:MM (or give duration)",
    "duration": "minutes, or HH:MM (instead of end)",
    "room": "the room; a room that is not yet a venue becomes one",
    "title": "the title; title_en, title_zh, title_th give it per language",
    "speakers": "names separated by ';' (or ',' when no ';' is used)",
    "track": "the track (becomes the session's topic)",
    "description": "the summary; description_en, description_zh, description_th per language",
}
"""The columns a spreadsheet may have (header row, any order, case and spaces ignored)."""
_ALIASES = {"date": "day", "guid": "id", "speaker": "speakers", "topic": "track", "abstract": "description"}


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _header_key(value: object) -> str:
    key = re.sub(r"[\s-]+", "_", str(value or "").strip().lower())
    base, _, lang = key.partition("_")
    base = _ALIASES.get(base, base)
    return f"{base}_{lang}" if lang else base


def read_sheet(rows: Iterable[Sequence[object]], zone: ZoneInfo, title: str = "Programme") -> Programme:
    """Sessions from spreadsheet rows (the first row names the columns; times are local in ``zone``)."""
    problems = _Problems()
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        raise ScheduleError([ScheduleProblem("row 1", "the spreadsheet is empty")])
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = _header_key(cell)
        if not key:
            continue
        base, _, lang = key.partition("_")
        if base not in COLUMNS or (lang and (lang not in LANGS or base not in ("title", "description"))):
            problems.add(f"row 1, column {_column_letter(index)}", f"unknown column {cell!r}")
        elif key in columns:
            problems.add(f"row 1, column {_column_letter(index)}", f"column {cell!r} appears twice")
        else:
            columns[key] = index
    for needed in ("day", "start"):
        if needed not in columns:
            problems.add("row 1", f"missing the column {needed!r}")
    if not any(k == "title" or k.startswith("title_") for k in columns):
        problems.add("row 1", "missing a title column ('title', or 'title_en', 'title_zh', 'title_th')")
    problems.raise_any()
    programme = Programme(title=title)
    taken = _Sessions(programme, problems, "rows", lambda first: f"the same session as {first} (id or title)")
    for number, row in enumerate(iterator, start=2):
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        taken.take(_sheet_row(row, number, columns, zone, problems), f"row {number}")
    problems.raise_any()
    if not programme.sessions:
        raise ScheduleError([ScheduleProblem("row 2", "no sessions below the header row")])
    return programme


def _cell(row: Sequence[object], columns: dict[str, int], key: str) -> object:
    index = columns.get(key)
    if index is None or index >= len(row):
        return None
    value = row[index]
    return value.strip() if isinstance(value, str) else value


def _sheet_row(
    row: Sequence[object], number: int, columns: dict[str, int], zone: ZoneInfo, problems: _Problems
) -> ImportedSession | None:
    before = len(problems.items)

    def at(key: str) -> str:
        return f"row {number}, column {_column_letter(columns[key])} ({key})"

    def present(key: str) -> bool:
        value = _cell(row, columns, key)
        return value is not None and value != ""

    day = _cell(row, columns, "day")
    day_value: dt.date | None = None
    if isinstance(day, dt.datetime):
        day_value = day.date()
    elif isinstance(day, dt.date):
        day_value = day
    elif present("day"):
        try:
            day_value = dt.date.fromisoformat(str(day))
        except ValueError:
            problems.add(at("day"), f"not a date (YYYY-MM-DD): {day!r}")
    else:
        problems.add(at("day"), "empty")

    def clock(key: str) -> dt.time | None:
        value = _cell(row, columns, key)
        if isinstance(value, dt.datetime):
            return value.time().replace(second=0, microsecond=0)
        if isinstance(value, dt.time):
            return value.replace(second=0, microsecond=0)
        parsed = parse_clock(str(value)) if value not in (None, "") else None
        if parsed is None:
            problems.add(at(key), f"not a time (HH:MM, 24-hour): {value!r}" if present(key) else "empty")
        return parsed

    start = clock("start")
    duration: dt.timedelta | None = None
    if "end" in columns and present("end"):
        end = clock("end")
        if start is not None and end is not None:
            minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
            if minutes <= 0:
                problems.add(at("end"), f"the end {end:%H:%M} is not after the start {start:%H:%M}")
            duration = dt.timedelta(minutes=minutes)
    elif "duration" in columns and present("duration"):
        value = _cell(row, columns, "duration")
        if isinstance(value, dt.time):
            duration = dt.timedelta(hours=value.hour, minutes=value.minute)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            duration = dt.timedelta(minutes=float(value))
        else:
            text = str(value)
            duration = dt.timedelta(minutes=int(text)) if text.isdigit() else parse_duration(text)
        if duration is None or duration <= dt.timedelta(0):
            problems.add(at("duration"), f"not a duration (minutes, or HH:MM): {value!r}")
    titles: dict[Lang, str] = {}
    descriptions: dict[Lang, str] = {}
    for lang in LANGS:
        for key, target in ((f"title_{lang}", titles), (f"description_{lang}", descriptions)):
            if present(key):
                target[lang] = str(_cell(row, columns, key))
    if present("title"):
        titles.setdefault("en", str(_cell(row, columns, "title")))
    if present("description"):
        descriptions.setdefault("en", str(_cell(row, columns, "description")))
    if not titles:
        key = next(k for k in columns if k == "title" or k.startswith("title_"))
        problems.add(at(key), "no title in any language")
    if len(problems.items) > before or day_value is None or start is None:
        return None
    raw_speakers = str(_cell(row, columns, "speakers") or "")
    separator = ";" if ";" in raw_speakers or "\n" in raw_speakers else ","
    speakers = [s.strip() for s in raw_speakers.replace("\n", ";").split(separator) if s.strip()]
    ident = str(_cell(row, columns, "id") or "").strip()
    guid = ident or stable_guid("title", titles.get("en") or next(iter(titles.values())))
    return ImportedSession(
        guid=guid,
        title=titles,
        start=dt.datetime.combine(day_value, start, zone),
        duration=duration,
        room=str(_cell(row, columns, "room") or "").strip() or None,
        speakers=speakers,
        track=str(_cell(row, columns, "track") or "").strip() or None,
        description=descriptions,
        where=f"row {number}",
    )


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of a CSV file (UTF-8, with or without BOM; comma, semicolon or tab separated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScheduleError([ScheduleProblem("row 1", "the file is not UTF-8 text")]) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise ScheduleError(
            [ScheduleProblem(f"row {reader.line_num}", f"not readable as CSV: {exc}")]
        ) from None
    return rows


def xlsx_rows(data: bytes) -> list[tuple[object, ...]]:
    """The rows of the first sheet of an XLSX workbook, as cell values."""
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ScheduleError([ScheduleProblem("workbook", f"not a readable XLSX file: {exc}")]) from None
    try:
        sheet = workbook.worksheets[0]
        rows: list[tuple[object, ...]] = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(tuple(row))
            if len(rows) > MAX_ROWS + 1:  # the header and one row too many: read_sheet refuses it
                break
        return rows
    finally:
        workbook.close()


# --------------------------------------------------------------------------- any file

FORMATS = ("json", "xml", "csv", "xlsx")


def detect_format(name: str, data: bytes) -> str:
    """``json``, ``xml``, ``csv`` or ``xlsx`` from the file name, else from the first bytes."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in FORMATS:
        return suffix
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"{"):
        return "json"
    if head.startswith(b"<"):
        return "xml"
    return "csv"


def read_programme(name: str, data: bytes, zone: ZoneInfo, *, fmt: str | None = None) -> Programme:
    """Any supported programme file; spreadsheet times are read in ``zone`` (the event's)."""
    if len(data) > MAX_SCHEDULE_BYTES:
        raise ScheduleError(
            [ScheduleProblem(name, f"the file is larger than {MAX_SCHEDULE_BYTES // 1_000_000} MB")]
        )
    fmt = fmt or detect_format(name, data)
    title = re.sub(r"\.[A-Za-z0-9]+$", "", name.rsplit("/", 1)[-1]) or "Programme"
    if fmt == "json":
        return read_json(data)
    if fmt == "xml":
        return read_xml(data)
    if fmt == "xlsx":
        return read_sheet(xlsx_rows(data), zone, title)
    return read_sheet(csv_rows(data), zone, title)
