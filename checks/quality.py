"""Data-quality gates: Great Expectations 1.x suites over each ingested batch.

The suites are built in code and run in an ephemeral GX context (no project folder, no
stores, no analytics; the GX Airflow provider cannot be installed beside Airflow 3.3).
Each canonical item of a batch becomes a row of a pandas DataFrame with a few derived
columns, so every expectation is one of GX's own core expectations:

============================  ==========================================================
expectation                    what it guards
============================  ==========================================================
id not null                    every item has the platform's id
(platform, id) unique          one row per platform id within a batch
platform in {platform}         the batch holds only its account's platform
created_epoch not null         the timestamp parses as ISO 8601 with an offset
created_epoch <= now + skew    no timestamp in the future
text_type in {"str"}           texts are strings (never null, bytes or numbers)
account in configured ids      the batch belongs to a configured account
parent_known is True           a reply's parent is in the batch, stored, or (pass suite)
                               stored by the end of the pass; a reply whose parent is
                               gone (X keeps replies to deleted posts) passes when its
                               thread's root is there
counted >= reported            (pass suite) the warehouse holds at least as many comments
                               as the API's own total says exist: Graph comment
                               summaries, Instagram comments_count, YouTube
                               totalReplyCount
============================  ==========================================================

`validate_batch` runs before a batch is loaded. `validate_pass` runs once the last batch of
a pass is committed: a connector may list replies before the posts they answer (YouTube
lists comment threads before videos), so a parent missing from a batch and from the
warehouse is looked for again at the end of the pass, and the API totals are compared with
what is then stored. A failing result carries the GX validation result (JSON) and a short
list of failed expectations with example ids, which the pipeline stores in
``quarantined_batches``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402 - after switching analytics off
import pandas as pd  # noqa: E402

from kernel.items import Item, ItemError, parse_timestamp  # noqa: E402

__all__ = [
    "QualityResult",
    "Total",
    "validate_batch",
    "validate_pass",
    "validate_totals",
    "reported_totals",
    "parents_to_look_up",
    "CLOCK_SKEW",
]

log = logging.getLogger(__name__)

# A platform's clock and ours may differ a little; more than this is "in the future".
CLOCK_SKEW = timedelta(minutes=5)
EXAMPLES = 20  # failing ids kept per expectation

BATCH_SUITE = "channelwatch.batch"
TOTALS_SUITE = "channelwatch.totals"
PASS_SUITE = "channelwatch.pass"


@dataclasses.dataclass(slots=True)
class QualityResult:
    """The outcome of one suite over one batch.

    Attributes:
        suite: the suite's name.
        success: True when every expectation passed.
        failed: one entry per failed expectation: its type, column(s), the number of
            failing rows and up to 20 of their ids.
        result: GX's validation result as JSON (stored with a quarantined batch).
        rows: rows validated.
    """

    suite: str
    success: bool
    failed: list[dict[str, Any]]
    result: dict[str, Any]
    rows: int

    def summary(self) -> str:
        """One line: which expectations failed, on how many rows, with example ids."""
        if self.success:
            return f"{self.suite}: {self.rows} rows passed"
        parts = []
        for f in self.failed:
            what = f["expectation"].removeprefix("expect_")
            where = ",".join(f["columns"])
            ids = ", ".join(str(i) for i in f["examples"][:3])
            parts.append(
                f"{what}({where}) failed on {f['unexpected_count']} rows"
                + (f" e.g. {ids}" if ids else "")
            )
        return f"{self.suite}: " + "; ".join(parts)


# -- the GX context and suites ----------------------------------------------------------


@lru_cache(maxsize=1)
def _context():
    """One ephemeral context per process, with progress bars off."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("channelwatch")
    for name in ("batch", "totals"):
        source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
    return context


def _batch_definition(asset: str):
    return (
        _context().data_sources.get("channelwatch").get_asset(asset).get_batch_definition("whole")
    )


def _result_format() -> dict[str, Any]:
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": ["id"],
        "partial_unexpected_count": EXAMPLES,
        "return_unexpected_index_query": False,
    }


