"""
### channelwatch checks and report

Runs after ingestion (on the `channelwatch_items_<platform>` assets) **and** every morning
on time, so the daily report is produced even on a quiet day.

1. `refresh` — the derived tables the analyst views read (business calendar, responses).
2. `validate` — Great Expectations over what the checks are about to read; items that fail
   are held back in `quarantined_batches`.
3. `check` — the compliance checks as of the run; the findings' lifecycle.
4. `alert` — new safeguarding concerns are emailed at once (beside the report, so a mail
   failure does not hold the report back, but still fails the run).
5. `report` — the day's report under `report.out_dir`; the daily run emails it.
6. `quality_gate` — fails the run loudly if `validate` held anything back (after the
   report, which shows it).

The daily run starts an hour before `report.due_by` (council time) and carries a deadline
alert at `report.due_by`: if the report is late, `orchestration.tasks.report_late` logs it
and records a `pipeline.report_late` finding. Runs triggered by the assets have no logical
date, hence no deadline. `CHANNELWATCH_DEADLINE_ALERTS=off` builds the DAG without the alert
(used by `channelwatch demo`, because `airflow dags test` in Airflow 3.3.2 exits non-zero
after a DAG with a deadline alert; see docs/deploy.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from orchestration import tasks as cw

SETTINGS = cw.settings()


@task
def refresh(**context) -> dict:
    return cw.refresh_task(context)


@task
def validate(**context) -> dict:
    return cw.validate_task(context)


@task
def check(**context) -> dict:
    return cw.check_task(context)


@task
def alert(**context) -> list:
    return cw.alert_task(context)


@task
def report(**context) -> dict:
    return cw.report_task(context)


@task(retries=0)
def quality_gate(validated: dict) -> str:
    return cw.quality_gate_task(validated)


@dag(
    dag_id=cw.REPORT_DAG,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(
            cw.report_cron(SETTINGS), timezone=SETTINGS.business_hours.timezone
        ),
        assets=AssetAny(*(cw.platform_asset(p) for p in cw.PLATFORMS)),
    ),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    deadline=cw.report_deadline(SETTINGS),
    tags=[*cw.DAG_TAGS, "report"],
    doc_md=__doc__,
    default_args={
        "owner": "channelwatch",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=30),
    },
)
def channelwatch_checks_report():
    validated = validate()
    reported = report()
    refresh() >> validated >> check() >> [alert(), reported]
    reported >> quality_gate(validated)


channelwatch_checks_report()
