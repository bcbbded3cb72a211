"""
### channelwatch ingestion

Every hour, one incremental pass per configured account pulls the council's new posts and
everything the public wrote on them into the warehouse.

* **Accounts** come from the configuration file named by `CHANNELWATCH_CONFIG`: one mapped
  task per platform, mapped over that platform's accounts (a platform with none is skipped).
* **Pools** `channelwatch_<platform>` limit concurrent passes against each API; their sizes
  are `monitoring.pools`, created by `channelwatch airflow-setup` (a task naming a missing
  pool would wait forever).
* **Data quality**: each batch passes the Great Expectations gate before it is loaded; a
  failing batch is quarantined (`quarantined_batches`) and the task fails at once, without
  retries. Other failures retry with exponential backoff.
* **Assets**: a successful pass emits `channelwatch_items_<platform>` with the run's row
  counts as metadata; the checks-and-report DAG is scheduled on these assets.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from orchestration import tasks as cw

SETTINGS = cw.settings()


@task
def accounts(platform: str) -> list[str]:
    """The configured account ids of one platform."""
    return cw.accounts(platform)


@task(map_index_template="{{ account_label }}")
def ingest(platform: str, account_id: str) -> dict:
    """One account's pass through the quality gate into the warehouse."""
    context = get_current_context()
    context["account_label"] = f"{platform}:{account_id}"
    return cw.ingest_task(platform, account_id, context)


@dag(
    dag_id=cw.INGESTION_DAG,
    schedule=CronTriggerTimetable(
        cw.INGESTION_CRON, timezone=SETTINGS.business_hours.timezone, interval=timedelta(hours=1)
    ),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=[*cw.DAG_TAGS, "ingestion"],
    doc_md=__doc__,
    default_args={
        "owner": "channelwatch",
        "retries": 4,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "execution_timeout": timedelta(minutes=40),
    },
)
def channelwatch_ingestion():
    for platform in cw.PLATFORMS:
        listed = accounts.override(task_id=f"accounts_{platform}")(platform)
        ingest.override(
            task_id=f"ingest_{platform}",
            pool=cw.pool_name(platform),
            outlets=[cw.platform_asset(platform)],
        ).partial(platform=platform).expand(account_id=listed)


channelwatch_ingestion()
