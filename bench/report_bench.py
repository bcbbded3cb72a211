"""The daily report over a big warehouse: 1,000,000 items and 30 days of findings.

    .venv/bin/python bench/report_bench.py [--items 1000000] [--days 30] [--db FILE] [--repeat 3]

Builds a SQLite warehouse (migrated with Alembic, then filled by bulk inserts): items spread
over the days across the four channels, item responses for the public ones, findings with a
realistic lifecycle (detected, carried over, acknowledged, resolved, dismissed) and their
events, hourly ingestion runs per account and a few quarantined batches. Then times
`build_report` for the last day (HTML, CSV, JSON and the `reports` row), and prints the
seconds and the sizes. Target (issue 6): under 10 s. An existing --db is reused as is.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from channelwatch.findings import finding_id  # noqa: E402
from channelwatch.report import build_report  # noqa: E402
from channelwatch.warehouse import make_engine, upgrade  # noqa: E402
from kernel.config import settings_from_dict  # noqa: E402

ACCOUNTS = {
    "facebook": ("104958162837", "Bracknell Forest Council"),
    "instagram": ("17841400000000001", "Bracknell Forest Council"),
    "youtube": ("UCbfc0000000000000000001", "Bracknell Forest Council"),
    "twitter": ("2244994945", "Bracknell Forest Council"),
}
TEXTS = [
    "What time does the recycling centre open on Sunday?",
    "My bins have not been collected for two weeks now. This is unacceptable.",
    "Thank you, that's really helpful!",
    "There's a massive pothole on Crowthorne Road near the roundabout, nearly lost a tyre.",
    "Looks lovely, we went last year.",
    "Under the Freedom of Information Act please provide the amount spent on agency staff.",
    "Brilliant work by the team clearing the snow this morning",
    "Please can someone get back to me about my council tax refund?",
]
# category → (rule, severity, route, share of findings)
RULES = [
    ("unanswered", "unanswered.sla_breach", "medium", "comms", 0.45),
    ("moderation", "moderation.abuse", "high", "comms", 0.15),
    ("moderation", "moderation.personal_data", "medium", "comms", 0.06),
    ("third_party_advertising", "third_party_advertising.comment_spam", "low", "comms", 0.12),
    ("third_party_advertising", "third_party_advertising.sponsored_post", "high", "comms", 0.02),
    ("off_brand", "off_brand.political", "medium", "comms", 0.03),
    ("off_brand", "off_brand.profanity", "medium", "comms", 0.03),
    ("foi_request", "foi_request.received", "medium", "information_compliance", 0.08),
    ("safeguarding", "safeguarding.concern", "high", "safeguarding_lead", 0.06),
]
FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a UTC datetime on SQLite


def ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime(FMT)


def settings(out_dir: str):
    return settings_from_dict(
        {
            "accounts": {
                p: [{"id": a, "name": n, "conn_id": f"cw_{p}"}] for p, (a, n) in ACCOUNTS.items()
            },
            "report": {"out_dir": out_dir},
        }
    )


def build(db: Path, n_items: int, days: int, end: datetime, seed: int = 1) -> dict[str, int]:
    """Fill a migrated SQLite warehouse with bulk inserts; returns the row counts."""
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    con = sqlite3.connect(db)
    con.execute("pragma journal_mode=off")
    con.execute("pragma synchronous=off")
    con.execute("pragma foreign_keys=off")
    con.executemany(
        "insert into accounts values (?,?,?,?,?,?,?)",
        [(p, a, "", n, f"cw_{p}", ts(start), ts(start)) for p, (a, n) in ACCOUNTS.items()],
    )
    platforms = list(ACCOUNTS)
    items, responses, finds, events = [], [], [], []
    counts = {"items": 0, "item_responses": 0, "findings": 0, "finding_events": 0}

    def flush(final: bool = False) -> None:
        if len(items) >= 50_000 or (final and items):
            con.executemany(
                "insert into items (platform, item_id, kind, account_id, author_id,"
                " author_name, author_ref, is_own, parent_id, root_id, created_at,"
                " text, url, flags, content_hash, version, first_seen_at,"
                " last_seen_at, deleted_at) values "
                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                items,
            )
            counts["items"] += len(items)
            items.clear()
        if len(responses) >= 50_000 or (final and responses):
            con.executemany("insert into item_responses values (?,?,?,?,?,?,?,?,?,?)", responses)
            counts["item_responses"] += len(responses)
            responses.clear()
        if len(finds) >= 20_000 or (final and finds):
            con.executemany("insert into findings values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", finds)
            con.executemany(
                "insert into finding_events (finding_id, at, actor, action,"
                " from_status, to_status, reason) values (?,?,?,?,?,?,?)",
                events,
            )
            counts["findings"] += len(finds)
            counts["finding_events"] += len(events)
            finds.clear()
            events.clear()

    weights = [r[4] for r in RULES]
    for i in range(n_items):
        platform = platforms[i % 4]
        account = ACCOUNTS[platform][0]
        created = start + timedelta(seconds=span * i / n_items)
        is_post = i % 40 < 4
        root = f"i{(i // 40) * 40 + (i % 4)}"
        item_id = f"i{i}"
        text = TEXTS[i % len(TEXTS)]
        seen = created + timedelta(minutes=30)
        deleted = ts(seen + timedelta(hours=6)) if rng.random() < 0.02 else None
        items.append(
            (
                platform,
                item_id,
                "post" if is_post else "comment",
                account,
                account if is_post else f"u{i % 50_000}",
                "Resident",
                f"r{i % 50_000}",
                is_post,
                None if is_post else root,
                item_id if is_post else root,
                ts(created),
                text,
                f"https://{platform}.example/{item_id}",
                "{}",
                f"{i:032x}",
                1,
                ts(seen),
                ts(seen),
                deleted,
            )
        )
        if is_post:
            continue
        needs = rng.random() < 0.4
        reply_at = hours = None
        if needs and rng.random() < 0.7:
            hours = round(rng.expovariate(1 / 5.0), 3)
            reply_at = ts(created + timedelta(hours=hours * 2))
        responses.append(
            (
                platform,
                item_id,
                account,
                ts(created),
                int(created.timestamp()),
                needs,
                f"r{i}" if reply_at else None,
                reply_at,
                hours,
                ts(end),
            )
        )
        if rng.random() < 0.05:  # about 47,500 findings over the period
            category, rule, severity, route, _ = rng.choices(RULES, weights)[0]
            fid = finding_id(platform, item_id, rule)
            detected = created + timedelta(hours=rng.uniform(0.5, 12))
            if detected > end:
                detected = end - timedelta(minutes=5)
            due = (
                created + timedelta(days=28)
                if category == "foi_request"
                else created + timedelta(hours=8)
            )
            evs = [(fid, ts(detected), "channelwatch", "detected", None, "new", "matched")]
            status, changed = "new", detected
            age = (end - detected).total_seconds() / 86400
            if age > 1:
                changed = detected + timedelta(days=1)
                evs.append(
                    (fid, ts(changed), "channelwatch", "opened", "new", "open", "carried over")
                )
                status = "open"
                roll = rng.random()
                if roll < 0.15:
                    changed += timedelta(hours=2)
                    evs.append(
                        (fid, ts(changed), "alice", "acknowledged", "open", "acknowledged", "on it")
                    )
                    status = "acknowledged"
                if roll < 0.75 and age > 2 and category != "safeguarding":
                    changed = min(
                        changed + timedelta(days=rng.uniform(0.1, age - 1.5)),
                        end - timedelta(hours=1),
                    )
                    action = "dismissed" if roll < 0.1 else "resolved"
                    actor = "bob" if action == "dismissed" or roll < 0.4 else "channelwatch"
                    evs.append((fid, ts(changed), actor, action, status, action, "done"))
                    status = action
            finds.append(
                (
                    fid,
                    platform,
                    item_id,
                    category,
                    rule,
                    severity,
                    route,
                    f'matched "{text[:20]}"',
                    0,
                    20,
                    ts(due),
                    ts(detected),
                    status,
                    ts(changed),
                    ts(changed),
                )
            )
            events.extend(evs)
        flush()
    flush(final=True)

    runs, endpoints, quarantined = [], [], []
    for day in range(days):
        for hour in range(24):
            at = start + timedelta(days=day, hours=hour)
            for platform, (account, _) in ACCOUNTS.items():
                run_id = f"{platform}-{day}-{hour}"
                failed = rng.random() < 0.01
                calls = 12 + rng.randint(0, 20)
                units = calls * (3 if platform == "youtube" else 0)
                runs.append(
                    (
                        run_id,
                        platform,
                        account,
                        ts(at - timedelta(hours=1)),
                        ts(at),
                        ts(at),
                        ts(at + timedelta(minutes=2)),
                        "failed" if failed else "success",
                        "HTTP 503 from the API" if failed else None,
                        calls,
                        units,
                        n_items // (days * 24 * 4),
                        0,
                        0,
                        0,
                    )
                )
                endpoints.append((run_id, f"{platform}.comments", calls, units, 0))
                if failed and rng.random() < 0.5:
                    quarantined.append(
                        (
                            run_id,
                            platform,
                            account,
                            ts(at),
                            250,
                            json.dumps(["expect_column_values_to_not_be_null"]),
                            "{}",
                            "[]",
                            None,
                        )
                    )
    con.executemany("insert into ingestion_runs values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
    con.executemany("insert into ingestion_run_endpoints values (?,?,?,?,?)", endpoints)
    con.executemany(
        "insert into quarantined_batches (run_id, platform, account_id,"
        " quarantined_at, item_count, failed_expectations, validation_result,"
        " items, released_at) values (?,?,?,?,?,?,?,?,?)",
        quarantined,
    )
    con.commit()
    con.execute("analyze")
    con.close()
    counts.update(ingestion_runs=len(runs), quarantined_batches=len(quarantined))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--db", type=Path, help="warehouse file (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3, help="report renders to time")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cw-report-bench-"))
    db = args.db or workdir / "warehouse.db"
    report_day = date(2026, 11, 20)
    end = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)
    if not db.exists():
        t0 = time.perf_counter()
        counts = build(db, args.items, args.days, end)
        print(
            f"built {db} in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
            flush=True,
        )
    else:
        print(f"reusing {db}", flush=True)
    cfg = settings(str(workdir / "reports"))
    engine = make_engine(f"sqlite:///{db}")
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        paths = build_report(
            cfg, engine, report_day, now=datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)
        )
        times.append(time.perf_counter() - t0)
    summary = json.loads(paths.json.read_text())
    csv_rows = sum(1 for _ in paths.csv.open()) - 1
    print(
        f"report for {report_day}: first {times[0]:.2f} s, best {min(times):.2f} s "
        f"of {len(times)} (target < 10 s)"
    )
    print(
        f"  html {paths.html.stat().st_size / 1024:.0f} KiB, csv {csv_rows:,} findings, "
        f"open {summary['totals']['open']:,}, new {summary['totals']['new']:,}, "
        f"closed today {summary['totals']['closed']:,}"
    )
    print(f"  files in {paths.html.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
