"""Configuration: one YAML file, validated once at the edge with pydantic.

Everything inside channelwatch receives a typed `Settings`, never a raw dict or an
environment lookup. Secrets never live in this file: each account names the Airflow
connection that holds its credentials (see channelwatch.secrets).

`load_settings(path)` raises `ConfigError` whose message is one line:
``FILE: KEY.PATH: reason``. Nothing in a file is taken on trust (docs/reliability.md,
"Hostile configuration"):

- the file is a regular file of at most `MAX_CONFIG_BYTES`, read with a bounded read,
  and parsed by `kernel.yamlsafe` (no duplicate keys, anchors or aliases, base-60 or
  octal numbers, nesting deeper than 32);
- every key is known (unknown keys are refused everywhere, lexicon families included);
- every number is finite and within a range the code computes with; times of day are
  read only from text such as '9:00'; a business day lasts at least an hour; the time
  zone is a real IANA zone;
- every path is checked at load: lexicons are regular, readable, UTF-8 YAML files of at
  most `MAX_LEXICON_BYTES` with the shape the checks need; the report folder is not a
  file. So a bad file stops a command before it touches the warehouse or the reports.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kernel import yamlsafe
from kernel.yamlsafe import key_path

DEFAULT_WAREHOUSE_URL = "sqlite:///var/warehouse.db"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UK_NATIONS = ("ENG", "WLS", "SCT", "NIR")
SECRET_KEY_PATTERN = re.compile(r"(token|secret|password|passwd|api_?key|credential)", re.I)
# The lexicon families the checks read (checks.matcher.FAMILIES; a test keeps them equal).
LEXICON_FAMILIES = (
    "advertising",
    "spam",
    "political",
    "personal_data",
    "profanity",
    "abuse",
    "safeguarding",
    "foi",
    "needs_reply",
)
MAX_CONFIG_BYTES = 1_000_000  # the example is 5 kB
MAX_LEXICON_BYTES = 2_000_000  # the shipped lexicons are under 8 kB each
MIN_BUSINESS_DAY_SECONDS = 3600  # a business day of at least an hour
MAX_RETENTION_DAYS = 3650
MAX_GAP_HOURS = 24 * 366


def _one_line(text: str) -> str:
    """Line breaks, control and other unprintable characters (a lone surrogate from an odd
    file name, U+2028) shown as escapes, so a message is always one printable line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _short(value: Any, limit: int = 60) -> str:
    """repr() of a value quoted in a message, cut to `limit` characters."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "(a huge number)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _int(**limits: Any) -> Any:
    """An integer within `limits` (ge, le); true/false refused."""
    return Annotated[int, BeforeValidator(_number), Field(**limits)]


def _float(**limits: Any) -> Any:
    """A finite number within `limits` (gt, ge, le); true/false refused."""
    return Annotated[float, BeforeValidator(_number), Field(**limits)]


_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")


def _clock_time(value: Any) -> time:
    """A local time of day, from text such as '9:00' or '17:30' (or a `time`). A number is
    refused: YAML 1.1 reads an unquoted 9:00 as 540, which pydantic would take as seconds."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("must be a local time of day, without a time zone")
        return value
    if isinstance(value, (int, float)):  # bool included
        raise ValueError(
            "got a number, not a time: write times in quotes, e.g. '9:00' "
            "(YAML reads an unquoted 9:00 as the number 540)"
        )
    if isinstance(value, str):
        match = _CLOCK.fullmatch(value.strip())
        if match:
            return time(int(match[1]), int(match[2]), int(match[3] or 0))
        raise ValueError(f"{_short(value)} is not a time of day: write it as '9:00' or '17:30'")
    raise ValueError("must be a time of day in quotes, e.g. '9:00'")


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class Account(_Model):
    """One monitored account.

    Attributes:
        id: the platform's id for the account (Page id, IG user id, channel id, X user id).
        handle: the public handle or username, used to recognise the council's own posts.
        name: display name shown in reports.
        conn_id: the Airflow connection id holding this account's credentials.
    """

    id: Annotated[str, Field(min_length=1)]
    handle: str = ""
    name: Annotated[str, Field(min_length=1)]
    conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]


