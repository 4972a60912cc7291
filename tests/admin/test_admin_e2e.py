"""End to end: admins change the knowledge from the chat, staff see what attendees missed.

The real application and engine over HTTP against the Bot API fake (documents, getFile, sendPhoto).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bot_harness import BotDriver, buttons, running_bot, settings_for
from botapi_fake import Call, FakeBotApi
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import Settings
from bot.services.knowledge import NotApplied
from bot.storage.knowledge_versions import VersionStore
from bot.telegram.app import load_served_engine
from bot.telegram.callbacks import KnowledgeRollback
from index.engine import Engine

FIXTURE = Path(__file__).parents[1] / "fixtures" / "knowledge"
ORIGINAL = (FIXTURE / "summit.yaml").read_text(encoding="utf-8")
UPDATED = ORIGINAL.replace("About 1,500 guests", "About 2,000 guests").replace("约1500名", "约2000名")
ADMIN, OTHER_ADMIN, ORGANISER, ATTENDEE = 42, 43, 44, 7
QUESTION = "How many participants attended?"


@pytest.fixture(scope="module")
def built(fixture_index: tuple[Engine, Path]) -> tuple[Engine, Path]:
    """The fixture's engine and the data directory holding its index and embedding cache."""
    return fixture_index


@dataclass
class Admin(BotDriver):
    """The bot and its data directory; replies are awaited longer: rebuilding the index takes a while."""

    data_dir: Path = dataclasses.field(kw_only=True)
    timeout: float = 60.0


def admin_settings(fake: FakeBotApi, data_dir: Path) -> Settings:
    return settings_for(
        fake,
        data_dir,
        ADMIN_IDS=f"{ADMIN},{OTHER_ADMIN}",
        ORGANISER_IDS=str(ORGANISER),
        KNOWLEDGE_DIR=str(FIXTURE),
        QUESTION_RATE_LIMIT="10000",
    )


def fresh_data_dir(built: tuple[Engine, Path], tmp_path: Path) -> Path:
    """A data directory with the module's embedding cache, so a rebuild embeds only what changed."""
    data = tmp_path / "data"
    shutil.copytree(built[1] / "cache", data / "cache")
    return data


@pytest.fixture
async def admin(built: tuple[Engine, Path], tmp_path: Path) -> AsyncIterator[Admin]:
    data = fresh_data_dir(built, tmp_path)
    async with FakeBotApi() as fake:
        settings = admin_settings(fake, data)
        async with running_bot(settings, built[0]) as app:
            yield Admin(fake, app, data_dir=settings.data_dir)


async def apply_upload(admin: Admin, text: str, user_id: int = ADMIN) -> Call:
    preview = await admin.upload(user_id, "summit.yaml", text)
    assert [label for label, _ in buttons(preview)] == ["Apply", "Cancel"]
    return await admin.press(user_id, buttons(preview)[0][1], contains="is live")


async def test_bad_file_changes_nothing_and_every_problem_is_located(admin: Admin) -> None:
    bad = (
        ORIGINAL.replace("date: 2023-11-09", "date: 2023-11-31")
        .replace("lat: 30.7419", "lat: 130.7419")
        .replace('start: "09:30"', 'start: "9h30"')
    )
    engine = admin.services.holder.current
    reply = await admin.upload(ADMIN, "summit.yaml", bad)
    text = reply.params["text"]
    assert "Nothing changed" in text and buttons(reply) == []
    lines = [line for line in text.splitlines() if line.startswith("•")]
    assert len(lines) == 3
    expected = [
        ("entry 'opening-ceremony'", "field 'start'"),
        ("entry 'light-of-internet-expo'", "field 'date'"),
        ("entry 'expo-center'", "field 'coordinates.lat'"),
    ]
    for entry, field in expected:
        line = next((line for line in lines if entry in line), str(lines))
        assert field in line and "summit.yaml:" in line
    bad_lines = {n + 1 for n, line in enumerate(bad.splitlines()) if "9h30" in line or "11-31" in line}
    assert {int(line.split("summit.yaml:")[1].split(",")[0]) for line in lines} >= bad_lines

    broken_yaml = await admin.upload(ADMIN, "summit.yaml", ORIGINAL + "\nfaq: [unclosed\n")
    assert "not valid YAML" in broken_yaml.params["text"] and "summit.yaml:" in broken_yaml.params["text"]
    refused = await admin.upload(ADMIN, "notes.txt", "hello")
    assert "YAML" in refused.params["text"]
    limit = admin.services.knowledge.max_upload_bytes
    too_large = await admin.upload(ADMIN, "summit.yaml", ORIGINAL + "#" * limit)
    assert f"larger than {limit // 1000} kB" in too_large.params["text"]

    assert admin.services.holder.current is engine
    assert VersionStore(admin.data_dir).history() == []
    assert "1,500" in (await admin.say(ATTENDEE, QUESTION)).params["text"]


