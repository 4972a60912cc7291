"""Validation of knowledge files: precise errors, nothing half-loaded, cross-file checks."""

from pathlib import Path

import pytest

from index.knowledge import KnowledgeError, load_knowledge, validate_documents

EVENT = """\
event:
  id: demo-event
  name: {en: Demo Summit, zh: 演示峰会, th: การประชุมสาธิต}
  short_name: {en: Demo, zh: 演示, th: สาธิต}
  start_date: 2023-11-08
  end_date: 2023-11-10
  timezone: Asia/Shanghai
  location: {en: Wuzhen, zh: 乌镇, th: อูเจิ้น}
  theme: {en: Sharing, zh: 共享, th: การแบ่งปัน}
  organisers: {en: Someone, zh: 某机构, th: บางองค์กร}
  summary: {en: A demo., zh: 演示。, th: ตัวอย่าง}
"""

VENUES = """\
venues:
  - id: hall
    name: {en: Big Hall, zh: 大厅, th: ห้องโถงใหญ่}
    description: {en: A hall., zh: 一个大厅。, th: ห้องโถง}
"""

SESSIONS = """\
sessions:
  - id: opening
    title: {en: Opening, zh: 开幕式, th: พิธีเปิด}
    date: 2023-11-08
    venue: hall
    summary: {en: Starts the event., zh: 开幕。, th: เปิดงาน}
  - id: forum-b
    title: {en: Forum B, zh: 论坛B, th: ฟอรัมบี}
    date: 2023-11-09
    start: "25:00"
    summary: {en: A forum., zh: 论坛。, th: ฟอรัม}
"""


def test_valid_set_loads_with_lookups() -> None:
    kb = validate_documents(
        {"event.yaml": EVENT, "venues.yaml": VENUES, "s.yaml": SESSIONS.split("  - id: forum-b")[0]}
    )
    assert kb.event.id == "demo-event"
    assert kb.venue("hall") is not None and kb.venue("opening") is None
    assert [s.id for s in kb.sessions_on(kb.days()[0])] == ["opening"]
    assert len(kb.content_hash) == 64


def test_schema_error_names_file_entry_field_and_line() -> None:
    with pytest.raises(KnowledgeError) as info:
        validate_documents({"event.yaml": EVENT, "venues.yaml": VENUES, "sessions.yaml": SESSIONS})
    [problem] = info.value.problems
    assert problem.file == "sessions.yaml"
    assert problem.entry_id == "forum-b"
    assert problem.field == "start"
    assert problem.line == SESSIONS.splitlines().index('    start: "25:00"') + 1
    assert "sessions.yaml:" in str(problem) and "forum-b" in str(problem)


def test_missing_translation_is_reported() -> None:
    broken = VENUES.replace("th: ห้องโถงใหญ่", "fr: Grande salle")
    with pytest.raises(KnowledgeError) as info:
        validate_documents({"event.yaml": EVENT, "venues.yaml": broken})
    fields = {p.field for p in info.value.problems}
    assert "name.th" in fields and "name.fr" in fields
    assert all(p.entry_id == "hall" for p in info.value.problems)


def test_yaml_syntax_error_has_line() -> None:
    with pytest.raises(KnowledgeError) as info:
        validate_documents({"event.yaml": EVENT, "venues.yaml": "venues:\n  - id: [unclosed\n"})
    [problem] = info.value.problems
    assert problem.file == "venues.yaml" and problem.line is not None and "YAML" in problem.message


def test_cross_file_problems_all_reported() -> None:
    dangling = SESSIONS.split("  - id: forum-b")[0].replace("venue: hall", "venue: nowhere")
    duplicate = VENUES.replace("id: hall", "id: opening")
    with pytest.raises(KnowledgeError) as info:
        validate_documents({"event.yaml": EVENT, "venues.yaml": duplicate, "sessions.yaml": dangling})
    messages = " | ".join(str(p) for p in info.value.problems)
    assert "duplicate id" in messages
    assert "unknown venue 'nowhere'" in messages


def test_two_events_refused() -> None:
    with pytest.raises(KnowledgeError, match="exactly one 'event'"):
        validate_documents({"a.yaml": EVENT, "b.yaml": EVENT.replace("demo-event", "other-event")})


def test_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no knowledge files"):
        load_knowledge(tmp_path)
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KnowledgeError, match="not UTF-8"):
        load_knowledge(tmp_path)
    with pytest.raises(KnowledgeError, match="not found"):
        load_knowledge(tmp_path / "missing")


def test_top_level_must_be_mapping() -> None:
    with pytest.raises(KnowledgeError, match="mapping"):
        validate_documents({"event.yaml": EVENT, "list.yaml": "- just\n- a list\n"})