class Accounts(_Model):
    facebook: list[Account] = []
    instagram: list[Account] = []
    youtube: list[Account] = []
    twitter: list[Account] = []

    def all(self) -> list[tuple[str, Account]]:
        """Every configured account as (platform, account), in platform order."""
        return [
            (p, a)
            for p in ("facebook", "instagram", "youtube", "twitter")
            for a in getattr(self, p)
        ]

    @model_validator(mode="after")
    def _unique_ids(self) -> Accounts:
        for platform in ("facebook", "instagram", "youtube", "twitter"):
            seen: set[str] = set()
            for account in getattr(self, platform):
                if account.id in seen:
                    raise ValueError(f"{platform} account id {_short(account.id)} appears twice")
                seen.add(account.id)
        return self


class Api(_Model):
    """Where and how the connectors call the platforms.

    Attributes:
        base_url: None for the real APIs; the sandbox's URL (http://127.0.0.1:PORT) otherwise.
        graph_version: the Graph API version used for Facebook and Instagram.
        lookback_days: comments are re-read on posts newer than this many days.
        page_size: items asked for per page, where the API lets us choose.
        timeout_seconds: per HTTP request.
        max_retries: attempts for 5xx and timeouts before the account fails.
        max_wait_seconds: the longest rate-limit wait honoured inside one run.
        youtube_daily_quota: YouTube Data API units available per day.
    """

    base_url: str | None = None
    graph_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v23.0"
    lookback_days: _int(ge=0, le=365) = 14
    page_size: _int(ge=1, le=100) = 100
    timeout_seconds: _float(gt=0, le=600) = 30.0
    max_retries: _int(ge=0, le=20) = 5
    max_wait_seconds: _float(ge=0, le=3600) = 900.0
    youtube_daily_quota: _int(ge=1, le=1_000_000_000) = 10_000

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(?:[/?#]\S*)?", value):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8765")
        return value.rstrip("/") if value else value


class BusinessHours(_Model):
    """When the comms team is expected to answer, and how fast.

    Attributes:
        timezone: an IANA time zone.
        days: working weekdays.
        start, end: opening and closing time on a working day, written in quotes ('9:00');
            the day lasts at least an hour.
        response_target_hours: business hours within which a public item needs a reply.
        holiday_nations: UK nations whose bank holidays are not working days
            (ENG, WLS, SCT, NIR; all four by default, as FOI deadlines require).
    """

    timezone: str = "Europe/London"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    ]
    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)
    response_target_hours: _float(gt=0, le=200) = 8.0
    holiday_nations: list[Literal["ENG", "WLS", "SCT", "NIR"]] = list(UK_NATIONS)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        # Only a zone the system lists: ZoneInfo("Europe") would open a folder.
        if value not in _zones():
            raise ValueError(f"unknown time zone {_short(value)}")
        try:
            ZoneInfo(value)
        except Exception:  # noqa: BLE001 - a listed zone whose file cannot be read
            raise ValueError(f"time zone {_short(value)} cannot be read") from None
        return value

    @model_validator(mode="after")
    def _order(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        seconds = lambda t: t.hour * 3600 + t.minute * 60 + t.second  # noqa: E731
        if seconds(self.end) - seconds(self.start) < MIN_BUSINESS_DAY_SECONDS:
            raise ValueError(
                f"the business day from {self.start:%H:%M:%S} to {self.end:%H:%M:%S} "
                "is shorter than an hour"
            )
        if not self.days:
            raise ValueError("days must name at least one weekday")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Period(_Model):
    """A dated period, such as a pre-election period ("purdah")."""

    name: Annotated[str, Field(min_length=1)]
    start: date
    end: date

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Partner(_Model):
    """A partner public body whose promotion is not third-party advertising."""

    name: Annotated[str, Field(min_length=1)]
    handles: list[str] = []
    domains: list[str] = []


class ContactDetails(_Model):
    """The council's own published contact details: allowed in its posts."""

    phones: list[str] = []
    emails: list[str] = []
    addresses: list[str] = []
    domains: list[str] = []


_Path = Annotated[str, Field(min_length=1)]


class Lexicons(_Model):
    """Lexicon files. A relative path is read from the configuration file's folder;
    an unset entry uses the file of that family in ``directory``, if there is one, else the
    default shipped in checks/lexicons/. One key per family (`LEXICON_FAMILIES`); any other
    key is refused."""

    directory: _Path | None = None
    advertising: _Path | None = None
    spam: _Path | None = None
    political: _Path | None = None
    personal_data: _Path | None = None
    profanity: _Path | None = None
    abuse: _Path | None = None
    safeguarding: _Path | None = None
    foi: _Path | None = None
    needs_reply: _Path | None = None


class BrandStyle(_Model):
    """The council's house style for its own posts (off_brand.style.* findings, low severity).

    Attributes:
        required_name: how the council must be named, e.g. "Bracknell Forest Council".
        wrong_names: spellings that must be written as ``required_name`` instead
            ("Bracknell Council", "BFC"); off_brand.style.naming.
        banned_terms: words and phrases the house style forbids; off_brand.style.banned_term.
        allowed_link_domains: sites the council's posts may link to (a domain allows its
            subdomains); the council's own contact domains and partners' domains are added.
            Links elsewhere are off_brand.style.link_domain. An empty list turns the rule off.
    """

    required_name: str | None = None
    wrong_names: list[str] = []
    banned_terms: list[str] = []
    allowed_link_domains: list[str] = [
        "gov.uk",
        "nhs.uk",
        "police.uk",
        "ac.uk",
        "sch.uk",
        "parliament.uk",
        "org.uk",
        "facebook.com",
        "fb.me",
        "instagram.com",
        "youtube.com",
        "youtu.be",
        "x.com",
        "twitter.com",
        "t.co",
        "linkedin.com",
    ]


class Checks(_Model):
    """Thresholds of the compliance checks (see checks/ and docs/checks.md).

    Attributes:
        foi_working_days: FOI deadline in working days after receipt (FOIA s.10: 20).
        review_hours: business hours after an item's creation by which comms should act on
            a finding of each severity (rules that route to comms; unanswered items use
            business_hours.response_target_hours, safeguarding is due at once).
        disabled_rules: rule ids (or their prefixes, e.g. "off_brand.style") to skip.
        brand: the house style.
    """

    foi_working_days: _int(ge=1, le=60) = 20
    review_hours: dict[Literal["high", "medium", "low"], _float(gt=0, le=200)] = {
        "high": 4.0,
        "medium": 8.0,
        "low": 16.0,
    }
    disabled_rules: list[str] = []
    brand: BrandStyle = BrandStyle()


class Retention(_Model):
    """How long things are kept, in days."""

    public_comment_days: _int(ge=1, le=MAX_RETENTION_DAYS) = 365
    raw_payload_days: _int(ge=1, le=MAX_RETENTION_DAYS) = 730
    findings_days: _int(ge=1, le=MAX_RETENTION_DAYS) = 2190
    pseudonymise: bool = True


class Privacy(_Model):
    """Personal data (UK GDPR).

    Attributes:
        pseudonym_conn_id: the Airflow connection whose password is the key of the keyed
            hash that replaces public authors' ids in the analyst views.
    """

    pseudonym_conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")] = (
        "cw_pseudonym"
    )