async def test_good_file_changes_the_answer_and_rollback_restores_it(admin: Admin) -> None:
    assert "1,500" in (await admin.say(ATTENDEE, QUESTION)).params["text"]
    files = await admin.say(ADMIN, "/knowledge")
    assert "2 files" not in files.params["text"]
    await admin.fake.wait_for(lambda c: c.method == "sendDocument" and c.ok)
    assert [(name, data) for _, _, name, data in admin.fake.sent_files] == [
        ("summit.yaml", ORIGINAL.encode())
    ]

    preview = await admin.upload(ADMIN, "summit.yaml", UPDATED)
    assert "participants" in preview.params["text"] and "Changed" in preview.params["text"]
    live = await admin.press(ADMIN, buttons(preview)[0][1], contains="is live")
    assert "v2" in live.params["text"]
    assert "2,000" in (await admin.say(ATTENDEE, QUESTION)).params["text"]
    assert "2000" in (await admin.say(ATTENDEE, "参会人数是多少？")).params["text"]

    store = VersionStore(admin.data_dir)
    current = store.current()
    assert current.id == "v2" and current.applied_by == ADMIN and current.parent == "v1"
    assert store.get("v1").source == "shipped"

    confirm = await admin.say(ADMIN, "/rollback")
    assert "v1" in confirm.params["text"] and "participants" in confirm.params["text"]
    assert buttons(confirm)[0][0] == "Roll back to v1"
    back = await admin.press(ADMIN, buttons(confirm)[0][1], contains="live again")
    assert "v1" in back.params["text"]
    assert "1,500" in (await admin.say(ATTENDEE, QUESTION)).params["text"]
    assert store.current_id() == "v1"
    nothing = await admin.say(ADMIN, "/rollback")
    assert "no earlier version" in nothing.params["text"]


async def test_answers_keep_flowing_during_a_rebuild(admin: Admin) -> None:
    # A bigger change (new entries to embed) so the rebuild takes a while.
    extra = "\n".join(
        f"  - id: extra-fact-{i}\n"
        f"    title: {{en: Extra fact {i}, zh: 附加事实{i}, th: ข้อเท็จจริงเพิ่มเติม {i}}}\n"
        f"    text: {{en: Shuttle {i} leaves from gate {i} every {i + 5} minutes., "
        f"zh: {i}号班车每{i + 5}分钟从{i}号门发车。, th: รถรับส่งสาย {i} ออกจากประตู {i} ทุก {i + 5} นาที}}"
        for i in range(120)
    )
    bigger = UPDATED.replace("sessions:\n", extra + "\nsessions:\n", 1)
    preview = await admin.upload(ADMIN, "summit.yaml", bigger)
    apply_data = buttons(preview)[0][1]

    asked: list[tuple[int, int]] = []
    stop = asyncio.Event()

    async def keep_asking() -> None:
        user = 1000
        while not stop.is_set():
            user += 1
            asked.append((user, admin.fake.user_message(user, QUESTION)))
            await asyncio.sleep(0.02)

    asker = asyncio.create_task(keep_asking())
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await admin.press(ADMIN, apply_data, contains="is live")
    rebuild = time.monotonic() - started
    await asyncio.sleep(0.1)
    stop.set()
    await asker

    replies = [await admin.after(update_id, user) for user, update_id in asked]
    texts = [r.params["text"] for r in replies]
    assert rebuild > 0.2 and len(asked) >= 10
    assert all("1,500" in t or "2,000" in t for t in texts), [t[:60] for t in texts]
    # Old answers until the swap, new ones after it: never back and forth.
    new = ["2,000" in t for t in texts]
    assert new == sorted(new) and new[0] is False and new[-1] is True
    assert sum(1 for r in replies if r.at < started + rebuild) > 5


