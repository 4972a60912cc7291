"""Content checks for ``knowledge/``: schema, cross-references, honesty rules and languages."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from index.composer import entry_text
from index.knowledge import load_knowledge
from index.language import detect_language
from index.schema import Entry, FaqEntry, I18n, I18nList, KnowledgeFile

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"
EXPECTED_FILES = {"event.yaml", "sessions.yaml", "venues.yaml", "transport.yaml", "faq.yaml"}
PLENARY_ID = "plenary-session"

THAI = re.compile(r"[\u0e00-\u0e7f]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CLOCK_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-3])[:.]([0-5]\d)(?![\d:])")


def _load(path: Path) -> KnowledgeFile:
    return KnowledgeFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def files() -> dict[str, KnowledgeFile]:
    return {p.name: _load(p) for p in sorted(KNOWLEDGE_DIR.glob("*.yaml"))}


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    """Every entry as users read it: references to a session's facts rendered."""
    return list(load_knowledge(KNOWLEDGE_DIR).entries())


def _texts(node: object, lang: str) -> Iterator[str]:
    """Every user-readable string of one language inside a model (I18n and I18nList fields)."""
    if isinstance(node, I18n):
        yield node.get(lang)  # type: ignore[arg-type]
    elif isinstance(node, I18nList):
        yield from node.get(lang)  # type: ignore[arg-type]
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), lang)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _texts(item, lang)


def _all_text(entries: list[Entry]) -> str:
    parts = [t for e in entries for lang in ("en", "zh", "th") for t in _texts(e, lang)]
    return unicodedata.normalize("NFKC", "\n".join(parts)).casefold()


def _faq(entries: list[Entry], faq_id: str) -> FaqEntry:
    found = next(e for e in entries if e.id == faq_id)
    assert isinstance(found, FaqEntry)
    return found


def test_expected_files_exist_and_validate(files: dict[str, KnowledgeFile]) -> None:
    assert set(files) >= EXPECTED_FILES
    assert sum(1 for kf in files.values() if kf.event is not None) == 1


