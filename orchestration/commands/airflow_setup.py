"""`channelwatch airflow-setup`: Airflow's metadata database, the pools, the warehouse.

The docker-compose init service and `channelwatch demo` run it; a DAG task that names a
pool which does not exist waits forever without a word, so the pools are created here from
monitoring.pools, every time (sizes follow the configuration).
"""

from __future__ import annotations

import argparse
import os

from channelwatch.commands.common import add_config_option, progress, settings_from_args
from kernel.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "airflow-setup",
        help="migrate Airflow's database, create the pools (and the warehouse)",
        description="Prepare Airflow for the channelwatch DAGs: run `airflow db migrate`, "
        "create or resize one pool per platform (channelwatch_<platform>, sized "
        "by monitoring.pools), and with --warehouse migrate the warehouse too. "
        "Airflow is configured by its own environment (AIRFLOW_HOME, "
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, ...).",
    )
    parser.add_argument(
        "--skip-migrate",
        action="store_true",
        help="do not run `airflow db migrate` (the database is already current)",
    )
    parser.add_argument(
        "--warehouse",
        action="store_true",
        help="also migrate the warehouse (like `channelwatch db upgrade`)",
    )
    add_config_option(parser)
    parser.set_defaults(func=_setup)


def _setup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from orchestration.local import run_airflow

    settings = settings_from_args(args)
    if not args.skip_migrate:
        home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
        progress("migrating Airflow's metadata database")
        result = run_airflow(["db", "migrate"], os.environ, home / "logs" / "db-migrate.log")
        if result.returncode != 0:
            raise UserError(
                f"`airflow db migrate` failed (exit {result.returncode}); "
                f"see {result.log}:\n{result.tail(15)}"
            )
    from orchestration.tasks import ensure_pools

    for name, slots in ensure_pools(settings).items():
        print(f"pool {name}: {slots} slots")
    if args.warehouse:
        from channelwatch.warehouse import make_engine, upgrade
        from channelwatch.warehouse.migrate import current_revision

        engine = make_engine(settings.resolved_warehouse_url())
        progress("migrating the warehouse")
        upgrade(engine)
        print(f"warehouse at revision {current_revision(engine)}")
        engine.dispose()
    return 0