def _batch_suite(platform: str, accounts: Sequence[str], now: datetime):
    _context()  # a suite needs an active context
    e = gx.expectations
    suite = gx.ExpectationSuite(name=BATCH_SUITE)
    for expectation in (
        e.ExpectColumnValuesToNotBeNull(column="id"),
        e.ExpectCompoundColumnsToBeUnique(column_list=["platform", "id"]),
        e.ExpectColumnValuesToBeInSet(column="platform", value_set=[platform]),
        e.ExpectColumnValuesToNotBeNull(column="created_epoch"),
        e.ExpectColumnValuesToBeBetween(
            column="created_epoch", max_value=(now + CLOCK_SKEW).timestamp()
        ),
        e.ExpectColumnValuesToBeInSet(column="text_type", value_set=["str"]),
        e.ExpectColumnValuesToBeInSet(column="account", value_set=sorted(accounts)),
        e.ExpectColumnValuesToBeInSet(column="parent_known", value_set=[True]),
    ):
        suite.add_expectation(expectation)
    return suite


def _totals_suite():
    _context()
    suite = gx.ExpectationSuite(name=TOTALS_SUITE)
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="counted", column_B="reported", or_equal=True
        )
    )
    return suite


# The context has one execution engine with one active batch: two threads validating at
# once would each validate whichever frame was loaded last. One validation at a time.
_VALIDATING = threading.Lock()


def _run(asset: str, suite, frame: pd.DataFrame) -> QualityResult:
    if frame.empty:
        return QualityResult(suite.name, True, [], {"success": True, "results": []}, 0)
    with _VALIDATING:
        batch = _batch_definition(asset).get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(suite, result_format=_result_format())
    result = validation.to_json_dict()
    failed = []
    for r in result.get("results", []):
        if r.get("success"):
            continue
        config = r.get("expectation_config") or {}
        kwargs = config.get("kwargs") or {}
        columns = (
            [kwargs["column"]]
            if "column" in kwargs
            else list(kwargs.get("column_list") or [])
            or [c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c]
        )
        detail = r.get("result") or {}
        examples = _example_ids(detail)
        exception = r.get("exception_info") or {}
        raised = any(
            v.get("raised_exception") for v in exception.values() if isinstance(v, dict)
        ) or exception.get("raised_exception")
        failed.append(
            {
                "expectation": config.get("type", "?"),
                "columns": columns,
                "unexpected_count": int(detail.get("unexpected_count") or 0),
                "examples": examples,
                **({"error": "the expectation raised an exception"} if raised else {}),
            }
        )
    # A compact result: GX's full lists are large and the examples above are enough.
    for r in result.get("results", []):
        detail = r.get("result") or {}
        for key in (
            "unexpected_list",
            "unexpected_index_list",
            "partial_unexpected_index_list",
            "partial_unexpected_counts",
        ):
            if isinstance(detail.get(key), list) and len(detail[key]) > EXAMPLES:
                detail[key] = detail[key][:EXAMPLES]
    result = json.loads(json.dumps(result, default=str))
    return QualityResult(suite.name, not failed, failed, result, len(frame))