class Report(_Model):
    """The daily report and its delivery.

    Attributes:
        out_dir: where reports are written (relative to the working directory); must not
            be a file.
        recipients: email addresses that receive the daily report.
        safeguarding_recipients: addresses alerted at once about safeguarding findings.
        smtp_conn_id: the Airflow connection of the SMTP server.
        due_by: local time by which the daily report must be ready (deadline alert),
            in quotes ('08:30').
        sender: the From address.
    """

    out_dir: _Path = "reports"
    recipients: list[str] = []
    safeguarding_recipients: list[str] = []
    smtp_conn_id: str = "smtp_default"
    sender: str = "channelwatch@localhost"
    due_by: ClockTime = time(8, 30)

    @field_validator("recipients", "safeguarding_recipients")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise ValueError(f"{_short(value)} is not an email address")
        return values


class Monitoring(_Model):
    """Pipeline health thresholds."""

    gap_hours: _float(gt=0, le=MAX_GAP_HOURS) = 26.0
    pools: dict[Literal["facebook", "instagram", "youtube", "twitter"], _int(ge=1, le=64)] = {
        "facebook": 2,
        "instagram": 2,
        "youtube": 1,
        "twitter": 1,
    }


class Settings(_Model):
    """The whole configuration."""

    council: Annotated[str, Field(min_length=1)] = "Bracknell Forest Council"
    accounts: Accounts = Accounts()
    api: Api = Api()
    business_hours: BusinessHours = BusinessHours()
    pre_election_periods: list[Period] = []
    partners: list[Partner] = []
    contact_details: ContactDetails = ContactDetails()
    lexicons: Lexicons = Lexicons()
    checks: Checks = Checks()
    retention: Retention = Retention()
    privacy: Privacy = Privacy()
    report: Report = Report()
    monitoring: Monitoring = Monitoring()
    warehouse_url: str | None = None

    # Where the file was read from; relative paths in it are resolved against this.
    source: Path | None = Field(default=None, exclude=True)

    def resolved_warehouse_url(self) -> str:
        """WAREHOUSE_URL from the environment wins, then the file, then ./var/warehouse.db."""
        return os.environ.get("WAREHOUSE_URL") or self.warehouse_url or DEFAULT_WAREHOUSE_URL

    def account(self, platform: str, account_id: str) -> Account:
        for account in getattr(self.accounts, platform):
            if account.id == account_id:
                return account
        raise KeyError(f"no {platform} account {account_id!r} is configured")

    def resolve_path(self, value: str) -> Path:
        path = Path(value)
        if not path.is_absolute() and self.source is not None:
            path = self.source.parent / path
        return path