def test_ids_are_unique_across_files(entries: list[Entry]) -> None:
    ids = [e.id for e in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate ids: {duplicates}"


def test_event_dates_and_zone(files: dict[str, KnowledgeFile]) -> None:
    event = files["event.yaml"].event
    assert event is not None
    assert (event.start_date, event.end_date) == (dt.date(2023, 11, 8), dt.date(2023, 11, 10))
    assert event.timezone == "Asia/Shanghai"
    assert event.theme.zh == "建设包容、普惠、有韧性的数字世界——携手构建网络空间命运共同体"
    assert "Community with a Shared Future in Cyberspace" in event.theme.en


def test_session_venues_exist(files: dict[str, KnowledgeFile]) -> None:
    venue_ids = {v.id for kf in files.values() for v in kf.venues}
    sessions = [s for kf in files.values() for s in kf.sessions]
    unknown = {s.id: s.venue for s in sessions if s.venue is not None and s.venue not in venue_ids}
    assert not unknown


def test_faq_related_ids_exist(entries: list[Entry]) -> None:
    ids = {e.id for e in entries}
    broken = {e.id: r for e in entries if isinstance(e, FaqEntry) for r in e.related if r not in ids}
    assert not broken


def test_only_the_plenary_has_a_clock_time(files: dict[str, KnowledgeFile]) -> None:
    sessions = [s for kf in files.values() for s in kf.sessions]
    timed = {s.id for s in sessions if s.start or s.end}
    assert timed == {PLENARY_ID}
    plenary = next(s for s in sessions if s.id == PLENARY_ID)
    assert (plenary.date, plenary.start, plenary.end) == (dt.date(2023, 11, 8), "14:00", None)


def test_no_session_has_a_room(files: dict[str, KnowledgeFile]) -> None:
    assert not [s.id for kf in files.values() for s in kf.sessions if s.room is not None]


def test_session_dates_fall_within_the_summit_week(files: dict[str, KnowledgeFile]) -> None:
    dates = {s.date for kf in files.values() for s in kf.sessions if s.date}
    assert dates <= {dt.date(2023, 11, d) for d in range(7, 11)}


def test_no_clock_time_in_any_text_except_the_plenary_start(entries: list[Entry]) -> None:
    times = {f"{int(h):02d}:{m}" for h, m in CLOCK_TIME.findall(_all_text(entries))}
    assert times == {"14:00"}


def test_no_venue_has_coordinates(files: dict[str, KnowledgeFile]) -> None:
    assert not [v.id for kf in files.values() for v in kf.venues if v.coordinates is not None]


def test_all_routes_are_approximate(files: dict[str, KnowledgeFile]) -> None:
    routes = [r for kf in files.values() for r in kf.routes]
    assert routes
    assert not [r.id for r in routes if not r.approximate]


@pytest.mark.parametrize(("lang", "script"), [("th", THAI), ("zh", HAN)])
def test_every_text_is_in_its_script(entries: list[Entry], lang: str, script: re.Pattern[str]) -> None:
    wrong = [(e.id, t) for e in entries for t in _texts(e, lang) if not script.search(t)]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize(("lang", "script"), [("th", THAI), ("zh", HAN), ("en", re.compile(r"[A-Za-z]"))])
def test_faq_answers_are_mostly_in_their_language(
    entries: list[Entry], lang: str, script: re.Pattern[str]
) -> None:
    """An answer is judged by its script: most of its letters must be in the asker's script."""
    for faq in (e for e in entries if isinstance(e, FaqEntry)):
        text = faq.answer.get(lang)  # type: ignore[arg-type]
        letters = [c for c in text if c.isalpha()]
        share = sum(1 for c in letters if script.match(c)) / len(letters)
        assert share >= 0.6, (faq.id, lang, round(share, 2))


@pytest.mark.parametrize("lang", ["en", "zh", "th"])
def test_composed_answers_are_detected_as_their_language(lang: str) -> None:
    """What a person reads for any entry must be recognised as the language they asked in."""
    kb = load_knowledge(KNOWLEDGE_DIR)
    other = "zh" if lang == "en" else "en"
    wrong = [e.id for e in kb.entries() if detect_language(entry_text(e, kb, lang), fallback=other) != lang]
    assert not wrong


def test_faq_has_several_phrasings_per_language(entries: list[Entry]) -> None:
    thin = [
        (e.id, lang)
        for e in entries
        if isinstance(e, FaqEntry)
        for lang in ("en", "zh", "th")
        if len(e.questions.get(lang)) < 2  # type: ignore[arg-type]
    ]
    assert not thin


@pytest.mark.parametrize(
    "figure", ["1,800", "126", "3,000", "580", "14:00", "k282", "wang shu", "王澍", "3,640", "80 km"]
)
def test_key_figures_are_present(entries: list[Entry], figure: str) -> None:
    assert figure in _all_text(entries)


@pytest.mark.parametrize(
    ("faq_id", "needles"),
    [
        ("faq-dates", {"en": ["8–10 November 2023"], "zh": ["2023年11月8日至10日"], "th": ["8–10 พฤศจิกายน"]}),
        ("faq-plenary-time", {"en": ["14:00"], "zh": ["14:00"], "th": ["14:00"]}),
        ("faq-main-hall-capacity", {"en": ["3,000"], "zh": ["3000"], "th": ["3,000"]}),
        ("faq-guests", {"en": ["1,800", "126"], "zh": ["1800", "126"], "th": ["1,800", "126"]}),
        ("faq-expo-exhibitors", {"en": ["580"], "zh": ["580"], "th": ["580"]}),
        ("faq-sub-forum-count", {"en": ["20"], "zh": ["20"], "th": ["20"]}),
        ("faq-years-running", {"en": ["10th", "2014"], "zh": ["10", "2014"], "th": ["10", "2014"]}),
        ("faq-tongxiang-to-wuzhen", {"en": ["K282", "taxi"], "zh": ["K282", "打车"], "th": ["K282", "แท็กซี่"]}),
        ("faq-distance-hangzhou", {"en": ["80 km"], "zh": ["80公里"], "th": ["80 กม."]}),
        ("faq-designer", {"en": ["Wang Shu"], "zh": ["王澍"], "th": ["หวัง ซู่", "Wang Shu"]}),
        ("faq-museum-opening", {"en": ["7 November 2023"], "zh": ["11月7日"], "th": ["7 พฤศจิกายน"]}),
        ("faq-5g", {"en": ["3,640"], "zh": ["3640"], "th": ["3,640"]}),
        ("faq-nearest-station", {"en": ["Tongxiang"], "zh": ["桐乡"], "th": ["ถงเซียง"]}),
        ("faq-youth-forum", {"en": ["9 November"], "zh": ["11月9日"], "th": ["9 พฤศจิกายน"]}),
    ],
)
def test_faq_answers_carry_their_key_figure(
    entries: list[Entry], faq_id: str, needles: dict[str, list[str]]
) -> None:
    faq = _faq(entries, faq_id)
    for lang, wanted in needles.items():
        answer = faq.answer.get(lang)  # type: ignore[arg-type]
        assert all(w in answer for w in wanted), (faq_id, lang, answer)


def test_secondary_source_answers_say_about(entries: list[Entry]) -> None:
    """Approximate FAQ answers must hedge their figures in every language."""
    hedges = {"en": "about", "zh": "约", "th": "ประมาณ"}
    for faq in (e for e in entries if isinstance(e, FaqEntry) and e.approximate):
        for lang, word in hedges.items():
            assert word in faq.answer.get(lang), (faq.id, lang)  # type: ignore[arg-type]
