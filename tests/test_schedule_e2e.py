"""End to end: an admin uploads a programme spreadsheet in the chat; it goes through the same preview,
Apply and Cancel as a knowledge file, and attendees get the new sessions with day, time and zone."""

from __future__ import annotations

from bot_harness import buttons
from test_admin_e2e import ADMIN, ATTENDEE, Admin, admin, built  # noqa: F401  (fixtures)

from bot.storage.knowledge_versions import VersionStore

PROGRAMME = (
    "id,day,start,end,room,title_en,title_zh,title_th,speakers,track\n"
    "quantum-lunch,2023-11-09,12:15,13:45,Lotus Hall,Quantum Networking Lunch Talk,量子网络午餐会,"
    "เสวนาเครือข่ายควอนตัมมื้อกลางวัน,Ada Lovelace; Alan Turing,Science\n"
)


async def test_a_bad_spreadsheet_is_refused_with_its_row_and_column(admin: Admin) -> None:  # noqa: F811
    bad = PROGRAMME + "late-talk,2023-11-09,25:10,26:00,Lotus Hall,Late Talk,,,,\n"
    reply = await admin.upload(ADMIN, "programme.csv", bad)
    text = reply.params["text"]
    assert "Nothing changed" in text and buttons(reply) == []
    assert "row 3, column C (start)" in text and "25:10" in text
    assert VersionStore(admin.data_dir).history() == []


async def test_a_programme_upload_is_previewed_applied_and_answered(admin: Admin) -> None:  # noqa: F811
    preview = await admin.upload(ADMIN, "programme.csv", PROGRAMME)
    text = preview.params["text"]
    assert [label for label, _ in buttons(preview)] == ["Apply", "Cancel"]
    assert "1 sessions, 1 new rooms" in text and "Asia/Shanghai" in text
    assert "quantum-lunch" in text and "Lotus Hall" in text
    await admin.press(ADMIN, buttons(preview)[0][1], contains="is live")
    answer = (await admin.say(ATTENDEE, "When and where is the Quantum Networking Lunch Talk?")).params[
        "text"
    ]
    assert "9 November 2023" in answer and "12:15–13:45 (UTC+8)" in answer and "Lotus Hall" in answer
    again = await admin.upload(ADMIN, "programme.csv", PROGRAMME)
    assert "changes nothing" in again.params["text"]