def _example_ids(detail: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for entry in (
        detail.get("partial_unexpected_index_list") or detail.get("unexpected_index_list") or []
    ):
        if isinstance(entry, Mapping) and "id" in entry:
            value = entry["id"]
            out.append(None if _missing(value) else str(value))
        if len(out) >= EXAMPLES:
            break
    if not out:
        out = [str(v) for v in (detail.get("partial_unexpected_list") or [])[:EXAMPLES]]
    return out


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# -- the batch suite ---------------------------------------------------------------------


def _epoch(value: Any) -> float | None:
    try:
        return parse_timestamp(value, "created_at").timestamp()
    except (ItemError, ValueError, TypeError, OverflowError):
        return None


def _field(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def batch_frame(
    items: Iterable[Item | Mapping[str, Any]], known_ids: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """One row per item with the derived columns the batch suite reads.

    Args:
        items: canonical items (or their dict form, which may be malformed).
        known_ids: ids already stored for this platform (possible parents).
    """
    rows = []
    items = list(items)
    in_batch = {str(_field(i, "id")) for i in items if _field(i, "id") not in (None, "")}
    for item in items:
        item_id = _field(item, "id")
        parent = _field(item, "parent_id")
        root = _field(item, "root_id")
        rows.append(
            {
                "platform": _field(item, "platform"),
                "id": None if item_id in (None, "") else str(item_id),
                "account": _field(item, "account"),
                "created_epoch": _epoch(_field(item, "created_at")),
                "text_type": type(_field(item, "text")).__name__,
                "parent_known": _attached(parent, root, item_id, in_batch, known_ids),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["platform", "id", "account", "created_epoch", "text_type", "parent_known"]
    )
    # pandas 3 infers the "str" dtype for text columns; GX compares plain objects, and
    # None must stay a null, so the text columns are made object columns explicitly.
    for column in ("platform", "id", "account", "text_type"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame["created_epoch"] = pd.to_numeric(frame["created_epoch"], errors="coerce").astype(float)
    frame["parent_known"] = frame["parent_known"].astype(bool)
    return frame


def _attached(parent: Any, root: Any, item_id: Any, *known: set[str] | frozenset[str]) -> bool:
    """A reply is attached when its parent is known, or — the parent being gone (X keeps
    replies to deleted posts, and a deleted post cannot be collected afterwards) — when the
    root of its thread is. Posts are always attached."""
    if parent in (None, ""):
        return True
    if any(str(parent) in ids for ids in known):
        return True
    return root not in (None, "", item_id, parent) and any(str(root) in ids for ids in known)


def parents_to_look_up(items: Iterable[Item | Mapping[str, Any]]) -> set[str]:
    """Parent and thread-root ids of replies not in the batch itself: the caller looks them
    up in the warehouse."""
    items = list(items)
    in_batch = {str(_field(i, "id")) for i in items}
    wanted = set()
    for item in items:
        if _field(item, "parent_id") in (None, ""):
            continue
        for ref in (_field(item, "parent_id"), _field(item, "root_id")):
            if ref not in (None, "") and str(ref) not in in_batch:
                wanted.add(str(ref))
    return wanted


def validate_batch(
    items: Iterable[Item | Mapping[str, Any]],
    *,
    platform: str,
    accounts: Iterable[str],
    now: datetime,
    known_ids: set[str] | frozenset[str] = frozenset(),
) -> QualityResult:
    """Validate one batch before it is loaded.

    Args:
        items: the batch's canonical items.
        platform: the platform of the account being ingested.
        accounts: the configured account ids of that platform.
        now: the pass's clock; a timestamp later than now + 5 minutes is in the future.
        known_ids: parent ids of this batch already stored in the warehouse.

    Returns:
        A `QualityResult`; ``success`` False means the batch must not be loaded.
    """
    frame = batch_frame(items, known_ids)
    return _run("batch", _batch_suite(platform, list(accounts), now), frame)


# -- the totals suite --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Total:
    """A count the API reported for an object.

    Attributes:
        item_id: the object (a post, media, top-level comment).
        reported: the API's number.
        scope: "thread" (every comment and reply under a post) or "replies" (the direct
            replies to a comment).
        source: where it came from, e.g. "comments_count".
    """

    item_id: str
    reported: int
    scope: str
    source: str


def reported_totals(items: Iterable[Item], pages: Iterable[Any] = ()) -> list[Total]:
    """The totals an API reported for the objects of a batch.

    Read from the items' flags when a connector carries them (``comments_count``,
    ``comment_count``, ``total_reply_count``) and otherwise from the raw pages as received:
    Instagram media ``comments_count`` (replies included), a Graph connection's
    ``summary.total_count`` (filter=stream: replies included), a Graph comment's
    ``comment_count`` and a YouTube commentThread's ``snippet.totalReplyCount``.
    """
    found: dict[str, Total] = {}
    for item in items:
        flags = item.flags or {}
        for name, scope in (
            ("comments_count", "thread"),
            ("comment_total", "thread"),
            ("comment_count", "replies"),
            ("total_reply_count", "replies"),
        ):
            value = flags.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                found[item.id] = Total(item.id, value, scope, f"flags.{name}")
                break
    for page in pages:
        try:
            body = json.loads(page.body)
        except (ValueError, AttributeError, TypeError):
            continue
        _walk_totals(body, found)
    return sorted(found.values(), key=lambda t: t.item_id)


def _walk_totals(node: Any, found: dict[str, Total]) -> None:
    if isinstance(node, list):
        for value in node:
            _walk_totals(value, found)
        return
    if not isinstance(node, dict):
        return
    ident = node.get("id")
    if isinstance(ident, (str, int)) and str(ident) not in found:
        ident = str(ident)
        snippet = node.get("snippet") if isinstance(node.get("snippet"), dict) else {}
        comments = node.get("comments") if isinstance(node.get("comments"), dict) else {}
        summary = comments.get("summary") if isinstance(comments.get("summary"), dict) else {}
        top = (
            snippet.get("topLevelComment")
            if isinstance(snippet.get("topLevelComment"), dict)
            else None
        )
        if _count(node.get("comments_count")) is not None:
            found[ident] = Total(ident, _count(node["comments_count"]), "thread", "comments_count")
        elif _count(summary.get("total_count")) is not None:
            found[ident] = Total(
                ident, _count(summary["total_count"]), "thread", "comments.summary.total_count"
            )
        elif _count(node.get("comment_count")) is not None:
            found[ident] = Total(ident, _count(node["comment_count"]), "replies", "comment_count")
        elif top is not None and _count(snippet.get("totalReplyCount")) is not None:
            top_id = str(top.get("id") or ident)
            found[top_id] = Total(
                top_id, _count(snippet["totalReplyCount"]), "replies", "snippet.totalReplyCount"
            )
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk_totals(value, found)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def validate_pass(
    orphans: Sequence[Item],
    known_ids: set[str] | frozenset[str],
    totals: Sequence[tuple[Total, int]],
) -> QualityResult:
    """The checks that need a whole pass, once its batches are committed.

    Args:
        orphans: items whose parent was neither in their batch nor stored when their batch
            was validated (a connector may list replies before the posts they answer).
        known_ids: those parents (and thread roots) that are stored now.
        totals: (total, counted) pairs; counted is the number of stored, not deleted items
            in the total's scope.

    Returns:
        One `QualityResult` (suite "channelwatch.pass") over both checks.
    """
    unique = {str(i.id): i for i in orphans}
    frame = pd.DataFrame(
        [
            {"id": key, "parent_known": _attached(i.parent_id, i.root_id, i.id, known_ids)}
            for key, i in unique.items()
        ],
        columns=["id", "parent_known"],
    )
    frame["id"] = frame["id"].astype(object)
    frame["parent_known"] = frame["parent_known"].astype(bool)
    _context()
    parents = gx.ExpectationSuite(name=PASS_SUITE)
    parents.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="parent_known", value_set=[True])
    )
    first = _run("batch", parents, frame)
    second = validate_totals(totals)
    results = {
        "success": first.success and second.success,
        "results": first.result.get("results", []) + second.result.get("results", []),
    }
    return QualityResult(
        PASS_SUITE,
        first.success and second.success,
        first.failed + second.failed,
        results,
        first.rows + second.rows,
    )


def validate_totals(rows: Sequence[tuple[Total, int]]) -> QualityResult:
    """Check that the warehouse holds at least what each API total says exists.

    Args:
        rows: (total, counted) pairs; counted is the number of stored, not deleted items in
            the total's scope after the pass's batches were committed.
    """
    frame = pd.DataFrame(
        [
            {
                "id": t.item_id,
                "source": t.source,
                "reported": int(t.reported),
                "counted": int(counted),
            }
            for t, counted in rows
        ],
        columns=["id", "source", "reported", "counted"],
    )
    frame["id"] = frame["id"].astype(object)
    frame["source"] = frame["source"].astype(object)
    frame["reported"] = frame["reported"].astype("int64")
    frame["counted"] = frame["counted"].astype("int64")
    return _run("totals", _totals_suite(), frame)
