"""Programme import, export and change alerts, on real Pretalx and frab exports.

The exports and the schemas live in ``../shared/schedule-formats`` beside the repository; the tests that
need them are skipped when it is absent.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.delivery.sender import Sender
from bot.i18n import Translator
from bot.schedule.export import to_ics, to_json, to_xml
from bot.schedule.knowledge import SCHEDULE_FILE, programme_documents
from bot.schedule.model import ScheduleError
from bot.schedule.readers import read_programme
from bot.services.agenda import AgendaService
from bot.services.engine_holder import EngineHolder
from bot.services.knowledge import KnowledgeService
from bot.services.schedule import ScheduleService
from bot.storage.database import Database
from bot.storage.delivery import Outbox
from index.embedders import Embedder
from index.engine import Engine
from index.knowledge import KnowledgeBase, load_knowledge, read_documents, validate_documents

FORMATS = Path(__file__).resolve().parents[3] / "shared" / "schedule-formats"
EMPTY_EVENT = Path(__file__).parents[1] / "fixtures" / "empty-event"
SHIPPED = Path(__file__).resolve().parents[2] / "knowledge"
BERLIN = ZoneInfo("Europe/Berlin")
TEXTS = Translator.load()

needs_formats = pytest.mark.skipif(
    not (FORMATS / "pretalx-democon.json").is_file(),
    reason="../shared/schedule-formats is not beside the repo",
)
pytestmark = needs_formats


def democon() -> dict[str, Any]:
    return json.loads((FORMATS / "pretalx-democon.json").read_text(encoding="utf-8"))


def source_events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for day in doc["schedule"]["conference"]["days"] for evs in day["rooms"].values() for e in evs]


def imported(data: bytes, name: str = "pretalx-democon.json") -> KnowledgeBase:
    programme = read_programme(name, data, BERLIN)
    documents, _ = programme_documents(programme, read_documents(EMPTY_EVENT), source=name)
    return validate_documents(documents)


@pytest.fixture(scope="module")
def democon_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("democon")
    shutil.copy(EMPTY_EVENT / "event.yaml", directory)
    programme = read_programme(
        "pretalx-democon.json", (FORMATS / "pretalx-democon.json").read_bytes(), BERLIN
    )
    documents, _ = programme_documents(programme, read_documents(directory))
    (directory / SCHEDULE_FILE).write_text(documents[SCHEDULE_FILE], encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def engine(democon_dir: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    return Engine.load(democon_dir, tmp_path_factory.mktemp("data"), embedder=embedder)


# ----------------------------------------------------------------- import


def test_pretalx_import_gives_an_agenda_by_day_with_rooms_and_speakers() -> None:
    doc = democon()
    kb = imported(json.dumps(doc).encode())
    events = source_events(doc)
    assert len(kb.sessions) == len(events)
    assert kb.days() == [dt.date(2020, 12, 14), dt.date(2020, 12, 15), dt.date(2020, 12, 16)]
    rooms = {v.id: v.name.en for v in kb.venues}
    assert sorted(rooms.values()) == ["Gray Room", "Tan Room"]
    for event in events:
        session = kb.by_id[event["guid"]]  # ids are the source's guids
        start = dt.datetime.fromisoformat(event["date"]).astimezone(BERLIN)
        assert (session.date, session.start) == (start.date(), event["start"])
        assert rooms[session.venue] == event["room"]
        assert [s.name.en for s in session.speakers] == [p["public_name"] for p in event["persons"]]
        assert session.title.en == session.title.th == session.title.zh == event["title"]
        assert session.tags == [event["track"]]
    for day in kb.days():
        starts = [s.start for s in kb.sessions_on(day)]
        assert starts == sorted(starts) and len(starts) == 12


def test_an_empty_knowledge_set_gets_an_event_in_the_zone_the_times_carry() -> None:
    programme = read_programme("democon.json", (FORMATS / "pretalx-democon.json").read_bytes(), BERLIN)
    assert programme.notes and "UTC" in programme.notes[0], "Pretalx's 'UTC' beside +01:00 times is noted"
    documents, summary = programme_documents(programme, {})
    kb = validate_documents(documents)
    assert summary.event_created and kb.event.timezone == "Etc/GMT-1"
    first = min(kb.sessions, key=lambda s: (s.date, s.start))
    assert (first.date, first.start) == (dt.date(2020, 12, 14), "09:00")
    assert (kb.event.start_date, kb.event.end_date) == (dt.date(2020, 12, 14), dt.date(2020, 12, 16))


def test_frab_import_keeps_every_event_and_a_night_session_loses_only_its_end() -> None:
    programme = read_programme("camp.json", (FORMATS / "frab-camp2019.json").read_bytes(), BERLIN)
    documents, summary = programme_documents(programme, {})
    kb = validate_documents(documents)
    assert kb.event.timezone == "Europe/Berlin"
    assert len(kb.sessions) == len(source_events(json.loads((FORMATS / "frab-camp2019.json").read_text())))
    assert any("after midnight" in note for note in summary.notes)


def test_a_room_named_like_a_known_venue_is_that_venue() -> None:
    documents = read_documents(EMPTY_EVENT)
    documents["venues.yaml"] = (
        "venues:\n  - id: gray-hall\n    name: {en: Grey Hall, zh: 灰厅, th: ห้องเทา}\n"
        "    aliases: {en: [Gray Room]}\n    description: {en: The grey hall., zh: 灰厅。, th: ห้องเทา}\n"
    )
    programme = read_programme("d.json", (FORMATS / "pretalx-democon.json").read_bytes(), BERLIN)
    new, summary = programme_documents(programme, documents)
    kb = validate_documents(new)
    assert summary.known_rooms == ["Gray Room"] and summary.new_rooms == ["Tan Room"]
    assert {s.venue for s in kb.sessions} == {"gray-hall", "room-tan-room"}


def test_a_spreadsheet_with_a_bad_time_is_refused_with_its_row_and_column() -> None:
    good = "2023-11-08,09:30,11:00,Hall 2,Opening,开幕式,พิธีเปิด,Ann; Bo,Ceremony\n"
    csv = "Day,Start,End,Room,Title_en,Title_zh,Title_th,Speakers,Track\n" + good
    kb = imported(csv.encode(), "programme.csv")
    [session] = kb.sessions
    assert (session.title.en, session.title.zh, session.title.th) == ("Opening", "开幕式", "พิธีเปิด")
    assert [s.name.en for s in session.speakers] == ["Ann", "Bo"] and session.end == "11:00"
    bad = csv + "2023-11-08,9.30,10:00,Hall 2,Talk,,,,\n2023-11-08,10:00,09:00,Hall 2,Later,,,,\n"
    with pytest.raises(ScheduleError) as refused:
        read_programme("programme.csv", bad.encode(), BERLIN)
    assert [str(p) for p in refused.value.problems] == [
        "row 3, column B (start): not a time (HH:MM, 24-hour): '9.30'",
        "row 4, column C (end): the end 09:00 is not after the start 10:00",
    ]


def test_an_xlsx_sheet_is_read_with_its_cells_and_a_bad_cell_named() -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["day", "start", "duration", "room", "title", "speakers", "track", "description"])
    sheet.append(
        [dt.date(2023, 11, 9), dt.time(14, 0), 90, "Hall 1", "Plenary", "Ren; Zhuang", "Main", "All"]
    )
    sheet.append([dt.date(2023, 11, 9), "later", 30, "Hall 1", "Panel", "", "", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ScheduleError) as refused:
        read_programme("programme.xlsx", buffer.getvalue(), BERLIN)
    assert [str(p) for p in refused.value.problems] == [
        "row 3, column B (start): not a time (HH:MM, 24-hour): 'later'"
    ]
    sheet.delete_rows(3)
    buffer = io.BytesIO()
    book.save(buffer)
    kb = imported(buffer.getvalue(), "programme.xlsx")
    [session] = kb.sessions
    assert (session.date, session.start, session.end) == (dt.date(2023, 11, 9), "14:00", "15:30")
    assert session.summary.en == "All" and session.tags == ["Main"]


def test_a_bad_field_in_schedule_json_is_named_by_its_json_path() -> None:
    doc = democon()
    day = doc["schedule"]["conference"]["days"][1]
    day["rooms"]["Tan Room"][2]["duration"] = "half an hour"
    del day["rooms"]["Gray Room"][0]["guid"]
    with pytest.raises(ScheduleError) as refused:
        read_programme("d.json", json.dumps(doc).encode(), BERLIN)
    assert [p.where for p in refused.value.problems] == [
        '$.schedule.conference.days[1].rooms["Gray Room"][0].guid',
        '$.schedule.conference.days[1].rooms["Tan Room"][2].duration',
    ]
    with pytest.raises(ScheduleError) as broken:
        read_programme("d.json", b'{"schedule": {', BERLIN)
    assert broken.value.problems[0].where.startswith("$ (line 1")


def test_a_session_given_twice_or_too_many_sessions_are_named_in_every_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = democon()
    rooms = doc["schedule"]["conference"]["days"][1]["rooms"]
    rooms["Tan Room"].append(copy.deepcopy(rooms["Gray Room"][0]))
    at = len(rooms["Tan Room"]) - 1
    with pytest.raises(ScheduleError) as twice:
        read_programme("d.json", json.dumps(doc).encode(), BERLIN)
    [problem] = twice.value.problems
    assert problem.where == f'$.schedule.conference.days[1].rooms["Tan Room"][{at}].guid'
    assert problem.message.endswith('days[1].rooms["Gray Room"][0]')

    xml = to_xml(imported(json.dumps(democon()).encode())).content.decode()
    first = xml.index("<event ")
    event = xml[first : xml.index("</event>", first) + len("</event>")]
    with pytest.raises(ScheduleError) as twice_xml:
        read_programme("d.xml", xml.replace(event, event + event, 1).encode(), BERLIN)
    [problem] = twice_xml.value.problems
    assert problem.message.startswith("duplicate guid, first at line")

    row = "2023-11-08,09:30,11:00,Hall 2,Opening\n"
    sheet = "Day,Start,End,Room,Title\n" + row + "2023-11-08,12:00,13:00,Hall 2,Lunch\n" + row
    with pytest.raises(ScheduleError) as twice_sheet:
        read_programme("p.csv", sheet.encode(), BERLIN)
    assert [str(p) for p in twice_sheet.value.problems] == ["row 4: the same session as row 2 (id or title)"]

    monkeypatch.setattr("bot.schedule.readers.MAX_ROWS", 1)
    with pytest.raises(ScheduleError) as too_many:
        read_programme("p.csv", sheet.encode(), BERLIN)
    assert [str(p) for p in too_many.value.problems] == ["row 3: more than 1 rows"]
    with pytest.raises(ScheduleError) as too_many_events:
        read_programme("d.json", json.dumps(democon()).encode(), BERLIN)
    assert too_many_events.value.problems[-1].message == "more than 1 events"


def test_schedule_xml_is_read_without_entities(tmp_path: Path) -> None:
    kb = imported((FORMATS / "pretalx-democon.json").read_bytes())
    xml = to_xml(kb).content
    again = imported(xml, "schedule.xml")
    assert {s.id for s in again.sessions} == {s.id for s in kb.sessions}
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><schedule>&e;</schedule>'
    )
    with pytest.raises(ScheduleError):
        read_programme("s.xml", hostile, BERLIN)


def test_cli_import_refuses_a_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(EMPTY_EVENT, knowledge)
    bad = tmp_path / "programme.csv"
    bad.write_text("day,start,end,room,title\n2020-12-14,25:00,26:00,A,Talk\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["schedule", "import", str(bad), "--knowledge", str(knowledge)])
    assert result.exit_code == 1 and "row 2, column B (start)" in result.output
    assert not (knowledge / SCHEDULE_FILE).exists()
    result = runner.invoke(
        cli,
        ["schedule", "import", str(FORMATS / "pretalx-democon.json"), "--knowledge", str(knowledge), "--yes"],
    )
    assert result.exit_code == 0, result.output
    assert "36 sessions, 2 new rooms" in result.output and "added (38)" in result.output
    assert len(load_knowledge(knowledge).sessions) == 36


# ----------------------------------------------------------------- answers


def _talk(doc: dict[str, Any], day: int, room: str, index: int) -> dict[str, Any]:
    return doc["schedule"]["conference"]["days"][day]["rooms"][room][index]


@pytest.mark.parametrize(
    ("template", "lang", "date_text"),
    [
        ("When is {title} and where?", "en", "{d} December 2020"),
        ("{title} จัดวันไหน ที่ไหน", "th", "{d} ธันวาคม 2020"),
        ("{title}什么时候在哪里举行？", "zh", "2020年12月{d}日"),
    ],
)
@pytest.mark.parametrize(("day", "room", "index"), [(1, "Tan Room", 1), (2, "Gray Room", 4)])
def test_when_and_where_is_a_talk_in_three_languages(
    engine: Engine, template: str, lang: str, date_text: str, day: int, room: str, index: int
) -> None:
    talk = _talk(democon(), day, room, index)
    start = dt.datetime.fromisoformat(talk["date"])
    answer = engine.ask(template.format(title=talk["title"]))
    assert answer.outcome == "answer" and answer.sources[0] == talk["guid"]
    assert answer.language == lang
    text = answer.text
    assert date_text.format(d=start.day) in text, "the day"
    assert talk["start"] in text and "UTC+1" in text, "the time with its zone"
    assert room in text, "the room"


# ----------------------------------------------------------------- export


def _validators() -> tuple[Any, Any]:
    import jsonschema
    from lxml import etree

    schema = json.loads((FORMATS / "schema.json").read_text(encoding="utf-8"))
    xsd = etree.XMLSchema(etree.parse(str(FORMATS / "schedule.xml.xsd")))
    return jsonschema.Draft6Validator(schema), xsd


def _facts(kb: KnowledgeBase) -> dict[str, tuple[Any, ...]]:
    return {
        s.id: (
            s.title.en,
            s.date,
            s.start,
            s.end,
            kb.venue(s.venue).name.en if s.venue else None,
            tuple(p.name.en for p in s.speakers),
            tuple(s.tags),
            s.summary.en,
        )
        for s in kb.sessions
    }


@pytest.mark.parametrize("source", ["imported", "shipped"])
def test_exports_validate_against_the_schemas(source: str) -> None:
    from lxml import etree

    kb = (
        imported((FORMATS / "pretalx-democon.json").read_bytes())
        if source == "imported"
        else load_knowledge(SHIPPED)
    )
    json_validator, xsd = _validators()
    exported = to_json(kb)
    errors = [
        f"{list(e.path)}: {e.message}" for e in json_validator.iter_errors(json.loads(exported.content))
    ]
    assert errors == []
    xml = to_xml(kb)
    document = etree.fromstring(xml.content)
    assert xsd.validate(document), xsd.error_log
    timed = [s for s in kb.sessions if s.date and s.start]
    assert exported.sessions == xml.sessions == len(timed) and exported.left_out == len(kb.sessions) - len(
        timed
    )
    assert len(document.findall("day/room/event")) == len(timed)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_importing_an_export_gives_back_the_same_sessions(fmt: str) -> None:
    kb = imported((FORMATS / "pretalx-democon.json").read_bytes())
    content = (to_json if fmt == "json" else to_xml)(kb).content
    again = imported(content, f"schedule.{fmt}")
    assert _facts(again) == _facts(kb)


def test_hand_written_sessions_keep_their_ids_through_export_and_import() -> None:
    kb = load_knowledge(SHIPPED)
    programme = read_programme("schedule.json", to_json(kb).content, ZoneInfo(kb.event.timezone))
    documents = read_documents(SHIPPED)
    sessions_file = next(name for name, text in documents.items() if "\nsessions:" in "\n" + text)
    raw = yaml.safe_load(documents[sessions_file])
    raw["sessions"] = [s for s in raw["sessions"] if not s.get("start")]  # the export leaves these out
    documents[sessions_file] = yaml.safe_dump(raw, allow_unicode=True)
    new, _ = programme_documents(programme, documents)
    again = validate_documents(new)
    timed = {s.id for s in kb.sessions if s.date and s.start}
    assert {s.id for s in again.sessions if s.start} == timed and timed
    for session_id in timed:
        before, after = kb.by_id[session_id], again.by_id[session_id]
        assert (after.date, after.start, after.end, after.venue) == (
            before.date,
            before.start,
            before.end,
            before.venue,
        )


def test_ics_export_has_every_dated_session() -> None:
    import icalendar

    kb = imported((FORMATS / "pretalx-democon.json").read_bytes())
    calendar = icalendar.Calendar.from_ical(to_ics(kb).content)
    events = calendar.walk("VEVENT")
    assert len(events) == len(kb.sessions)
    first = next(e for e in events if str(e["uid"]).startswith(kb.sessions[0].id))
    assert first.decoded("dtstart").astimezone(BERLIN).strftime("%H:%M") == kb.sessions[0].start


# ----------------------------------------------------------------- change alerts through Apply and rollback


class Transport:
    async def call(self, method: str, params: dict[str, Any]) -> int | None:
        return 1


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def alerts(db: Database) -> list[tuple[int, str]]:
    rows = await db.rows("SELECT chat_id, params FROM outbox WHERE kind = 'alert' ORDER BY id")
    return [(chat, json.loads(params)["text"]) for chat, params in rows]


async def test_reimport_with_a_moved_talk_alerts_its_followers_once_and_rollback_moves_it_back(
    db: Database, tmp_path: Path, engine: Engine
) -> None:
    data = tmp_path / "data"
    holder = EngineHolder(Engine.load(EMPTY_EVENT, data, embedder=engine.embedder))
    knowledge = KnowledgeService(holder, db, data, EMPTY_EVENT)
    schedule = ScheduleService(knowledge, holder)
    agenda = AgendaService(
        db, lambda: holder.current.kb, TEXTS, sender=Sender(Outbox(db), Transport(), rate=0)
    )
    holder.add_listener(agenda.on_engine)

    doc = democon()
    first = await schedule.propose(1, "pretalx-democon.json", json.dumps(doc).encode(), "en")
    assert first.preview is not None and len(first.preview.diff.added) == 38
    await knowledge.apply(first.preview.proposal_id, 1)
    moved, other = _talk(doc, 0, "Gray Room", 2), _talk(doc, 0, "Tan Room", 0)
    for user, lang in ((7, "en"), (8, "zh")):
        await db.users.touch_user(user, lang)
        assert await agenda.bookmark(user, moved["guid"]) is True
    await db.users.touch_user(9, "en")
    await agenda.bookmark(9, other["guid"])

    again = copy.deepcopy(doc)
    talk = _talk(again, 0, "Gray Room", 2)
    start = dt.datetime.fromisoformat(talk["date"]) + dt.timedelta(hours=3)
    talk["date"], talk["start"] = start.isoformat(), start.strftime("%H:%M")
    second = await schedule.propose(1, "pretalx-democon.json", json.dumps(again).encode(), "en")
    assert [c.entry_id for c in second.preview.diff.changed] == [moved["guid"]]
    assert second.preview.diff.added == [] and second.preview.diff.removed == []
    unchanged = await schedule.propose(1, "pretalx-democon.json", json.dumps(again).encode(), "en")
    assert unchanged.preview is not None, "not applied yet: the served programme still differs"
    await knowledge.apply(second.preview.proposal_id, 1)

    sent = await alerts(db)
    assert sorted(chat for chat, _ in sent) == [7, 8], "one alert to each follower of the moved talk"
    english = next(text for chat, text in sent if chat == 7)
    assert (
        f"14 December 2020, {moved['start']}" in english
        and f"<b>14 December 2020, {talk['start']}" in english
    )
    assert "UTC+1" in english
    assert "2020年12月14日" in next(text for chat, text in sent if chat == 8)
    applied = await schedule.propose(1, "pretalx-democon.json", json.dumps(again).encode(), "en")
    assert applied.preview is None, "the same programme again changes nothing"

    target = knowledge.rollback_target()
    assert target is not None
    await knowledge.rollback(target.id, 1)
    back = (await alerts(db))[2:]
    assert sorted(chat for chat, _ in back) == [7, 8], (
        "rolling back moves the talk back and tells its followers"
    )
    assert f"<b>14 December 2020, {moved['start']}" in next(text for chat, text in back if chat == 7)
    assert holder.current.kb.by_id[moved["guid"]].start == moved["start"]


async def test_a_bad_programme_stores_no_proposal(db: Database, tmp_path: Path, engine: Engine) -> None:
    data = tmp_path / "data"
    holder = EngineHolder(Engine.load(EMPTY_EVENT, data, embedder=engine.embedder))
    knowledge = KnowledgeService(holder, db, data, EMPTY_EVENT)
    schedule = ScheduleService(knowledge, holder)
    with pytest.raises(ScheduleError) as refused:
        await schedule.propose(1, "p.csv", b"day,start,title\n2020-12-14,9:75,Talk\n", "en")
    assert str(refused.value.problems[0]).startswith("row 2, column B (start)")
    assert await db.rows("SELECT id FROM knowledge_proposals") == []
