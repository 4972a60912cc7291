"""Bot settings, read from the environment and an optional ``.env`` file.

Variables already set in the environment win over the ``.env`` file. Every problem is reported at once
in a :class:`ConfigError` whose message is meant to be shown to whoever starts the bot. The bot token
is never part of ``repr(settings)`` nor of any message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

TELEGRAM_API_ROOT = "https://api.telegram.org"
_PACKAGED_KNOWLEDGE = Path(__file__).resolve().parent / "bundled_knowledge"
"""Where an installed package keeps the shipped knowledge (the wheel copies ``knowledge/`` there)."""
BUNDLED_KNOWLEDGE = (
    _PACKAGED_KNOWLEDGE if _PACKAGED_KNOWLEDGE.is_dir() else Path(__file__).resolve().parents[1] / "knowledge"
)
"""The knowledge shipped with the code: package data when installed, ``knowledge/`` in a checkout."""
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_METRICS_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """One or more settings are missing or invalid; the message lists them all."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot needs to start. See the README for each variable."""

    token: str | None = field(default=None, repr=False)
    """TELEGRAM_BOT_TOKEN: needed to run the bot, not to build the index or chat in a terminal."""
    api_root: str = TELEGRAM_API_ROOT
    """TELEGRAM_API_BASE_URL: the Bot API server root, e.g. ``http://127.0.0.1:8081`` for a local one
    (a trailing ``/bot`` is accepted and dropped)."""
    admin_ids: frozenset[int] = frozenset()
    organiser_ids: frozenset[int] = frozenset()
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    embedding_model: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8080
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    metrics_listen: str = "127.0.0.1"
    metrics_port: int | None = None
    """METRICS_PORT: serve ``/healthz`` and ``/metrics`` on their own listener, METRICS_LISTEN:METRICS_PORT
    (see :mod:`bot.telegram.webserver`)."""
    metrics_token: str | None = field(default=None, repr=False)
    """METRICS_TOKEN: ``/healthz`` and ``/metrics`` ask for ``Authorization: Bearer <token>``; in webhook
    mode they are then also served beside the webhook."""
    rate_limit_per_second: float = 25.0
    """TELEGRAM_RATE_LIMIT: messages per second over all chats (0 turns the limiter's overall cap off)."""
    chat_rate_per_second: float = 1.0
    """TELEGRAM_CHAT_RATE: messages per second to one private chat, sustained (Telegram allows about one;
    a local Bot API, as in the tests, takes more)."""
    log_level: str = "INFO"
    """LOG_LEVEL: one of :data:`LOG_LEVELS`."""
    question_rate_limit: int = 10
    question_rate_window: float = 30.0
    """QUESTION_RATE_LIMIT questions per QUESTION_RATE_WINDOW seconds per user; more wait their turn."""
    question_backlog: int = 20
    """QUESTION_BACKLOG: questions one user may have waiting for the rate; more are refused with a notice."""
    question_retention_days: int = 90
    """QUESTION_RETENTION_DAYS: questions older than this are deleted by the daily purge."""
    startup_retry_seconds: float = 60.0
    """STARTUP_RETRY_SECONDS: how long to keep trying an unreachable Bot API at start-up."""
    shutdown_grace_seconds: float = 10.0
    """SHUTDOWN_GRACE_SECONDS: how long the updates being handled (a question waiting for its user's rate
    among them) get to finish when the bot stops; the rest are handled at the next start."""
    schedule_url: str | None = None
    """SCHEDULE_URL: a programme (schedule.json, schedule.xml, CSV, XLSX) polled for changes."""
    schedule_poll_seconds: float = 300.0
    """SCHEDULE_POLL_SECONDS: how often SCHEDULE_URL is polled."""
    schedule_auto_apply: bool = False
    """SCHEDULE_AUTO_APPLY: apply a changed programme at once instead of asking the admins."""
    public_url: str | None = None
    """PUBLIC_URL: the HTTPS address at which the bot's web server is reached from outside (behind the
    same reverse proxy as the webhook); when set, the programme Mini App is served at ``/app/`` below it and
    personal calendar feeds at ``/calendar/``."""
    webapp_max_age: float = 86_400.0
    """WEBAPP_MAX_AGE: seconds after which a Mini App's signed ``initData`` is no longer accepted."""
    webapp_rate_limit: int = 60
    """WEBAPP_RATE_LIMIT: Mini App API calls one user may make per QUESTION_RATE_WINDOW seconds."""

    @property
    def base_url(self) -> str:
        """The Bot API method URL prefix in python-telegram-bot's format."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_root}/file/bot"

    @property
    def staff_ids(self) -> frozenset[int]:
        """Admins and organisers: the people who may see usage figures."""
        return self.admin_ids | self.organiser_ids

    @property
    def database_path(self) -> Path:
        return self.data_dir / "bot.sqlite3"

    @property
    def webhook_path(self) -> str:
        """The local path the webhook server listens on: the path part of WEBHOOK_URL."""
        return urlsplit(self.webhook_url or "").path.strip("/")

    @property
    def webapp_url(self) -> str | None:
        """The Mini App's public address (``PUBLIC_URL`` + ``/app/``), or None when it is off."""
        return f"{self.public_url.rstrip('/')}/app/" if self.public_url else None

    @property
    def public_path(self) -> str:
        """The local path prefix of what is served to the public: the path of PUBLIC_URL ('' at the root)."""
        return urlsplit(self.public_url or "").path.rstrip("/")

    @property
    def webapp_path(self) -> str:
        """The local path prefix the Mini App is served under: the path of PUBLIC_URL, then ``/app``."""
        return self.public_path + "/app"

    @classmethod
    def from_env(cls, *, require_token: bool = False, env_file: Path | None = Path(".env")) -> Settings:
        """Settings from the process environment and ``env_file``; see :func:`load_settings`."""
        settings = load_settings(env_file)
        if require_token:
            settings.require_token()
        return settings

    def require_token(self) -> str:
        """The bot token, or a :class:`ConfigError` explaining how to provide it."""
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set. Ask @BotFather for a token and put it in the environment "
                "or in a .env file as TELEGRAM_BOT_TOKEN=<token>."
            )
        return self.token

    def require_webhook(self) -> str:
        """The public webhook URL, or a :class:`ConfigError` when webhook mode cannot start."""
        if not self.webhook_url:
            raise ConfigError(
                "WEBHOOK_URL is not set. Webhook mode needs the public HTTPS address Telegram will "
                "post updates to, e.g. WEBHOOK_URL=https://bot.example.org/telegram."
            )
        return self.webhook_url


