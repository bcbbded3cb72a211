"""Configuration: one YAML file, validated once at the edge with pydantic.

Everything inside channelwatch receives a typed `Settings`, never a raw dict or an
environment lookup. Secrets never live in this file: each account names the Airflow
connection that holds its credentials (see channelwatch.secrets).

`load_settings(path)` raises `ConfigError` whose message is one line:
``FILE: KEY.PATH: reason``.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_WAREHOUSE_URL = "sqlite:///var/warehouse.db"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UK_NATIONS = ("ENG", "WLS", "SCT", "NIR")
SECRET_KEY_PATTERN = re.compile(r"(token|secret|password|passwd|api_?key|credential)", re.I)


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        return [(p, a) for p in ("facebook", "instagram", "youtube", "twitter")
                for a in getattr(self, p)]

    @model_validator(mode="after")
    def _unique_ids(self) -> "Accounts":
        for platform in ("facebook", "instagram", "youtube", "twitter"):
            seen: set[str] = set()
            for account in getattr(self, platform):
                if account.id in seen:
                    raise ValueError(f"{platform} account id {account.id!r} appears twice")
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
    lookback_days: Annotated[int, Field(ge=0, le=365)] = 14
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    max_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = 900.0
    youtube_daily_quota: Annotated[int, Field(ge=1)] = 10_000

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8765")
        return value.rstrip("/") if value else value


class BusinessHours(_Model):
    """When the comms team is expected to answer, and how fast.

    Attributes:
        timezone: an IANA time zone.
        days: working weekdays.
        start, end: opening and closing time on a working day.
        response_target_hours: business hours within which a public item needs a reply.
        holiday_nations: UK nations whose bank holidays are not working days
            (ENG, WLS, SCT, NIR; all four by default, as FOI deadlines require).
    """

    timezone: str = "Europe/London"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon", "tue", "wed", "thu", "fri"]
    start: time = time(9, 0)
    end: time = time(17, 0)
    response_target_hours: Annotated[float, Field(gt=0, le=200)] = 8.0
    holiday_nations: list[Literal["ENG", "WLS", "SCT", "NIR"]] = list(UK_NATIONS)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _order(self) -> "BusinessHours":
        if self.end <= self.start:
            raise ValueError("end must be after start")
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
    def _order(self) -> "Period":
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


class Lexicons(_Model):
    """Lexicon files. A relative path is read from the configuration file's folder;
    an unset entry uses the default shipped in checks/lexicons/."""

    model_config = ConfigDict(extra="allow", frozen=True)

    directory: str | None = None


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
        "gov.uk", "nhs.uk", "police.uk", "ac.uk", "sch.uk", "parliament.uk", "org.uk",
        "facebook.com", "fb.me", "instagram.com", "youtube.com", "youtu.be", "x.com",
        "twitter.com", "t.co", "linkedin.com"]


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

    model_config = ConfigDict(extra="allow", frozen=True)

    foi_working_days: Annotated[int, Field(ge=1, le=60)] = 20
    review_hours: dict[Literal["high", "medium", "low"], Annotated[float, Field(gt=0, le=200)]] = {
        "high": 4.0, "medium": 8.0, "low": 16.0}
    disabled_rules: list[str] = []
    brand: BrandStyle = BrandStyle()


class Retention(_Model):
    """How long things are kept, in days."""

    public_comment_days: Annotated[int, Field(ge=1)] = 365
    raw_payload_days: Annotated[int, Field(ge=1)] = 730
    findings_days: Annotated[int, Field(ge=1)] = 2190
    pseudonymise: bool = True


class Privacy(_Model):
    """Personal data (UK GDPR).

    Attributes:
        pseudonym_conn_id: the Airflow connection whose password is the key of the keyed
            hash that replaces public authors' ids in the analyst views.
    """

    pseudonym_conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")] = \
        "cw_pseudonym"


class Report(_Model):
    """The daily report and its delivery.

    Attributes:
        out_dir: where reports are written (relative to the working directory).
        recipients: email addresses that receive the daily report.
        safeguarding_recipients: addresses alerted at once about safeguarding findings.
        smtp_conn_id: the Airflow connection of the SMTP server.
        due_by: local time by which the daily report must be ready (deadline alert).
        sender: the From address.
    """

    out_dir: str = "reports"
    recipients: list[str] = []
    safeguarding_recipients: list[str] = []
    smtp_conn_id: str = "smtp_default"
    sender: str = "channelwatch@localhost"
    due_by: time = time(8, 30)

    @field_validator("recipients", "safeguarding_recipients")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise ValueError(f"{value!r} is not an email address")
        return values


class Monitoring(_Model):
    """Pipeline health thresholds."""

    gap_hours: Annotated[float, Field(gt=0)] = 26.0
    pools: dict[Literal["facebook", "instagram", "youtube", "twitter"],
                Annotated[int, Field(ge=1, le=64)]] = {
        "facebook": 2, "instagram": 2, "youtube": 1, "twitter": 1}


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


def _secret_keys(node: Any, path: str = "") -> str | None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and SECRET_KEY_PATTERN.search(key) and key != "conn_id":
                return here
            found = _secret_keys(value, here)
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _secret_keys(value, f"{path}[{i}]")
            if found:
                return found
    return None


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def settings_from_dict(data: Any, source: str = "<config>") -> Settings:
    """Validate an already-parsed configuration mapping.

    Raises:
        ConfigError: ``SOURCE: KEY.PATH: reason`` on one line.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): must be a mapping of keys to values")
    secret = _secret_keys(data)
    if secret:
        raise ConfigError(f"{source}: {secret}: secrets do not belong in the configuration file; "
                          "put them in the account's Airflow connection")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {_loc(err['loc'])}: {msg}{more}") from None
    return settings


def load_settings(path: str | os.PathLike[str] | None) -> Settings:
    """Read and validate a configuration file; None gives the defaults.

    Raises:
        ConfigError: one line naming the file, the key path and the reason.
    """
    if path is None:
        return Settings()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(top level)"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: {where}: YAML syntax error: {problem}") from None
    settings = settings_from_dict(data, str(path))
    return settings.model_copy(update={"source": path.resolve()})