def _secret_keys(data: Any) -> str | None:
    """The key path of the first key that looks like a secret, walking the data without
    recursion (a deep or self-referencing structure from Python cannot overflow it)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, dict):
            children = []
            for key, value in node.items():
                if isinstance(key, str) and SECRET_KEY_PATTERN.search(key) and key != "conn_id":
                    return key_path((*path, key))
                children.append((value, (*path, key)))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(value, (*path, i)) for i, value in enumerate(node)]))
    return None


def _loc(loc: tuple[Any, ...]) -> str:
    return key_path(loc)


class _Refused(Exception):
    """A path problem found after validation: key path and reason."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")


class _NotRegular(OSError):
    """Opened, and found to be a device, pipe or socket."""


def _read_bounded(path: Path | str, limit: int) -> bytes | None:
    """The bytes of a regular file, or None if it holds more than `limit` bytes. Opened
    without blocking and checked again once open, so a device or pipe put in its place
    after a check is refused rather than read without end (/dev/zero)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise _NotRegular(path)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return None if size > limit else b"".join(chunks)
    finally:
        os.close(fd)


def _file_problem(path: Path | str, limit: int, what: str) -> tuple[str | None, bytes]:
    """(None, the file's bytes) for a readable regular file of at most `limit` bytes, else
    (the reason, b"")."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "file not found", b""
    except ValueError:
        return "not a valid file name", b""
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}", b""
    if stat.S_ISDIR(info.st_mode):
        return f"is a directory, not {what}", b""
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)", b""
    if info.st_size > limit:
        return f"larger than {limit // 1_000_000} MB ({info.st_size:,} bytes)", b""
    try:
        raw = _read_bounded(path, limit)
    except IsADirectoryError:
        return f"is a directory, not {what}", b""
    except _NotRegular:
        return "not a regular file (a device, pipe or socket)", b""
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}", b""
    if raw is None:
        return f"larger than {limit // 1_000_000} MB", b""
    return None, raw


def _lexicon_problem(path: Path) -> str | None:
    """Why `path` cannot serve as a lexicon (the checks' rules: checks.matcher), or None."""
    problem, raw = _file_problem(path, MAX_LEXICON_BYTES, "a lexicon file")
    if problem:
        return problem
    try:
        data = yamlsafe.load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except yamlsafe.YamlError as exc:
        return f"not a valid lexicon: {exc}"
    if not isinstance(data, dict):
        return "a lexicon must map list names to lists of phrases"
    for key, value in data.items():
        if isinstance(value, list) and not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            return (
                f"{key_path([key])}: every entry must be a phrase (quote words YAML reads "
                "as true/false, such as no, yes, on, off)"
            )
    return None