def _ids(name: str, raw: str, problems: list[str]) -> frozenset[int]:
    ids: set[int] = set()
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if re.fullmatch(r"-?\d{1,20}", part):
            ids.add(int(part))
        else:
            problems.append(f"{name}: {part!r} is not a Telegram user id (use numbers separated by commas)")
    return frozenset(ids)


def _url(name: str, raw: str, problems: list[str]) -> str:
    parts = urlsplit(raw)
    allowed = {"http", "https"}
    if parts.scheme not in allowed or not parts.netloc:
        problems.append(f"{name}: {raw!r} is not an http:// or https:// URL")
    return raw.rstrip("/")


def _number(name: str, raw: str, problems: list[str], *, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        problems.append(f"{name}: {raw!r} is not a number between {low:g} and {high:g}")
        return low
    return value


def _whole(name: str, raw: str, problems: list[str], *, low: int, high: int) -> int:
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        problems.append(f"{name}: {raw!r} is not a whole number between {low} and {high}")
        return low
    return int(raw)


def _default_knowledge_dir() -> Path:
    """``./knowledge`` when the working directory has one, else the knowledge shipped with the code."""
    local = Path("knowledge")
    return local if local.is_dir() else BUNDLED_KNOWLEDGE


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping of variables; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = (env.get(name) or "").strip()
        return value or None

    token = get("TELEGRAM_BOT_TOKEN")
    if token is not None and not _TOKEN.match(token):
        problems.append("TELEGRAM_BOT_TOKEN does not look like a bot token (expected <digits>:<letters>)")
    api_root = _url("TELEGRAM_API_BASE_URL", get("TELEGRAM_API_BASE_URL") or TELEGRAM_API_ROOT, problems)
    api_root = api_root.removesuffix("/bot")
    admin_ids = _ids("ADMIN_IDS", get("ADMIN_IDS") or "", problems)
    organiser_ids = _ids("ORGANISER_IDS", get("ORGANISER_IDS") or "", problems)
    port_raw = get("WEBHOOK_PORT") or get("PORT") or "8080"
    port = int(port_raw) if port_raw.isdigit() and 0 < int(port_raw) < 65536 else 0
    if not port:
        problems.append(f"WEBHOOK_PORT (or PORT): {port_raw!r} is not a port number (1–65535)")
    metrics_port: int | None = None
    metrics_raw = get("METRICS_PORT")
    if metrics_raw is not None:
        if metrics_raw.isdigit() and 0 < int(metrics_raw) < 65536:
            metrics_port = int(metrics_raw)
        else:
            problems.append(f"METRICS_PORT: {metrics_raw!r} is not a port number (1–65535)")
    metrics_token = get("METRICS_TOKEN")
    if metrics_token is not None and not _METRICS_TOKEN.match(metrics_token):
        problems.append("METRICS_TOKEN: use 16–256 characters from A–Z, a–z, 0–9, '_', '-', '.' and '~'")
    webhook_url = get("WEBHOOK_URL")
    if webhook_url is not None:
        webhook_url = _url("WEBHOOK_URL", webhook_url, problems)
    secret = get("WEBHOOK_SECRET")
    if secret is not None and not _SECRET.match(secret):
        problems.append("WEBHOOK_SECRET: use 1–256 characters from A–Z, a–z, 0–9, '_' and '-'")
    rate = _number("TELEGRAM_RATE_LIMIT", get("TELEGRAM_RATE_LIMIT") or "25", problems, low=0, high=10_000)
    chat_rate = _number("TELEGRAM_CHAT_RATE", get("TELEGRAM_CHAT_RATE") or "1", problems, low=0.1, high=1000)
    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(
            f"LOG_LEVEL: {get('LOG_LEVEL')!r} is not a logging level (use one of {', '.join(LOG_LEVELS)})"
        )
        log_level = "INFO"
    question_limit = _whole(
        "QUESTION_RATE_LIMIT", get("QUESTION_RATE_LIMIT") or "10", problems, low=1, high=10_000
    )
    question_window = _number(
        "QUESTION_RATE_WINDOW", get("QUESTION_RATE_WINDOW") or "30", problems, low=1, high=86_400
    )
    backlog = _whole("QUESTION_BACKLOG", get("QUESTION_BACKLOG") or "20", problems, low=0, high=1_000)
    retention = _whole(
        "QUESTION_RETENTION_DAYS", get("QUESTION_RETENTION_DAYS") or "90", problems, low=1, high=36_500
    )
    startup_retry = _number(
        "STARTUP_RETRY_SECONDS", get("STARTUP_RETRY_SECONDS") or "60", problems, low=0, high=86_400
    )
    shutdown_grace = _number(
        "SHUTDOWN_GRACE_SECONDS", get("SHUTDOWN_GRACE_SECONDS") or "10", problems, low=0, high=3600
    )
    schedule_url = get("SCHEDULE_URL")
    if schedule_url is not None:
        schedule_url = _url("SCHEDULE_URL", schedule_url, problems)
    schedule_poll = _number(
        "SCHEDULE_POLL_SECONDS", get("SCHEDULE_POLL_SECONDS") or "300", problems, low=10, high=86_400
    )
    auto_raw = (get("SCHEDULE_AUTO_APPLY") or "no").lower()
    if auto_raw not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        problems.append(f"SCHEDULE_AUTO_APPLY: {auto_raw!r} is not yes or no")
    public_url = get("PUBLIC_URL")
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
            problems.append(
                f"PUBLIC_URL: {public_url!r} is not an https:// address without query "
                "(Telegram opens Mini Apps over HTTPS only)"
            )
        public_url = public_url.rstrip("/")
    webapp_max_age = _number(
        "WEBAPP_MAX_AGE", get("WEBAPP_MAX_AGE") or "86400", problems, low=10, high=30 * 86_400
    )
    webapp_rate = _whole("WEBAPP_RATE_LIMIT", get("WEBAPP_RATE_LIMIT") or "60", problems, low=1, high=100_000)
    if len(problems) == 1:
        raise ConfigError(f"Invalid setting {problems[0]}")
    if problems:
        raise ConfigError("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
    return Settings(
        token=token,
        api_root=api_root,
        admin_ids=admin_ids,
        organiser_ids=organiser_ids,
        data_dir=Path(get("SUMMIT_BOT_DATA_DIR") or "data"),
        knowledge_dir=Path(get("KNOWLEDGE_DIR") or _default_knowledge_dir()),
        embedding_model=get("EMBEDDING_MODEL"),
        webhook_listen=get("WEBHOOK_LISTEN") or "127.0.0.1",
        webhook_port=port,
        webhook_url=webhook_url,
        webhook_secret=secret,
        metrics_listen=get("METRICS_LISTEN") or "127.0.0.1",
        metrics_port=metrics_port,
        metrics_token=metrics_token,
        rate_limit_per_second=rate,
        chat_rate_per_second=chat_rate,
        log_level=log_level,
        question_rate_limit=question_limit,
        question_rate_window=question_window,
        question_backlog=backlog,
        question_retention_days=retention,
        startup_retry_seconds=startup_retry,
        shutdown_grace_seconds=shutdown_grace,
        schedule_url=schedule_url,
        schedule_poll_seconds=schedule_poll,
        schedule_auto_apply=auto_raw in ("1", "true", "yes", "on"),
        public_url=public_url,
        webapp_max_age=webapp_max_age,
        webapp_rate_limit=webapp_rate,
    )


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Settings from the process environment, completed by ``env_file`` when it exists."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return settings_from(merged)


def early_log_level(env_file: Path | None = Path(".env")) -> str:
    """LOG_LEVEL for the logging set up before the settings are read in full: an invalid level reads as
    ``INFO`` here and is reported with the other problems when the settings are loaded."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    level = values.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    return level if level in LOG_LEVELS else "INFO"
