"""Precision and recall of the compliance checks, per rule.

    .venv/bin/python bench/checks_quality.py
    .venv/bin/python bench/checks_quality.py --labelled-dev ../shared/data/labelled-dev
    .venv/bin/python bench/checks_quality.py --show-errors off_brand.political

Without options: the project's own evaluation set, bench/data/checks_eval.jsonl (written for
this project: for every rule, positives and hard negatives side by side; each line has
"scope", the rule it tests, and "expect", the rules that must fire), checked with the
council configuration in bench/data/checks_eval_config.yml (published contact details,
partners). Each rule is scored on
the lines of its scope; a finding of a finer rule (off_brand.style.naming) counts for its
parent. Targets: precision >= 0.90 and recall >= 0.85 for every rule.

With --labelled-dev DIR: the real labelled development sets (never copied into the
repository; see that folder's README), each mapped to the rule it measures:
  offensive.jsonl        offensive          -> moderation.abuse (public comment)
  comment_spam.jsonl     spam               -> third_party_advertising.comment_spam
  complaints.jsonl       complaint          -> needs a reply (unanswered.sla_breach with no
                                               council reply, a month later; the tweets are
                                               mentions of the company); the negatives
                                               are often questions, which also need a reply,
                                               so only recall is meaningful there
  partisan.jsonl         partisan           -> off_brand.political (as a council post)
  self_harm_risk.jsonl   risk               -> safeguarding.concern (public comment)
  foi_titles.jsonl       all positive       -> foi_request.received recall, on the bare
                                               title and on the title inside a plain request
                                               ("Please could you tell me about: <title>")
  twcs_conversations_first_5000.csv         -> the responsiveness figures on real threads
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from checks import responsiveness, run_checks  # noqa: E402
from kernel.config import Settings, load_settings  # noqa: E402
from kernel.items import Item  # noqa: E402

EVAL = Path(__file__).with_name("data") / "checks_eval.jsonl"
EVAL_CONFIG = Path(__file__).with_name("data") / "checks_eval_config.yml"
CREATED = datetime(2025, 3, 3, 10, tzinfo=UTC)  # a Monday morning
AS_OF = CREATED + timedelta(days=30)


def _item(i: int, text: str, own: bool, kind: str, flags: dict | None = None) -> Item:
    item_id = f"x{i}"
    root = item_id if kind == "post" else f"t{i}"
    return Item(
        "facebook",
        item_id,
        kind,
        "acct",
        "acct" if own else f"u{i}",
        "Council" if own else "Resident",
        own,
        None if kind == "post" else root,
        root,
        CREATED,
        text,
        None,
        flags or {},
    )


def _fired(items: list[Item], settings: Settings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for f in run_checks(items, settings, AS_OF):
        parts = f.rule.split(".")
        for n in range(2, len(parts) + 1):
            out[f.item_id].add(".".join(parts[:n]))
    return out


def _score(pairs: list[tuple[bool, bool]]) -> tuple[int, int, float | None, float | None]:
    tp = sum(1 for e, p in pairs if e and p)
    fp = sum(1 for e, p in pairs if not e and p)
    fn = sum(1 for e, p in pairs if e and not p)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return sum(1 for e, _ in pairs if e), sum(1 for e, _ in pairs if not e), precision, recall


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def own_set(show: str | None) -> int:
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line]
    items = [
        _item(i, r["text"], r["is_own"], r["kind"], r.get("flags")) for i, r in enumerate(rows)
    ]
    fired = _fired(items, load_settings(EVAL_CONFIG))
    by_rule: dict[str, list[tuple[bool, bool, str]]] = defaultdict(list)
    for i, r in enumerate(rows):
        rule = r["scope"]
        by_rule[rule].append((rule in r["expect"], rule in fired.get(f"x{i}", ()), r["text"]))
    print(
        f"Own evaluation set: {EVAL.relative_to(Path.cwd()) if EVAL.is_relative_to(Path.cwd()) else EVAL}"
        f" ({len(rows)} lines)"
    )
    print(f"{'rule':42} {'pos':>4} {'neg':>4} {'precision':>9} {'recall':>7}")
    failed = 0
    for rule in sorted(by_rule):
        pos, neg, p, r = _score([(e, f) for e, f, _ in by_rule[rule]])
        ok = p is not None and r is not None and p >= 0.9 and r >= 0.85
        failed += not ok
        print(
            f"{rule:42} {pos:4d} {neg:4d} {_fmt(p):>9} {_fmt(r):>7}{'' if ok else '  below target'}"
        )
        if show is not None and rule.startswith(show):
            for e, f, text in by_rule[rule]:
                if e != f:
                    print(f"    {'missed' if e else 'false alarm'}: {text}")
    return failed


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def labelled(folder: Path, show: str | None) -> None:
    sets = [
        ("offensive.jsonl", "offensive", "moderation.abuse", False, "comment"),
        ("comment_spam.jsonl", "spam", "third_party_advertising.comment_spam", False, "comment"),
        ("complaints.jsonl", "complaint", "unanswered.sla_breach", False, "mention"),
        ("partisan.jsonl", "partisan", "off_brand.political", True, "post"),
        ("self_harm_risk.jsonl", "risk", "safeguarding.concern", False, "comment"),
    ]
    print(f"\nLabelled development sets: {folder}")
    print(f"{'file':22} {'rule':38} {'pos':>5} {'neg':>5} {'precision':>9} {'recall':>7}")
    settings = Settings()
    for name, positive, rule, own, kind in sets:
        path = folder / name
        if not path.exists():
            print(f"{name:22} (missing)")
            continue
        rows = _read_jsonl(path)
        items = [_item(i, r["text"], own, kind) for i, r in enumerate(rows)]
        fired = _fired(items, settings)
        pairs = [
            (r["label"] == positive, rule in fired.get(f"x{i}", ())) for i, r in enumerate(rows)
        ]
        pos, neg, p, r = _score(pairs)
        print(f"{name:22} {rule:38} {pos:5d} {neg:5d} {_fmt(p):>9} {_fmt(r):>7}")
        if show is not None and rule.startswith(show):
            shown = 0
            for (e, f), row in zip(pairs, rows):
                if e != f and shown < 40:
                    shown += 1
                    print(f"    {'missed' if e else 'false alarm'}: {row['text'][:150]}")
    path = folder / "foi_titles.jsonl"
    if path.exists():
        rows = _read_jsonl(path)
        for label, template in (
            ("bare title", "{}"),
            ("in a plain request", "Please could you tell me about: {}"),
        ):
            items = [
                _item(i, template.format(r["text"]), False, "comment") for i, r in enumerate(rows)
            ]
            fired = _fired(items, settings)
            hit = sum(
                1 for i in range(len(rows)) if "foi_request.received" in fired.get(f"x{i}", ())
            )
            print(
                f"{'foi_titles.jsonl':22} {'foi_request.received (' + label + ')':38} "
                f"{len(rows):5d} {0:5d} {'  n/a':>9} {hit / len(rows):7.3f}"
            )
    path = folder / "twcs_conversations_first_5000.csv"
    if path.exists():
        twcs(path, settings)


def twcs(path: Path, settings: Settings) -> None:
    """Responsiveness on real customer-service threads: brands' replies are 'own' items."""
    with path.open(encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r.get("tweet_id") and r.get("created_at") and r.get("author_id")
        ]
    by_id = {r["tweet_id"]: r for r in rows}

    def root_of(r: dict) -> str:
        seen = set()
        while r.get("in_response_to_tweet_id") and r["tweet_id"] not in seen:
            seen.add(r["tweet_id"])
            parent = by_id.get(str(int(float(r["in_response_to_tweet_id"]))))
            if parent is None:
                break
            r = parent
        return r["tweet_id"]

    brands = {r["author_id"] for r in rows if r["inbound"] == "False"}
    items = []
    for r in rows:
        own = r["inbound"] == "False"
        brand = (
            r["author_id"]
            if own
            else next((b for b in brands if f"@{b}".lower() in (r["text"] or "").lower()), "other")
        )
        created = datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")
        items.append(
            Item(
                "twitter",
                r["tweet_id"],
                "mention",
                brand,
                r["author_id"],
                r["author_id"],
                own,
                None,
                root_of(r),
                created,
                r["text"] or "",
            )
        )
    as_of = max(i.created_at for i in items) + timedelta(days=1)
    figures = responsiveness(items, settings, as_of)
    figures = sorted(figures, key=lambda f: -f.needing_reply)[:6]
    print(
        f"\nResponsiveness on {path.name} ({len(items)} tweets; brands as the 'council'; "
        "Mon-Fri 09:00-17:00 Europe/London business hours):"
    )
    print(f"{'account':16} {'need':>5} {'replied':>7} {'rate':>6} {'median h':>8} {'p90 h':>7}")
    for f in figures:
        print(
            f"{f.account:16} {f.needing_reply:5d} {f.replied:7d} {_fmt(f.reply_rate):>6} "
            f"{_fmt(f.median_first_response_hours):>8} {_fmt(f.p90_first_response_hours):>7}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="Precision and recall of the checks per rule.")
    parser.add_argument(
        "--labelled-dev",
        type=Path,
        metavar="DIR",
        help="also measure on the real labelled development sets in DIR",
    )
    parser.add_argument(
        "--show-errors",
        metavar="RULE",
        help="list misses and false alarms of rules starting with RULE",
    )
    args = parser.parse_args()
    failed = own_set(args.show_errors)
    if args.labelled_dev:
        labelled(args.labelled_dev, args.show_errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