def _exists(path: Path) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _check_paths(settings: Settings) -> None:
    """Every path in the settings, checked now rather than when a run first uses it.

    Raises:
        _Refused: the key path and why.
    """
    lex = settings.lexicons
    directory = None
    if lex.directory is not None:
        directory = settings.resolve_path(lex.directory)
        try:
            is_dir = stat.S_ISDIR(os.stat(directory).st_mode)
        except (OSError, ValueError):
            raise _Refused(
                "lexicons.directory", f"{_short(lex.directory, 200)}: folder not found"
            ) from None
        if not is_dir:
            raise _Refused("lexicons.directory", f"{_short(lex.directory, 200)}: not a folder")
    for family in LEXICON_FAMILIES:
        configured = getattr(lex, family)
        if configured is not None:
            problem = _lexicon_problem(settings.resolve_path(configured))
            if problem:
                raise _Refused(f"lexicons.{family}", f"{_short(configured, 200)}: {problem}")
        elif directory is not None and _exists(candidate := directory / f"{family}.yml"):
            problem = _lexicon_problem(candidate)
            if problem:
                raise _Refused(
                    "lexicons.directory", f"{_short(lex.directory, 200)}: {family}.yml: {problem}"
                )
    problem = _folder_problem(settings.report.out_dir)
    if problem:
        raise _Refused("report.out_dir", f"{_short(settings.report.out_dir, 200)}: {problem}")


def _folder_problem(value: str) -> str | None:
    """Why a folder could not be used or made at `value` (relative to the working
    directory), or None: it must be a folder if it exists, and its nearest existing parent
    a folder otherwise."""
    path = Path(value)
    while True:
        try:
            info = os.stat(path)
        except ValueError:
            return "not a valid folder name"
        except (FileNotFoundError, NotADirectoryError):
            if path.parent == path:
                return "folder not found"
            path = path.parent
            continue
        except OSError as exc:
            return f"cannot use: {exc.strerror or exc}"
        if stat.S_ISDIR(info.st_mode):
            return None
        if str(path) == str(Path(value)):
            return "is a file, not a folder"
        return f"cannot be made: {_short(str(path), 200)} is a file"


def settings_from_dict(
    data: Any, source: str = "<config>", *, origin: Path | None = None
) -> Settings:
    """Validate an already-parsed configuration mapping, and the paths it names (relative
    ones from `origin`'s folder when given, else from the working directory).

    Raises:
        ConfigError: ``SOURCE: KEY.PATH: reason`` on one line.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): must be a mapping of keys to values")
    if "source" in data:  # the Settings field that records where the file was read from
        raise ConfigError(f"{source}: source: unknown key")
    secret = _secret_keys(data)
    if secret:
        raise ConfigError(
            f"{source}: {secret}: secrets do not belong in the configuration file; "
            "put them in the account's Airflow connection"
        )
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"]
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif loc and loc[-1] == "[key]":  # a dict's key not among those allowed
            loc, msg = loc[:-1], f"unknown key; {msg[0].lower()}{msg[1:]}"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {_loc(loc)}: {msg}{more}") from None
    if origin is not None:
        settings = settings.model_copy(update={"source": origin})
    try:
        _check_paths(settings)
    except _Refused as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return settings


def load_settings(path: str | os.PathLike[str] | None) -> Settings:
    """Read and validate a configuration file; None gives the defaults.

    Raises:
        ConfigError: one line naming the file, the key path and the reason.
    """
    if path is None:
        return Settings()
    path = Path(path)
    problem, raw = _file_problem(path, MAX_CONFIG_BYTES, "a YAML file")
    if problem:
        raise ConfigError(f"{path}: {problem}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = yamlsafe.load(text)
    except yamlsafe.YamlError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        origin = path.resolve()
    except (OSError, RuntimeError):
        origin = path.absolute()
    return settings_from_dict(data, str(path), origin=origin)
