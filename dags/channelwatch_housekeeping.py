"""
### channelwatch housekeeping

Every hour:

* `monitoring_gaps` — an account without a successful ingestion for `monitoring.gap_hours`
  becomes a `pipeline.monitoring_gap` finding (shown in the report); it is resolved once
  the account ingests again.
* `retention` — public comments past `retention.public_comment_days` lose their text and
  author unless an open finding holds them; raw API pages and closed findings past their
  periods are deleted (docs/data-protection.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronTriggerTimetable, dag, task

from orchestration import tasks as cw

SETTINGS = cw.settings()


@task
def monitoring_gaps(**context) -> dict:
    return cw.monitoring_task(context)


@task
def retention(**context) -> dict:
    return cw.retention_task(context)


@dag(
    dag_id=cw.HOUSEKEEPING_DAG,
    schedule=CronTriggerTimetable(cw.HOUSEKEEPING_CRON, timezone=SETTINGS.business_hours.timezone),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=[*cw.DAG_TAGS, "housekeeping"],
    doc_md=__doc__,
    default_args={
        "owner": "channelwatch",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=30),
    },
)
def channelwatch_housekeeping():
    monitoring_gaps() >> retention()


channelwatch_housekeeping()
