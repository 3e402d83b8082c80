"""Settings read from the environment, validated once, all problems reported together."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The repo's content/ beside the package (an editable install, a clone); an installed wheel has
# none, so the default falls back to ./content (the Docker image sets STUDYBOT_CONTENT_DIR).
_BESIDE_PACKAGE = Path(__file__).resolve().parent.parent / "content"
REPO_CONTENT_DIR = _BESIDE_PACKAGE if _BESIDE_PACKAGE.is_dir() else Path("content")
DEFAULT_DATABASE_URL = "sqlite:///data/studybot.db"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
ITEM_TYPES = ("concept", "quiz", "deep", "derive")
DEFAULT_WEIGHTS = {"concept": 0.7, "quiz": 0.2, "deep": 0.05, "derive": 0.05}
# A bot token is "<bot id>:<35 characters>"; see the Bot API docs on authorizing a bot.
TOKEN_RE = re.compile(r"^\d{5,20}:[A-Za-z0-9_-]{30,60}$")
# Telegram allows 1-256 characters of these for setWebhook's secret_token; at least 32 (as many
# as secrets.token_urlsafe(24) gives) so that it cannot be guessed, and so that the redaction of
# the secret from the logs never replaces a short string that occurs in other text.
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{32,256}")


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: Telegram POSTs updates to ``url``; the bot listens on listen:port/path."""

    url: str
    path: str
    listen: str
    port: int
    secret: str = field(repr=False)


class ConfigError(ValueError):
    """Raised with every configuration problem, one per line."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults used in production."""

    # Not in the repr: a PostgreSQL URL carries its password.
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    content_dirs: tuple[Path, ...] = (REPO_CONTENT_DIR,)
    token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    log_level: str = "INFO"
    max_interval_days: int = 60
    desired_retention: float = 0.9
    new_per_day: int = 15
    type_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    fuzzing: bool = True
    rate_limiter: bool = True
    user: str = "local"
    push_lease_seconds: int = 300
    webhook_secret: str = field(default="", repr=False)
    # Seconds a Bot API call waits for its answer (not set from the environment: tests shorten
    # it to make an answer late).
    read_timeout: float = 5.0
    # Seconds without a new rating, once a group session's last post was revealed or answered,
    # before its summary is sent (not set from the environment: tests shorten it).
    group_settle_seconds: float = 300.0
    # Formula drawings on disk, drawn in the background at start-up (bot/core/formulas.py).
    # load_settings always sets it (STUDYBOT_CACHE_DIR, else beside the SQLite database, else
    # the user's cache folder); None, what Settings() gives the in-process tests, draws formulas
    # when they are needed, in a thread, and keeps them in memory only.
    cache_dir: Path | None = None


def _parse_weights(raw: str, problems: list[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in raw.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in ITEM_TYPES:
            problems.append(f"STUDYBOT_TYPE_WEIGHTS: unknown type {name!r} (use {ITEM_TYPES})")
            continue
        try:
            weights[name] = float(value)
        except ValueError:
            problems.append(f"STUDYBOT_TYPE_WEIGHTS: {part.strip()!r} is not type=number")
    if weights and (min(weights.values()) < 0 or sum(weights.values()) <= 0):
        problems.append("STUDYBOT_TYPE_WEIGHTS: weights must be >= 0 and not all 0")
    return {t: weights.get(t, 0.0) for t in ITEM_TYPES}


def _sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL (SQLAlchemy's form: ``sqlite:///relative/file.db``,
    ``sqlite:////absolute/file.db``), or None for another database or one in memory."""
    scheme, sep, rest = database_url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite":
        return None
    path = rest.partition("?")[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path).expanduser()


def _cache_dir(env: Mapping[str, str], database_url: str, problems: list[str]) -> Path:
    """STUDYBOT_CACHE_DIR, else ``cache`` beside the SQLite database (the Docker image's /data
    volume holds both), else the user's cache folder (XDG_CACHE_HOME, ~/.cache)."""
    raw = env.get("STUDYBOT_CACHE_DIR", "").strip()
    if raw:
        chosen = Path(raw).expanduser()
        if chosen.exists() and not chosen.is_dir():
            problems.append(f"STUDYBOT_CACHE_DIR: {raw!r} is a file, not a folder")
        return chosen
    database = _sqlite_path(database_url)
    if database is not None:
        return database.parent / "cache"
    base = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "studybot"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables.

    Args:
        env: the environment; defaults to ``os.environ``.

    Raises:
        ConfigError: listing every invalid variable.
    """
    env = os.environ if env is None else env
    problems: list[str] = []

    def number(name: str, default: float, lo: float, hi: float, cast: type = int) -> float:
        raw = env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = cast(raw)
        except ValueError:
            problems.append(f"{name}: {raw!r} is not a number")
            return default
        if not lo <= value <= hi:
            problems.append(f"{name}: {raw} is outside {lo}..{hi}")
            return default
        return float(value)

    dirs_raw = env.get("STUDYBOT_CONTENT_DIR", "")
    content_dirs = (
        tuple(Path(p).expanduser() for p in dirs_raw.split(os.pathsep) if p.strip())
        if dirs_raw.strip()
        else (REPO_CONTENT_DIR,)
    )
    weights_raw = env.get("STUDYBOT_TYPE_WEIGHTS", "")
    weights = (
        _parse_weights(weights_raw, problems) if weights_raw.strip() else dict(DEFAULT_WEIGHTS)
    )
    level = env.get("LOG_LEVEL", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(f"LOG_LEVEL: {level!r} is not one of DEBUG, INFO, WARNING, ERROR")
        level = "INFO"
    limiter = env.get("STUDYBOT_RATE_LIMITER", "on").strip().lower()
    if limiter not in ("on", "off"):
        problems.append(f"STUDYBOT_RATE_LIMITER: {limiter!r} must be on or off")
    database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    settings = Settings(
        database_url=database_url,
        content_dirs=content_dirs,
        token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
        base_url=env.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_BASE_URL,
        log_level=level,
        max_interval_days=int(number("STUDYBOT_MAX_INTERVAL_DAYS", 60, 1, 36500)),
        desired_retention=number("STUDYBOT_DESIRED_RETENTION", 0.9, 0.7, 0.99, float),
        new_per_day=int(number("STUDYBOT_NEW_PER_DAY", 15, 0, 500)),
        type_weights=weights,
        fuzzing=env.get("STUDYBOT_FUZZING", "on").strip().lower() != "off",
        rate_limiter=limiter != "off",
        user=env.get("STUDYBOT_USER", "").strip() or "local",
        push_lease_seconds=int(number("STUDYBOT_PUSH_LEASE_SECONDS", 300, 1, 86400)),
        webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
        cache_dir=_cache_dir(env, database_url, problems),
    )
    if problems:
        raise ConfigError("\n".join(problems))
    return settings


def token_is_wellformed(token: str) -> bool:
    """True when ``token`` has the shape of a Bot API token."""
    return bool(TOKEN_RE.match(token))


def webhook_secret_is_wellformed(secret: str) -> bool:
    """True when ``secret`` is 32-256 characters that Telegram allows in a webhook secret."""
    return bool(WEBHOOK_SECRET_RE.fullmatch(secret))
