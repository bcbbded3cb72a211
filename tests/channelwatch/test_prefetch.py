"""The connector runs ahead of the loader in its own thread (channelwatch.ingest.prefetched),
by at most a few batches; what it raises arrives after what it produced; stopping early
closes it; a connector that reads the warehouse opts out and is read in step."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from channelwatch.ingest import PREFETCH, ingest_account, prefetched
from channelwatch.secrets import Credentials
from channelwatch.warehouse.schema import items
from connectors.base import Batch, FetchResult, RawPage
from kernel.items import Item
from tests.conftest import make_settings

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
FB = "104958162837"


def test_items_arrive_in_order_from_another_thread():
    threads = set()

    def source():
        for i in range(50):
            threads.add(threading.get_ident())
            yield i

    assert list(prefetched(source(), 2)) == list(range(50))
    assert threads and threading.get_ident() not in threads


def test_what_the_source_raises_comes_after_what_it_produced():
    def source():
        yield 1
        yield 2
        raise ValueError("page 3 is malformed")

    got = []
    with pytest.raises(ValueError, match="page 3"):
        for value in prefetched(source(), 1):
            got.append(value)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_in_its_thread_and_bounds_the_lead():
    produced, closed = [], threading.Event()

    def source():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    batches = prefetched(source(), 2)
    assert next(batches) == 0
    batches.close()
    assert closed.is_set()
    # one handed over, at most `depth` queued, one more blocked on put when told to stop
    assert len(produced) <= 1 + 2 + 1
    assert not [t for t in threading.enumerate() if t.name == "connector-prefetch"]


def _item(item_id: str) -> Item:
    return Item(
        "facebook",
        item_id,
        "post",
        FB,
        "u1",
        "A Person",
        False,
        None,
        item_id,
        NOW - timedelta(hours=1),
        "hello",
    )


class _Connector:
    """Yields three one-item batches; records how many items were committed when it was
    asked for each batch."""

    platform = "facebook"

    def __init__(self, engine, prefetch: bool) -> None:
        self.engine = engine
        self.prefetch = prefetch
        self.committed_when_asked: list[int] = []

    def fetch(self, state):
        for n in range(3):
            with self.engine.connect() as conn:
                self.committed_when_asked.append(
                    conn.execute(select(func.count()).select_from(items)).scalar_one()
                )
            yield Batch(
                [_item(f"p{n}")],
                [RawPage("facebook.posts", "GET /p", json.dumps({"data": [{"id": f"p{n}"}]}), NOW)],
            )

    def result(self):
        return FetchResult()


@pytest.mark.parametrize("prefetch", [False, True])
def test_a_connector_that_opts_out_is_read_in_step_with_the_loader(sqlite_engine, prefetch):
    connector = _Connector(sqlite_engine, prefetch)
    outcome = ingest_account(
        make_settings(),
        sqlite_engine,
        "facebook",
        FB,
        now=NOW,
        credentials=Credentials("cw_facebook", "FAKE"),
        factory=lambda *args: connector,
        pseudonymise=lambda platform, author: "ref",
    )
    assert outcome.status == "success" and outcome.stats.new == 3
    if not prefetch:
        assert connector.committed_when_asked == [0, 1, 2]
    else:
        assert all(done <= asked for asked, done in enumerate(connector.committed_when_asked))
        assert PREFETCH >= 1
