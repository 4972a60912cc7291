"""Settings, interface texts, HTML splitting and the plain services behind the Telegram handlers."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, settings_from
from bot.i18n import Translator
from bot.services.answering import AnsweringService
from bot.services.catalogue import Catalogue
from bot.services.feedback import FeedbackService
from bot.services.users import UserService, language_from_code
from bot.storage.database import Database
from bot.telegram.formatting import split_html, utf16_len
from index.engine import Engine
from index.knowledge import load_knowledge
from index.types import LANGS

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge"
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"


# -- settings ---------------------------------------------------------------------------------------


def test_settings_defaults_and_parsing() -> None:
    s = settings_from(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "ADMIN_IDS": "1, 2,3",
            "ORGANISER_IDS": "42",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "PORT": "5000",
            "WEBHOOK_URL": "https://bot.example.org/telegram/hook",
        }
    )
    assert s.admin_ids == {1, 2, 3} and s.staff_ids == {1, 2, 3, 42}
    assert s.base_url == "http://127.0.0.1:8081/bot" and s.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert s.webhook_port == 5000 and s.webhook_listen == "127.0.0.1"
    assert s.webhook_path == "telegram/hook"
    assert s.data_dir == Path("data") and s.knowledge_dir == Path("knowledge")
    assert settings_from({}).base_url == "https://api.telegram.org/bot"


def test_settings_report_every_problem_without_the_token() -> None:
    bad_token = "123:not-a-token"
    with pytest.raises(ConfigError) as info:
        settings_from({"TELEGRAM_BOT_TOKEN": bad_token, "ADMIN_IDS": "12,abc", "WEBHOOK_PORT": "99999"})
    message = str(info.value)
    assert "ADMIN_IDS" in message and "'abc'" in message and "WEBHOOK_PORT" in message
    assert bad_token not in message
    assert TOKEN not in repr(settings_from({"TELEGRAM_BOT_TOKEN": TOKEN}))


def test_missing_token_and_webhook_url_are_explained() -> None:
    settings = settings_from({})
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        settings.require_token()
    with pytest.raises(ConfigError, match="WEBHOOK_URL is not set"):
        settings.require_webhook()


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ORGANISER_IDS=7\nSUMMIT_BOT_DATA_DIR=/from/dotenv\n", encoding="utf-8")
    monkeypatch.setenv("SUMMIT_BOT_DATA_DIR", str(tmp_path / "env"))
    settings = load_settings(env_file)
    assert settings.organiser_ids == {7}
    assert settings.data_dir == tmp_path / "env"


# -- interface texts --------------------------------------------------------------------------------


def test_texts_escape_values_and_agree_across_languages() -> None:
    texts = Translator.load()
    for lang in LANGS:
        welcome = texts(lang, "welcome", name="<script>&")
        assert "&lt;script&gt;&amp;" in welcome and "<script>" not in welcome
    assert texts("zh", "language_name") == "中文"
    with pytest.raises(ValueError, match="keys differ"):
        Translator({"en": {"a": "x", "b": "y"}, "zh": {"a": "x"}, "th": {"a": "x", "b": "y"}})
    with pytest.raises(ValueError, match="placeholders"):
        Translator({"en": {"a": "{n}"}, "zh": {"a": "{m}"}, "th": {"a": "{n}"}})


@pytest.mark.parametrize(
    ("code", "lang"),
    [("th", "th"), ("zh-hans", "zh"), ("zh_TW", "zh"), ("en-GB", "en"), ("ru", "en"), (None, "en")],
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert language_from_code(code) == lang


# -- splitting --------------------------------------------------------------------------------------


def _balanced(part: str) -> bool:
    stack = []
    for closing, name in re.findall(r"<(/?)(\w+)[^>]*>", part):
        if closing:
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def test_split_keeps_short_messages_whole() -> None:
    assert split_html("<b>hi</b> &amp; bye") == ["<b>hi</b> &amp; bye"]


def test_split_prefers_paragraphs_and_never_breaks_tags_or_entities() -> None:
    paragraphs = [f"<b>Part {i}</b>\n" + html.escape("Tom & Jerry <3 " * 40).strip() for i in range(30)]
    text = "\n\n".join(paragraphs)
    parts = split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= 4096
        assert _balanced(part)
        assert not re.search(r"&[a-z]*$", part) and not re.search(r"<[^>]*$", part)
        assert part.startswith("<b>Part ")  # every part starts at a paragraph
    assert "\n\n".join(parts) == text


def test_split_reopens_a_tag_cut_in_the_middle_and_counts_utf16() -> None:
    text = "<i>" + "🙂" * 5000 + "</i>"  # each emoji is two UTF-16 units
    parts = split_html(text)
    assert len(parts) >= 3
    assert all(p.startswith("<i>") and p.endswith("</i>") and utf16_len(p) <= 4096 for p in parts)
    assert "".join(p.removeprefix("<i>").removesuffix("</i>") for p in parts) == "🙂" * 5000


# -- catalogue --------------------------------------------------------------------------------------


def test_catalogue_days_sessions_and_cards() -> None:
    catalogue = Catalogue(load_knowledge(FIXTURE))
    days = catalogue.days("en")
    assert [d.key for d in days] == ["2023-11-08", "2023-11-09"]
    assert days[0].label == "Wednesday 8 November"
    sessions = catalogue.sessions("2023-11-08", "zh")
    assert [s.key for s in sessions] == ["opening-ceremony", "ai-forum"]
    assert sessions[0].label == "09:30 开幕式" and sessions[1].label == "人工智能论坛"
    assert catalogue.sessions("2023-11-10", "en") is None and catalogue.sessions("junk", "en") is None
    assert "time not published" in catalogue.entry("ai-forum", "en")
    assert catalogue.session_day("ai-forum") == "2023-11-08" and catalogue.session_day("expo-center") is None
    venue = catalogue.venue("expo-center", "th")
    assert venue is not None and (venue.latitude, venue.longitude) == (30.7419, 120.4873)
    assert catalogue.venue("xizha", "en").latitude is None
    assert len(catalogue.routes("en")) == 1 and "Tongxiang" in catalogue.routes("en")[0]


# -- services over the real engine and database -----------------------------------------------------


@pytest.fixture(scope="module")
def engine(fixture_engine: Engine) -> Engine:
    return fixture_engine


@pytest.fixture
async def db(tmp_path: Path):
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def test_questions_are_answered_in_their_language_and_stored(engine: Engine, db: Database) -> None:
    service = AnsweringService(engine, db)
    try:
        questions = [
            "When is the summit?",
            "峰会什么时候举行？",
            "การประชุมจัดขึ้นเมื่อไร",
            "What is the capital of France?",
        ]
        replies = await asyncio.gather(*(service.answer(5, 5, q, "en") for q in questions))
    finally:
        await service.close()
    assert [r.answer.language for r in replies] == ["en", "zh", "th", "en"]
    assert [r.answer.answered for r in replies] == [True, True, True, False]
    assert "8 to 10 November" in replies[0].answer.text and "11月8日" in replies[1].answer.text
    assert replies[3].answer.suggestions
    assert len({r.question_id for r in replies}) == 4
    stored = await db.questions.get_question(replies[1].question_id)
    assert stored is not None and stored.language == "zh" and stored.answered


async def test_many_concurrent_questions_keep_their_own_answers(engine: Engine, db: Database) -> None:
    service = AnsweringService(engine, db, workers=1, max_batch=8)
    questions = ["When is the summit?", "Is there wifi at the venue?", "峰会什么时候举行？"] * 10
    try:
        replies = await asyncio.gather(*(service.answer(i, i, q, "th") for i, q in enumerate(questions)))
    finally:
        await service.close()
    expected = {
        "When is the summit?": "faq-dates",
        "Is there wifi at the venue?": "faq-wifi",
        "峰会什么时候举行？": "faq-dates",
    }
    assert [r.answer.sources for r in replies] == [[expected[q]] for q in questions]
    assert [r.answer.question for r in replies] == questions


async def test_users_language_blocking_and_feedback(engine: Engine, db: Database) -> None:
    users = UserService(db)
    assert await users.seen(1, "zh-hans") == "zh"
    await users.set_language(1, "th")
    assert await users.seen(1, "zh-hans") == "th"
    assert await UserService(db).language(1) == "th"  # from the database, not the memory of the first
    await users.mark_blocked(1)
    assert (await db.users.get_user(1)).blocked
    await users.seen(1, "th")
    assert not (await db.users.get_user(1)).blocked

    service = AnsweringService(engine, db)
    try:
        reply = await service.answer(1, 1, "When is the summit?", "th")
    finally:
        await service.close()
    feedback = FeedbackService(db)
    assert await feedback.rate(reply.question_id, 1, helpful=True)
    assert not await feedback.rate(reply.question_id + 1000, 1, helpful=False)
