"""What the DAG files need from channelwatch: names, schedules, pools, and the task bodies.

DAG files (dags/) only wire. This module is what they import at parse time, so it imports
nothing heavy at module level: the standard library and kernel.config (pydantic and
PyYAML, which airflow.sdk loads anyway). Airflow, SQLAlchemy, pandas and Great Expectations
are imported inside the functions that run in a task.

Environment read here (the edge of the system):
    CHANNELWATCH_CONFIG             the configuration file (default: built-in defaults).
    CHANNELWATCH_DEADLINE_ALERTS    "on" (default) or "off": whether the daily report DAG
                                    carries its deadline alert. `airflow dags test` in
                                    Airflow 3.3.2 exits non-zero after any DAG with a
                                    deadline alert (dag.test() hands dagrun.update_state the
                                    serialized alerts where it expects their ids), so
                                    `channelwatch demo` and the `dags test` tests set "off";
                                    every scheduler-run deployment (docker-compose, the Celery
                                    integration test) leaves it on. See docs/deploy.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from kernel.config import Settings, load_settings
from kernel.vocabulary import PLATFORMS  # noqa: E402

POOL_PREFIX = "channelwatch_"
DAG_TAGS = ["channelwatch"]

INGESTION_DAG = "channelwatch_ingestion"
REPORT_DAG = "channelwatch_checks_report"
HOUSEKEEPING_DAG = "channelwatch_housekeeping"

# How long before report.due_by the daily report run starts; the deadline is due_by.
REPORT_LEAD = timedelta(hours=1)
# Ingestion runs hourly at :05; housekeeping hourly at :45.
INGESTION_CRON = "5 * * * *"
HOUSEKEEPING_CRON = "45 * * * *"


# -- names ------------------------------------------------------------------------------


def pool_name(platform: str) -> str:
    """The Airflow pool that limits concurrent passes against one platform's API."""
    return f"{POOL_PREFIX}{platform}"


def asset_uri(platform: str) -> str:
    return f"x-channelwatch://warehouse/items/{platform}"


def platform_asset(platform: str):
    """The Asset a platform's ingestion emits when its data is committed."""
    from airflow.sdk import Asset

    return Asset(
        name=f"channelwatch_items_{platform}", uri=asset_uri(platform), group="channelwatch"
    )


# -- configuration ---------------------------------------------------------------------


def config_path() -> str | None:
    return os.environ.get("CHANNELWATCH_CONFIG") or None


def settings() -> Settings:
    """The configuration named by CHANNELWATCH_CONFIG (re-read when the file changes)."""
    path = config_path()
    stamp = None
    if path:
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            stamp = None
    key = (path, stamp)
    cached = _SETTINGS.get(key)
    if cached is None:
        _SETTINGS.clear()
        cached = _SETTINGS[key] = load_settings(path)
    return cached


_SETTINGS: dict[tuple, Settings] = {}


def deadline_alerts_enabled() -> bool:
    value = os.environ.get("CHANNELWATCH_DEADLINE_ALERTS", "on").strip().lower()
    return value not in ("off", "0", "false", "no")


def report_time(s: Settings) -> time:
    """Local time the daily report run starts: REPORT_LEAD before report.due_by."""
    due = datetime.combine(date(2000, 1, 3), s.report.due_by)
    return (due - REPORT_LEAD).time()


def report_cron(s: Settings) -> str:
    at = report_time(s)
    return f"{at.minute} {at.hour} * * *"


def report_deadline(s: Settings):
    """The report DAG's deadline alerts: due_by on the day of a dated run (None if off).

    The reference is the run's logical date (the cron time, REPORT_LEAD before due_by), so
    only dated runs — the daily one, a manual run with a date, a backfill — carry a
    deadline; the runs the ingestion assets trigger during the day have no logical date
    and none.
    """
    if not deadline_alerts_enabled():
        return None
    from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=REPORT_LEAD,
        callback=SyncCallback("orchestration.tasks.report_late"),
        name="daily report late",
    )


# -- pools -------------------------------------------------------------------------------


def ensure_pools(s: Settings | None = None) -> dict[str, int]:
    """Create or resize one pool per platform in Airflow's metadata database.

    A task naming a pool that does not exist waits forever without a word, so every
    set-up path calls this: `channelwatch airflow-setup` (the compose init service),
    `channelwatch demo` and the tests. Sizes come from monitoring.pools.

    Returns:
        pool name -> slots.
    """
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    s = s or settings()
    sizes = {}
    with create_session() as session:
        for platform in PLATFORMS:
            slots = int(s.monitoring.pools.get(platform, 1))
            name = pool_name(platform)
            Pool.create_or_update_pool(
                name=name,
                slots=slots,
                description=f"channelwatch: concurrent {platform} API passes",
                include_deferred=False,
                session=session,
            )
            sizes[name] = slots
    return sizes


# -- task bodies ---------------------------------------------------------------------------


@contextmanager
def _warehouse() -> Iterator[tuple[Settings, Any]]:
    """The settings and a warehouse engine for one task body, disposed of afterwards."""
    from channelwatch.warehouse import make_engine
    from orchestration.credentials import install

    install()
    s = settings()
    engine = make_engine(s.resolved_warehouse_url())
    try:
        yield s, engine
    finally:
        engine.dispose()


def accounts(platform: str) -> list[str]:
    """The configured account ids of a platform (what the ingestion task maps over)."""
    return [a.id for a in getattr(settings().accounts, platform)]


