"""The warehouse tables, in SQLAlchemy 2 Core. Alembic migrations create them.

The same schema runs on SQLite (the embedded default) and PostgreSQL. Every timestamp is
stored in UTC. docs/warehouse.md is the analyst's data dictionary for these tables and the
views in sql/views/.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC (timestamptz on PostgreSQL, ISO text on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a UTC offset")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


JsonType = JSON().with_variant(JSONB(), "postgresql")
Platform = String(16)
ExternalId = String(128)

accounts = Table(
    "accounts",
    metadata,
    Column("platform", Platform, primary_key=True),
    Column("account_id", ExternalId, primary_key=True),
    Column("handle", String(256), nullable=False, default=""),
    Column("display_name", String(256), nullable=False),
    Column("conn_id", String(256), nullable=False),
    Column("first_configured_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("platform", Platform, primary_key=True),
    Column("item_id", ExternalId, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("account_id", ExternalId, nullable=False),
    Column("author_id", String(256), nullable=False, default=""),
    Column("author_name", Text, nullable=False, default=""),
    # Keyed hash of (platform, author_id): what analyst views show instead of the id.
    Column("author_ref", String(64), nullable=False, default=""),
    Column("is_own", Boolean, nullable=False),
    Column("parent_id", ExternalId),
    Column("root_id", ExternalId, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("text", Text, nullable=False),
    Column("url", Text),
    Column("flags", JsonType, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    # Set by retention: the public text was removed and the author pseudonymised.
    Column("redacted_at", UTCDateTime),
    ForeignKeyConstraint(["platform", "account_id"], ["accounts.platform", "accounts.account_id"]),
    Index("ix_items_root", "platform", "root_id"),
    Index("ix_items_created", "created_at"),
    Index("ix_items_author", "platform", "author_id"),
)

item_versions = Table(
    "item_versions",
    metadata,
    Column("platform", Platform, primary_key=True),
    Column("item_id", ExternalId, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("flags", JsonType, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("run_id", String(64)),
    # No foreign key to items on purpose: PostgreSQL's per-row RI check used a sequential
    # scan on a fast-growing items table and made loading quadratic. Versions are only
    # written by the loader, next to their item, and removed by erasure with it.
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column(
        "payload_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("run_id", String(64), nullable=False),
    Column("platform", Platform, nullable=False),
    Column("account_id", ExternalId, nullable=False),
    Column("endpoint", String(64), nullable=False),
    # The request with every credential removed (paging URLs carry access_token).
    Column("request", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),  # the response body exactly as received
    Column("sha256", String(64), nullable=False),
    UniqueConstraint(
        "platform", "account_id", "endpoint", "sha256", name="uq_raw_payloads_content"
    ),
    Index("ix_raw_payloads_run", "run_id"),
)

ingestion_runs = Table(
    "ingestion_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("platform", Platform, nullable=False),
    Column("account_id", ExternalId, nullable=False),
    Column("data_interval_start", UTCDateTime),
    Column("data_interval_end", UTCDateTime),
    # started_at, finished_at: the pass's as-of time (a live pass: the moment it started;
    # a backfill: the end of its window). wall_*: when the process really ran.
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("wall_started_at", UTCDateTime),
    Column("wall_finished_at", UTCDateTime),
    Column("backfill", Boolean, nullable=False, default=False, server_default=false()),
    Column(
        "status", String(16), nullable=False
    ),  # running | success | failed | quarantined | abandoned
    Column("error", Text),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("quota_units", Integer, nullable=False, default=0),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("items_new", Integer, nullable=False, default=0),
    Column("items_changed", Integer, nullable=False, default=0),
    Column("items_deleted", Integer, nullable=False, default=0),
    Index("ix_ingestion_runs_account", "platform", "account_id", "started_at"),
)

ingestion_run_endpoints = Table(
    "ingestion_run_endpoints",
    metadata,
    Column(
        "run_id",
        String(64),
        ForeignKey("ingestion_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("endpoint", String(64), primary_key=True),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("quota_units", Integer, nullable=False, default=0),
    Column("items", Integer, nullable=False, default=0),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("platform", Platform, primary_key=True),
    Column("account_id", ExternalId, primary_key=True),
    Column("endpoint", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

findings = Table(
    "findings",
    metadata,
    Column("finding_id", String(40), primary_key=True),  # digest of platform, item, rule
    Column("platform", Platform, nullable=False),
    Column("item_id", ExternalId, nullable=False),
    Column("category", String(40), nullable=False),
    Column("rule", String(80), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("route", String(32), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("evidence_start", Integer),
    Column("evidence_end", Integer),
    Column("due_at", UTCDateTime),
    Column("detected_at", UTCDateTime, nullable=False),
    # new | open | acknowledged | resolved | dismissed
    Column("status", String(16), nullable=False),
    Column("status_changed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "item_id", "rule", name="uq_findings_item_rule"),
    Index("ix_findings_status", "status", "category"),
    Index("ix_findings_detected", "detected_at"),
)

finding_events = Table(
    "finding_events",
    metadata,
    Column(
        "event_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column(
        "finding_id",
        String(40),
        ForeignKey("findings.finding_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(256), nullable=False),  # a person, or "channelwatch" for the system
    Column("action", String(32), nullable=False),  # detected | acknowledged | resolved | ...
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Index("ix_finding_events_finding", "finding_id", "at"),
)

quarantined_batches = Table(
    "quarantined_batches",
    metadata,
    Column(
        "batch_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("run_id", String(64), nullable=False),
    Column("platform", Platform, nullable=False),
    Column("account_id", ExternalId, nullable=False),
    Column("quarantined_at", UTCDateTime, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("failed_expectations", JsonType, nullable=False),
    Column("validation_result", JsonType, nullable=False),
    Column("items", JsonType, nullable=False),  # the canonical items held back
    Column("released_at", UTCDateTime),
)

reports = Table(
    "reports",
    metadata,
    Column("report_date", String(10), primary_key=True),  # YYYY-MM-DD, council local day
    Column("generated_at", UTCDateTime, nullable=False),
    Column("html_path", Text, nullable=False),
    Column("csv_path", Text, nullable=False),
    Column("json_path", Text, nullable=False),
    Column("summary", JsonType, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("delivered_to", Text),
)

erasures = Table(
    "erasures",
    metadata,
    Column(
        "erasure_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("author_ref", String(64), nullable=False),  # keyed hash of the author id, not the id
    Column("reason", Text, nullable=False),
    Column("rows_removed", JsonType, nullable=False),
)

business_calendar = Table(
    "business_calendar",
    metadata,
    # One row per working day of the configured calendar: when the office opens and shuts,
    # in UTC, and as seconds since the epoch so views can do the arithmetic on any dialect.
    Column("day", String(10), primary_key=True),
    Column("opens_at", UTCDateTime, nullable=False),
    Column("closes_at", UTCDateTime, nullable=False),
    Column("opens_epoch", BigInteger, nullable=False),
    Column("closes_epoch", BigInteger, nullable=False),
)

item_responses = Table(
    "item_responses",
    metadata,
    # Derived by the pipeline from items after each load: for every public item, whether it
    # needs a reply and when the council first replied in its thread.
    Column("platform", Platform, primary_key=True),
    Column("item_id", ExternalId, primary_key=True),
    Column("account_id", ExternalId, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_epoch", BigInteger, nullable=False),
    Column("needs_reply", Boolean, nullable=False),
    Column("first_reply_id", ExternalId),
    Column("first_reply_at", UTCDateTime),
    Column("response_business_hours", Float),
    Column("computed_at", UTCDateTime, nullable=False),
)
