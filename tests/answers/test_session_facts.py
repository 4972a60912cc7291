"""One source of truth for a session's day, time and place: references in the knowledge text, and the
report of free text that contradicts a session."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.schedule.knowledge import programme_documents
from bot.schedule.readers import read_programme
from bot.services.knowledge import diff_knowledge
from index.composer import answer_text
from index.consistency import check
from index.knowledge import KnowledgeError, read_documents, validate_documents
from index.templates import hour12

SHIPPED = Path(__file__).resolve().parents[2] / "knowledge"
FORMATS = Path(__file__).resolve().parents[3] / "shared" / "schedule-formats"
EMPTY_EVENT = Path(__file__).parents[1] / "fixtures" / "empty-event"


def moved_plenary(
    documents: dict[str, str], start: str = "15:30", date: str = "2023-11-09"
) -> dict[str, str]:
    moved = dict(documents)
    text = moved["sessions.yaml"]
    block = text.index("  - id: plenary-session")
    head, tail = text[:block], text[block:]
    tail = tail.replace('start: "14:00"', f'start: "{start}"', 1).replace(
        "date: 2023-11-08", f"date: {date}", 1
    )
    moved["sessions.yaml"] = head + tail
    return moved


def test_moving_a_session_changes_every_answer_that_states_its_time() -> None:
    documents = read_documents(SHIPPED)
    before = validate_documents(documents)
    after = validate_documents(moved_plenary(documents))
    expected = {
        "en": ("15:30", "3:30 pm", "9 November 2023"),
        "zh": ("15:30", "下午3点半", "2023年11月9日"),
        "th": ("15:30", "บ่ายสามโมงครึ่ง", "9 พฤศจิกายน 2023"),
    }
    for lang, (start, spoken, day) in expected.items():
        answer = answer_text(after.by_id["faq-plenary-time"], after, lang)
        assert start in answer and spoken in answer and day in answer, answer
        assert "14:00" not in answer
        summary = after.by_id["plenary-session"].summary.get(lang)
        assert start in summary and "14:00" not in summary
        assert "14:00" in answer_text(before.by_id["faq-plenary-time"], before, lang)
    changed = {c.entry_id for c in diff_knowledge(before, after, "en").changed}
    assert {"plenary-session", "faq-plenary-time", "faq-agenda-times", "fact-ten-year-honours"} <= changed


def test_a_reference_to_an_unknown_session_or_field_is_a_problem() -> None:
    documents = read_documents(SHIPPED)
    broken = dict(documents)
    broken["faq.yaml"] = broken["faq.yaml"].replace("{{plenary-session.hour12}}", "{{plenary.hour12}}", 1)
    broken["event.yaml"] = broken["event.yaml"].replace(
        "{{plenary-session.start}}", "{{plenary-session.begin}}", 1
    )
    with pytest.raises(KnowledgeError) as refused:
        validate_documents(broken)
    assert sorted(str(p) for p in refused.value.problems) == [
        "event.yaml, entry 'fact-ten-year-honours', field 'text.en': unknown field 'begin' "
        "(one of date, day, start, end, time, when, hour12, venue, room, place)",
        "faq.yaml, entry 'faq-plenary-time', field 'answer.en': unknown session 'plenary' in a reference",
    ]


@pytest.mark.parametrize(
    ("start", "en", "zh", "th"),
    [
        ("09:30", "9:30 am", "上午9点半", "เก้าโมงเช้าครึ่ง"),
        ("12:00", "12 pm", "中午12点", "เที่ยง"),
        ("21:15", "9:15 pm", "晚上9点15分", "21:15 น."),
    ],
)
def test_hour_as_people_say_it(start: str, en: str, zh: str, th: str) -> None:
    assert (hour12(start, "en"), hour12(start, "zh"), hour12(start, "th")) == (en, zh, th)


def test_the_shipped_knowledge_states_no_session_fact_twice() -> None:
    assert check(read_documents(SHIPPED)) == []


def test_free_text_contradicting_a_session_is_reported(tmp_path: Path) -> None:
    documents = read_documents(SHIPPED)
    documents["faq.yaml"] = documents["faq.yaml"].replace(
        "The plenary session starts at {{plenary-session.start}} ({{plenary-session.hour12}}) on "
        "{{plenary-session.date}}",
        "The plenary session starts at 15:00 on 9 November 2023",
    )
    documents["faq.yaml"] = documents["faq.yaml"].replace(
        "全体会议于{{plenary-session.date}}{{plenary-session.start}}（{{plenary-session.hour12}}）开始",
        "全体会议于2023年11月8日14:00开始",
    )
    findings = [(f.entry_id, f.field, f.kind, f.message) for f in check(documents)]
    assert findings == [
        ("faq-plenary-time", "answer.en", "contradiction", "states 15:00; the session is at 14:00"),
        (
            "faq-plenary-time",
            "answer.en",
            "contradiction",
            "states the day 9 November; the session is on 2023-11-08",
        ),
        ("faq-plenary-time", "answer.zh", "copy", "writes out the time 14:00; use {{plenary-session.start}}"),
    ]
    for name, text in documents.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["index", "check", "--knowledge", str(tmp_path)])
    assert result.exit_code == 1
    assert "2 text(s) contradict a session" in result.output
    assert "faq.yaml, entry 'faq-plenary-time', field 'answer.en': states 15:00" in result.output
    assert "1 text(s) write out a session's fact" in result.output


@pytest.mark.skipif(
    not (FORMATS / "pretalx-democon.json").is_file(), reason="../shared/schedule-formats is absent"
)
def test_a_sentence_naming_another_room_for_a_session_is_a_contradiction() -> None:
    programme = read_programme("d.json", (FORMATS / "pretalx-democon.json").read_bytes(), ZoneInfo("UTC"))
    documents, _ = programme_documents(programme, read_documents(EMPTY_EVENT))
    talk = next(s for s in programme.sessions if s.room == "Gray Room")
    title = talk.title["en"]
    reference = "{{" + talk.guid + ".place}}"
    documents["faq.yaml"] = (
        "faq:\n  - id: faq-talk\n"
        "    questions: {en: [where is the talk, which room], zh: [在哪, 哪个房间], th: [ที่ไหน, ห้องไหน]}\n"
        f"    answer: {{en: '{title} is in the Tan Room.', zh: '{reference}', th: '{reference}'}}\n"
    )
    findings = [(f.field, f.kind, f.message) for f in check(documents)]
    assert findings == [
        ("answer.en", "contradiction", "names the venue 'room-tan-room'; the session is at 'room-gray-room'")
    ]
    kb = validate_documents(documents)
    assert kb.by_id["faq-talk"].answer.zh == "Gray Room"