async def test_applied_version_survives_a_restart(built: tuple[Engine, Path], tmp_path: Path) -> None:
    data = fresh_data_dir(built, tmp_path)
    async with FakeBotApi() as fake:
        settings = admin_settings(fake, data)
        async with running_bot(settings, built[0]) as app:
            await apply_upload(Admin(fake, app, data_dir=settings.data_dir), UPDATED)
        served = load_served_engine(settings)
        async with running_bot(settings, served) as app:
            bot = Admin(fake, app, data_dir=settings.data_dir)
            assert "2,000" in (await bot.say(ATTENDEE, QUESTION)).params["text"]
            assert bot.services.knowledge.current_version.id == "v2"
            confirm = await bot.say(ADMIN, "/rollback")
            assert "v1" in confirm.params["text"]


async def test_the_command_line_answers_from_the_version_applied_in_the_running_bot(
    built: tuple[Engine, Path], tmp_path: Path
) -> None:
    data = fresh_data_dir(built, tmp_path)
    env = {"SUMMIT_BOT_DATA_DIR": str(data), "KNOWLEDGE_DIR": str(FIXTURE)}

    def ask_cli() -> dict:
        result = CliRunner().invoke(cli, ["ask", "--json", QUESTION], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])

    before = ask_cli()
    assert "1,500" in before["answer"] and "2,000" not in before["answer"]
    async with FakeBotApi() as fake:
        settings = admin_settings(fake, data)
        async with running_bot(settings, built[0]) as app:
            await apply_upload(Admin(fake, app, data_dir=settings.data_dir), UPDATED)
            # While the bot runs, from the same data directory, in the way an operator would.
            during = await asyncio.to_thread(ask_cli)
    assert "2,000" in during["answer"] and "1,500" not in during["answer"]
    assert during["answered"] is True and during["outcome"] == "answer"


async def test_non_admins_change_nothing(admin: Admin) -> None:
    hint = await admin.upload(ATTENDEE, "summit.yaml", UPDATED)
    assert "only read text" in hint.params["text"]
    assert "admins" in (await admin.say(ATTENDEE, "/reload")).params["text"]
    assert "admins" in (await admin.say(ORGANISER, "/knowledge")).params["text"]

    preview = await admin.upload(ADMIN, "summit.yaml", UPDATED)
    apply_data = buttons(preview)[0][1]
    ack = await admin.ack(ATTENDEE, apply_data, 1)
    assert "admins" in ack.params["text"]
    await asyncio.sleep(0.2)
    assert "1,500" in (await admin.say(ATTENDEE, QUESTION)).params["text"]
    assert VersionStore(admin.data_dir).history() == []


async def test_cancel_and_a_second_apply_are_refused(admin: Admin) -> None:
    first = await admin.upload(ADMIN, "summit.yaml", UPDATED)
    second = await admin.upload(OTHER_ADMIN, "summit.yaml", UPDATED.replace("2,000", "3,000"))
    cancelled = await admin.press(ADMIN, buttons(first)[1][1], contains="Cancelled")
    assert "nothing changed" in cancelled.params["text"]
    third = await admin.upload(ADMIN, "summit.yaml", UPDATED)
    await admin.press(ADMIN, buttons(third)[0][1], contains="is live")
    # The other admin's preview was made against the knowledge before this change.
    stale = await admin.press(OTHER_ADMIN, buttons(second)[0][1], contains="changed since")
    assert "not applied" in stale.params["text"] or "nothing was done" in stale.params["text"]
    assert "2,000" in (await admin.say(ATTENDEE, QUESTION)).params["text"]


