"""What the Mini App's tests and benchmark share: the agenda test knowledge with speakers and topics, signed
``initData`` as Telegram makes it, and the page's address on a running bot."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from bot.webapp.initdata import sign

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium (another one with CHROMIUM=...); never a browser downloaded by Playwright."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Headless, and without the background connections a closed network refuses."""

AGENDA = Path(__file__).parent / "fixtures" / "agenda" / "summit.yaml"
PUBLIC_URL = "https://bot.example.org/summit"
"""PUBLIC_URL of the bots under test: the page is at ``/summit/app/`` on the bot's web server."""

SPEAKERS: dict[str, dict[str, Any]] = {
    "opening-ceremony": {
        "speakers": [
            {
                "name": {"en": "Li Junhua", "zh": "李军华", "th": "หลี่ จวินหัว"},
                "role": {
                    "en": "UN Under-Secretary-General",
                    "zh": "联合国副秘书长",
                    "th": "รองเลขาธิการสหประชาชาติ",
                },
            }
        ],
        "tags": ["ceremony", "opening", "keynote"],
    },
    "ai-forum": {
        "speakers": [
            {
                "name": {"en": "Zhang Wei", "zh": "张伟", "th": "จาง เว่ย"},
                "role": {"en": "AI researcher", "zh": "人工智能研究员", "th": "นักวิจัยปัญญาประดิษฐ์"},
            }
        ],
        "tags": ["forum", "ai"],
    },
    "data-forum": {"tags": ["forum", "data"]},
    "youth-forum": {
        "speakers": [
            {
                "name": {"en": "Somchai Prasert", "zh": "颂猜·巴实", "th": "สมชาย ประเสริฐ"},
                "role": {"en": "Youth delegate", "zh": "青年代表", "th": "ผู้แทนเยาวชน"},
            }
        ],
        "tags": ["forum", "youth"],
    },
    "closing-ceremony": {"tags": ["ceremony", "closing"]},
}

LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "accent_text_color": "#6ab2f2",
}


def write_knowledge(directory: Path) -> Path:
    """The agenda test knowledge with speakers (names in the three languages) and topics on its sessions."""
    raw = yaml.safe_load(AGENDA.read_text(encoding="utf-8"))
    raw["sessions"] = [{**s, **SPEAKERS.get(s["id"], {})} for s in raw["sessions"]]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "summit.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return directory


def init_data(token: str, user_id: int, language_code: str = "en", age: float = 0.0) -> str:
    """``initData`` signed with ``token`` for the user, made ``age`` seconds ago."""
    user = {"id": user_id, "first_name": f"Tester {user_id}", "language_code": language_code}
    return sign(token, user, auth_date=int(time.time() - age), query_id=f"AAH{user_id}")


def page_url(port: int, data: str, theme: dict[str, str] = LIGHT) -> str:
    """The page as Telegram opens it: launch parameters in the fragment."""
    fragment = "&".join(
        f"{key}={quote(value, safe='')}"
        for key, value in (
            ("tgWebAppData", data),
            ("tgWebAppVersion", "8.0"),
            ("tgWebAppPlatform", "tdesktop"),
            ("tgWebAppThemeParams", json.dumps(theme)),
        )
    )
    return f"http://127.0.0.1:{port}/summit/app/#{fragment}"
