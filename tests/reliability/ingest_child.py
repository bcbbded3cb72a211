"""One account's pass in a process of its own, for the fault matrix to kill (SIGKILL).

    python -m tests.reliability.ingest_child WAREHOUSE_URL SANDBOX_URL PLATFORM NOW

Credentials come from the environment (AIRFLOW_CONN_CW_<PLATFORM>), as in production.
"""

from __future__ import annotations

import sys
from datetime import datetime


def main(argv: list[str]) -> int:
    from channelwatch.ingest import ingest_account
    from channelwatch.warehouse import make_engine
    from tests.conftest import make_settings
    from tests.reliability.world import API, account

    url, base_url, platform, now = argv
    engine = make_engine(url)
    outcome = ingest_account(
        make_settings(base_url, api=API),
        engine,
        platform,
        account(platform),
        now=datetime.fromisoformat(now),
    )
    print(outcome.status, outcome.error or "", flush=True)
    return 0 if outcome.status == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