async def test_reload_picks_up_files_edited_on_the_server(built: tuple[Engine, Path], tmp_path: Path) -> None:
    data = fresh_data_dir(built, tmp_path)
    served = tmp_path / "knowledge"
    shutil.copytree(FIXTURE, served)
    async with FakeBotApi() as fake:
        settings = settings_for(fake, data, ADMIN_IDS=str(ADMIN), KNOWLEDGE_DIR=str(served))
        async with running_bot(settings, built[0]) as app:
            bot = Admin(fake, app, data_dir=settings.data_dir)
            assert "changes nothing" in (await bot.say(ADMIN, "/reload")).params["text"]
            (served / "summit.yaml").write_text(UPDATED, encoding="utf-8")
            # The operator builds the index on the server first: Apply then embeds nothing.
            built_index = CliRunner().invoke(
                cli, ["index", "build", "--knowledge", str(served), "--data-dir", str(data)]
            )
            assert built_index.exit_code == 0, built_index.output
            preview = await bot.say(ADMIN, "/reload")
            assert "files on the server" in preview.params["text"]
            live = await bot.press(ADMIN, buttons(preview)[0][1], contains="is live")
            assert "(0 passages embedded" in live.params["text"]
            assert "2,000" in (await bot.say(ATTENDEE, QUESTION)).params["text"]


async def test_staff_see_grouped_unanswered_questions_feedback_and_a_chart(admin: Admin) -> None:
    db = admin.services.db
    missed = [
        ("Is there WiFi at the venue?", "en"),
        ("is there wifi in the venue", "en"),
        ("会场有WiFi吗？", "zh"),
        ("Where can I park my car?", "en"),
        ("哪里可以停车？", "zh"),
        ("Can I bring my dog?", "en"),
    ]
    for text, lang in missed:
        await db.questions.record_question(
            user_id=ATTENDEE,
            chat_id=ATTENDEE,
            text=text,
            language=lang,
            outcome="decline",
            score=0.1,
            sources=[],
        )
    report = (await admin.say(ORGANISER, "/unanswered")).params["text"]
    lines = report.splitlines()
    assert "6 questions in 3 groups" in lines[0]
    assert lines[1].startswith("1. ×3 (en 2, zh 1)") and "wifi" in lines[1].lower()
    assert lines[2].startswith("2. ×2 (en 1, zh 1)")
    assert lines[3].startswith("3. ×1 (en 1)") and "dog" in lines[3]

    answer = await admin.say(ATTENDEE, QUESTION)
    down = next(data for label, data in buttons(answer) if label == "👎")
    admin.fake.callback(ATTENDEE, down, message_id=admin.fake.bot_messages(ATTENDEE)[-1]["message_id"])
    await admin.fake.wait_for(lambda c: c.method == "answerCallbackQuery" and c.ok)
    feedback = (await admin.say(ADMIN, "/feedback")).params["text"]
    assert QUESTION in feedback and "👎 1" in feedback and "Number of participants" in feedback

    stats = (await admin.say(ORGANISER, "/stats")).params["text"]
    assert "Questions: 7, answered: 1 (14%)" in stats
    photo = await admin.fake.wait_for(lambda c: c.method == "sendPhoto" and c.ok)
    assert photo.chat_id == ORGANISER
    method, chat_id, _, png = admin.fake.sent_files[-1]
    assert (
        chat_id == ORGANISER
        and method == "sendPhoto"
        and png.startswith(b"\x89PNG\r\n\x1a\n")
        and len(png) > 5000
    )

    assert "organisers" in (await admin.say(ATTENDEE, "/stats")).params["text"]
    assert "organisers" in (await admin.say(ATTENDEE, "/unanswered")).params["text"]


# --- Mass removal and the rollback confirmation ---------------------------------------------------------

WITHOUT_FAQ = ORIGINAL[: ORIGINAL.index("\nfaq:")] + "\n"
"""The fixture without its three FAQ entries: 3 of 11 entries removed (27%, over the 20% share)."""