def run_as_of(context: Mapping[str, Any]) -> datetime:
    """The instant a run works as of: its logical date, else (asset-triggered) run_after."""
    for key in ("logical_date", "data_interval_end"):
        value = context.get(key)
        if value is not None:
            return _aware(value)
    dag_run = context.get("dag_run")
    value = getattr(dag_run, "run_after", None) or datetime.now(timezone.utc)
    return _aware(value)


def _aware(value: Any) -> datetime:
    value = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(value.timestamp(), timezone.utc)


def _interval(context: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        return None
    return _aware(start), _aware(end)


def _fail(message: str):
    """A failure retrying cannot fix (quarantined data, invalid credentials)."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)


def ingest_task(platform: str, account_id: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Ingest one account; emit the platform's asset event with the run's row counts.

    A quarantined batch, refused or missing credentials and a spent daily quota fail the
    task at once (no retries); any other failure (rate limits outlasting the waits, 5xx,
    timeouts) is retried with exponential backoff by Airflow.
    """
    from channelwatch import pipeline
    from kernel.errors import CredentialsError

    # A backfill run reads its data interval as it stood (until its end); any other run is
    # live and reads the platforms as they are when it starts.
    window = backfill_until(context)
    try:
        with _warehouse() as (s, engine):
            figures = pipeline.ingest(
                s,
                engine,
                platform,
                account_id,
                interval=_interval(context),
                now=window,
                until=window,
            )
    except pipeline.BatchQuarantined as exc:
        raise _fail(str(exc)) from None
    except pipeline.IngestionFailed as exc:
        # Credentials refused or missing and a spent YouTube quota do not mend within the
        # retries: fail now, say why once.
        if exc.lasting:
            raise _fail(str(exc)) from None
        raise
    except CredentialsError as exc:
        raise _fail(str(exc)) from None
    events = context.get("outlet_events")
    if events is not None:
        extra = events[platform_asset(platform)].extra
        extra.update(
            {
                k: figures[k]
                for k in (
                    "account_id",
                    "run_id",
                    "items_seen",
                    "items_new",
                    "items_changed",
                    "items_deleted",
                    "api_calls",
                )
            }
        )
    return figures


def run_type(context: Mapping[str, Any]) -> str:
    """The run's type as Airflow spells its value: scheduled, manual, backfill..."""
    value = getattr(context.get("dag_run"), "run_type", "") or ""
    value = str(getattr(value, "value", value)).rsplit(".", 1)[-1].lower()
    return "backfill" if value == "backfill_job" else value


def backfill_until(context: Mapping[str, Any]) -> datetime | None:
    """The window end of a backfill run (its as-of time), None for any other run."""
    return run_as_of(context) if run_type(context) == "backfill" else None


def refresh_task(context: Mapping[str, Any]) -> dict[str, Any]:
    from channelwatch import pipeline

    with _warehouse() as (s, engine):
        return pipeline.refresh(s, engine, run_as_of(context))


def validate_task(context: Mapping[str, Any]) -> dict[str, Any]:
    """GX over what the checks will read; items failing are held back (and fail the run
    at its end, after the report shows them)."""
    from channelwatch import pipeline

    with _warehouse() as (s, engine):
        return pipeline.validate_scope(s, engine, run_as_of(context))


def check_task(context: Mapping[str, Any]) -> dict[str, Any]:
    from channelwatch import pipeline

    with _warehouse() as (s, engine):
        return pipeline.check(s, engine, run_as_of(context))


def alert_task(context: Mapping[str, Any]) -> list[str]:
    """Email new safeguarding concerns at once (a failure fails the task, which retries)."""
    from channelwatch import pipeline

    with _warehouse() as (s, engine):
        return pipeline.alert(s, engine, run_as_of(context))


def report_task(context: Mapping[str, Any]) -> dict[str, Any]:
    """Render the day's report; deliver it on the daily (scheduled) and manual runs."""
    from channelwatch import pipeline

    as_of = run_as_of(context)
    deliver = run_type(context) in ("scheduled", "manual")
    with _warehouse() as (s, engine):
        day = as_of.astimezone(s.business_hours.zone).date()
        return pipeline.report(s, engine, day, now=as_of, deliver=deliver)


def quality_gate_task(validated: Mapping[str, Any] | None) -> str:
    """Fail the run loudly when the validation held items back (the report shows them)."""
    validated = validated or {}
    if validated.get("quarantined"):
        raise _fail(
            "data-quality gate held items back (quarantined_batches "
            f"{validated['quarantined']}): " + " | ".join(validated.get("summary", []))
        )
    return f"{validated.get('items', 0)} items passed"


def retention_task(context: Mapping[str, Any]) -> dict[str, int]:
    from channelwatch import pipeline

    with _warehouse() as (s, engine):
        return pipeline.apply_retention(s, engine, run_as_of(context))


def monitoring_task(context: Mapping[str, Any]) -> dict[str, Any]:
    from channelwatch import pipeline

    with _warehouse() as (s, engine):
        return pipeline.monitoring_gaps(s, engine, run_as_of(context))


def report_late(context: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """The report DAG's deadline callback (run by the executor, e.g. a Celery worker).

    Airflow imports this module to check the callback when it parses the DAG, so the work
    is in channelwatch.pipeline.record_report_late, imported only when a deadline is missed.
    """
    from channelwatch import pipeline

    context = context or {}
    with _warehouse() as (s, engine):
        pipeline.record_report_late(
            s, engine, context.get("dag_run") or {}, context.get("deadline") or {}
        )