async def test_an_upload_removing_many_entries_needs_a_second_confirmation(admin: Admin) -> None:
    engine = admin.services.holder.current
    preview = await admin.upload(ADMIN, "summit.yaml", WITHOUT_FAQ)
    text = preview.params["text"]
    assert text.startswith("<b>⚠️ This removes 3 of the 11 entries now served (27%).</b>")
    assert "Removed</b> (3)" in text
    apply_data = buttons(preview)[0][1]

    confirm = await admin.press(ADMIN, apply_data, contains="Really remove")
    assert "<b>Really remove 3 of 11 entries (27%)?</b>" in confirm.params["text"]
    assert [label for label, _ in buttons(confirm)] == ["Yes, remove 3 entries", "Cancel"]
    # Nothing changed yet, and the service refuses the change without the second confirmation.
    assert admin.services.holder.current is engine and VersionStore(admin.data_dir).history() == []
    proposal_id = int(apply_data.split(":")[1])
    with pytest.raises(NotApplied) as refused:
        await admin.services.knowledge.apply(proposal_id, ADMIN)
    assert refused.value.reason == "confirm"
    again = await admin.press(ADMIN, apply_data, contains="Really remove")  # the first button asks again
    assert buttons(again) == buttons(confirm)

    await admin.press(ADMIN, buttons(confirm)[0][1], contains="is live")
    assert len(admin.services.holder.current.kb.by_id) == 8
    assert VersionStore(admin.data_dir).current_id() == "v2"


async def test_a_small_removal_is_applied_with_one_confirmation(admin: Admin) -> None:
    one_less = ORIGINAL[: ORIGINAL.index("\n  - id: faq-bring")] + "\n"
    preview = await admin.upload(ADMIN, "summit.yaml", one_less)
    assert "⚠️" not in preview.params["text"] and "Removed</b> (1)" in preview.params["text"]
    await admin.press(ADMIN, buttons(preview)[0][1], contains="is live")


async def test_the_rollback_confirmation_is_bound_to_its_admin_and_version(admin: Admin) -> None:
    await apply_upload(admin, UPDATED)
    confirm = await admin.say(ADMIN, "/rollback")
    roll_back = buttons(confirm)[0][1]
    store = VersionStore(admin.data_dir)

    # Another admin pressing it (or sending its data) changes nothing.
    await admin.say(OTHER_ADMIN, "When is the summit?")
    other = await admin.ack(OTHER_ADMIN, roll_back)
    assert "belongs to the admin who asked" in other.params["text"] and other.params.get("show_alert")
    # Forged data: an offer never made, the offer with another target, the old form without an offer.
    offer = roll_back.split(":")[3]
    for pressed_by, forged in (
        (OTHER_ADMIN, KnowledgeRollback("v1", True, "AAAAAAAA").encode()),
        (ADMIN, KnowledgeRollback("v1", True, "AAAAAAAA").encode()),
        (ADMIN, KnowledgeRollback("v2", True, offer).encode()),
        (ADMIN, "krb:v1:1"),
    ):
        update_id = admin.tap(pressed_by, forged, 1)
        await admin.answer_to(update_id, pressed_by)
    await admin.message_to(ADMIN, "nothing was done")  # the offer's own admin, with another target
    assert not await admin.quiet(ADMIN, 0.5)
    assert store.current_id() == "v2"
    assert "2,000" in (await admin.say(ATTENDEE, QUESTION)).params["text"]

    # The version shown: once another change went live, the confirmation no longer applies.
    await apply_upload(admin, UPDATED.replace("2,000", "2,500"))
    assert store.current_id() == "v3"
    stale = await admin.press(ADMIN, roll_back, contains="nothing was done")
    assert "changed since" in stale.params["text"] and store.current_id() == "v3"

    confirm = await admin.say(ADMIN, "/rollback")
    back = await admin.press(ADMIN, buttons(confirm)[0][1], contains="live again")
    assert "v2" in back.params["text"] and store.current_id() == "v2"
    assert "2,000" in (await admin.say(ATTENDEE, QUESTION)).params["text"]
