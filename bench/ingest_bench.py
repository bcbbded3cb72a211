"""End-to-end ingestion from the API sandbox into the warehouse (issue 3's benchmarks).

    .venv/bin/python bench/ingest_bench.py [--items 1000000] [--dialect sqlite|postgresql|both]
        [--repeat 1] [--data DIR] [--pg URL] [--copy-items 200000] [--no-copy]

1. A data set of about --items items over 6 days for all four platforms, generated once by
   `channelwatch sandbox generate` (in a child process) and cached under
   var/bench/sandbox-<items>/ (--data DIR: use that directory instead).
2. The sandbox, `channelwatch sandbox serve`, in a separate process (so it does not share
   the ingesting process's GIL), its clock set to the data set's end; one request per
   listing first, so that its indexes are built before the clock starts.
3. Per dialect and repeat: an empty warehouse, and a separate ingesting process (this script
   with --worker) that runs `channelwatch.ingest.ingest_account` for the four accounts one
   after the other, as the pipeline does, with the keyed pseudonymiser. It reports items,
   seconds and items/s end to end, its CPU seconds, the time spent in the load step, and
   its peak RSS (getrusage ru_maxrss: the peak resident set of the process, all threads)
   as the item count passes 10%, 30% and 100% of the run.
4. API calls per 1,000 items per platform, as counted by the sandbox, next to the minimum
   the page sizes allow, computed from the data files: ceil(n / page size) per listing and
   per nested expansion, at least one call per listing (see `minimum_calls`).
5. The warehouse load step against a raw COPY into PostgreSQL in the same run: bench/
   load_bench.py's loader and COPY on --copy-items synthetic rows, and the load step of the
   end-to-end PostgreSQL run against a raw COPY of the same rows read back from it.

Targets (issue 3): >= 20,000 items/s end to end; API calls within 5% of the minimum; peak
memory flat in volume and < 300 MB at 1,000,000 items; load step >= 0.5 x raw COPY.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DAYS = 6  # inside X's 7-day recent search, so every conversation reply is reachable
END = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
SEED = 0
ITEMS_PER_PUBLIC_ITEM = 1.358  # items per --per-day unit (posts and council replies added)
PLATFORMS = ("facebook", "instagram", "youtube", "twitter")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGE = 100  # api.page_size (Graph, commentThreads, comments, X timelines and search)
YT_PLAYLIST_PAGE = 50  # playlistItems.list's cap
YT_VIDEOS_PER_CALL = 50
YT_REPLIES_CARRIED = 5  # a commentThread carries at most 5 replies


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the data set ---------------------------------------------------------------------------


def data_set(items: int, directory: str | None) -> Path:
    """The cached data set of about `items` items (generated the first time)."""
    per_day = max(1, math.ceil(items / (len(PLATFORMS) * DAYS * ITEMS_PER_PUBLIC_ITEM)))
    path = Path(directory) if directory else ROOT / "var" / "bench" / f"sandbox-{items}"
    manifest = path / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        if directory or (
            meta.get("per_day") == per_day and meta.get("days") == DAYS and meta.get("seed") == SEED
        ):
            return path
    log(f"generating {path} ({DAYS} days, {per_day} public items per platform a day)")
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "channelwatch",
            "sandbox",
            "generate",
            "--out",
            str(path),
            "--days",
            str(DAYS),
            "--per-day",
            str(per_day),
            "--seed",
            str(SEED),
            "--end",
            END.isoformat(),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    log(f"generated in {time.perf_counter() - start:.0f} s")
    return path


def data_end(path: Path) -> datetime:
    end = json.loads((path / "manifest.json").read_text()).get("end")
    return datetime.fromisoformat(end) if end else END


# -- the minimum number of calls, from the data ------------------------------------------------


def _jsonl(path: Path):
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and ":" not in value[-5:]:
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)


def _visible(obj: dict, created: str | None, now: datetime) -> bool:
    when = _time(created)
    if when is not None and when > now:
        return False
    gone = _time((obj.get("_sandbox") or {}).get("deleted_at"))
    return gone is None or gone > now


def _pages(n: int, size: int = PAGE) -> int:
    """Calls to list n items, at least one (an empty listing is still asked for)."""
    return max(1, math.ceil(n / size))


def _more_pages(n: int, size: int = PAGE) -> int:
    """Calls after the first page, which came nested in its parent's response."""
    return max(0, math.ceil(n / size) - 1)


def minimum_calls(path: Path, now: datetime, accounts: dict) -> dict[str, dict]:
    """Per platform: {"items": visible items, "calls": {endpoint: minimum calls}, "note"}.

    Facebook: posts ceil(P/100); each post's comments (filter=stream: replies included) come
    in its nested connection, 100 a page: ceil(c/100) - 1 more calls per post.
    Instagram: media ceil(M/100); comments nested in media, replies nested in comments:
    ceil(n/100) - 1 more calls per media and per comment.
    YouTube: channels 1; playlistItems ceil(V/50); commentThreads ceil(T/100); comments
    ceil(r/100) per thread with more than the 5 replies a thread carries (comments.list has
    no offset, so all r are read); videos ceil(V/50).
    X: users_tweets ceil(own/100); users_mentions ceil(mentions/100); search_recent: per
    query the connector must send (the 512-character query limit fits about 12
    conversations), max(1, ceil(results/100)).
    """
    out: dict[str, dict] = {}
    # Facebook
    posts = {
        p["id"]
        for p in _jsonl(path / "facebook/posts.jsonl")
        if _visible(p, p.get("created_time"), now)
    }
    comments = [
        (c["id"], (c.get("parent") or {}).get("id"), _visible(c, c.get("created_time"), now))
        for c in _jsonl(path / "facebook/comments.jsonl")
    ]
    page = accounts["facebook"]["id"]
    alive = {cid for cid, parent, ok in comments if ok and not parent}
    per_post: dict[str, int] = {}
    for cid, parent, ok in comments:
        post = f"{page}_{cid.split('_')[0]}"
        if ok and post in posts and (not parent or parent in alive):
            per_post[post] = per_post.get(post, 0) + 1
    out["facebook"] = {
        "items": len(posts) + sum(per_post.values()),
        "calls": {
            "facebook.posts": _pages(len(posts)),
            "facebook.comments": sum(_more_pages(n) for n in per_post.values()),
        },
    }
    del comments
    # Instagram
    media = {
        m["id"]
        for m in _jsonl(path / "instagram/media.jsonl")
        if _visible(m, m.get("timestamp"), now)
    }
    ig = [
        (
            c["id"],
            (c.get("media") or {}).get("id"),
            c.get("parent_id"),
            _visible(c, c.get("timestamp"), now),
        )
        for c in _jsonl(path / "instagram/comments.jsonl")
    ]
    top = {cid: m for cid, m, parent, ok in ig if ok and not parent and m in media}
    per_media: dict[str, int] = {}
    per_comment: dict[str, int] = {}
    for _cid, m, parent, ok in ig:
        if ok and not parent and m in media:
            per_media[m] = per_media.get(m, 0) + 1
        elif ok and parent in top:
            per_comment[parent] = per_comment.get(parent, 0) + 1
    out["instagram"] = {
        "items": len(media) + len(top) + sum(per_comment.values()),
        "calls": {
            "instagram.media": _pages(len(media)),
            "instagram.comments": sum(_more_pages(n) for n in per_media.values()),
            "instagram.replies": sum(_more_pages(n) for n in per_comment.values()),
        },
    }
    del ig
    # YouTube
    videos = {
        v["id"]
        for v in _jsonl(path / "youtube/videos.jsonl")
        if _visible(v, (v.get("snippet") or {}).get("publishedAt"), now)
    }
    threads: set[str] = set()
    replies: dict[str, dict[str, bool]] = {}
    for t in _jsonl(path / "youtube/commentThreads.jsonl"):
        snippet = t.get("snippet") or {}
        top_comment = snippet.get("topLevelComment") or {}
        if snippet.get("videoId") in videos and _visible(
            top_comment, (top_comment.get("snippet") or {}).get("publishedAt"), now
        ):
            threads.add(t["id"])
        for r in (t.get("replies") or {}).get("comments") or []:
            replies.setdefault(t["id"], {})[r["id"]] = _visible(
                r, (r.get("snippet") or {}).get("publishedAt"), now
            )
    for r in _jsonl(path / "youtube/comments.jsonl"):
        snippet = r.get("snippet") or {}
        replies.setdefault(snippet.get("parentId"), {})[r["id"]] = _visible(
            r, snippet.get("publishedAt"), now
        )
    per_thread = {t: sum(v.values()) for t, v in replies.items() if t in threads}
    out["youtube"] = {
        "items": len(videos) + len(threads) + sum(per_thread.values()),
        "calls": {
            "youtube.channels": 1,
            "youtube.playlistItems": _pages(len(videos), YT_PLAYLIST_PAGE),
            "youtube.commentThreads": _pages(len(threads)),
            "youtube.comments": sum(
                _pages(n) for n in per_thread.values() if n > YT_REPLIES_CARRIED
            ),
            "youtube.videos": _pages(len(videos), YT_VIDEOS_PER_CALL),
        },
    }
    del replies
    # X
    from connectors.twitter.connector import conversation_queries
    from connectors.twitter.settings import TwitterSettings

    account = accounts["twitter"]
    council, handle = account["id"], account["handle"].lower()
    own = mentions = 0
    conversations: dict[str, int] = {}
    others: dict[str, int] = {}  # conversation -> tweets neither by nor naming the council
    for tweet in _jsonl(path / "twitter/tweets.jsonl"):
        if not _visible(tweet, tweet.get("created_at"), now):
            continue
        conversation = str(tweet.get("conversation_id") or tweet["id"])
        if tweet.get("author_id") == council:
            own += 1
            conversations[conversation] = max(conversations.get(conversation, 0), int(tweet["id"]))
            continue
        named = (tweet.get("entities") or {}).get("mentions")
        names = (
            {m.get("username", "").lower() for m in named}
            if named is not None
            else {w.lower() for w in _at_names(tweet.get("text", ""))}
        )
        if handle in names:
            mentions += 1
            if conversation == tweet["id"] or tweet.get("in_reply_to_user_id") == council:
                conversations[conversation] = max(
                    conversations.get(conversation, 0), int(tweet["id"])
                )
        elif tweet["id"] != conversation:
            others[conversation] = others.get(conversation, 0) + 1
    ordered = sorted(conversations, key=lambda c: -conversations[c])
    exclude = f"-from:{council} -@{account['handle']}"
    queries = conversation_queries(ordered, TwitterSettings().query_max_chars, exclude)
    search = [sum(others.get(c, 0) for c in ids) for _, ids in queries]
    out["twitter"] = {
        "items": own + mentions + sum(search),
        "calls": {
            "twitter.users_tweets": _pages(own),
            "twitter.users_mentions": _pages(mentions),
            "twitter.search_recent": sum(_pages(n) for n in search),
        },
        "note": (
            f"{len(queries)} search queries for {len(ordered)} conversations "
            f"(512-character limit); page sizes alone: "
            f"{_pages(own) + _pages(mentions) + _pages(sum(search))} calls"
        ),
    }
    return out


def _at_names(text: str) -> list[str]:
    import re

    return re.findall(r"(?<![\w@])@(\w{1,15})", text)


# -- the sandbox --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """`channelwatch sandbox serve` in a child process."""

    def __init__(self, data: Path, now: datetime) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "channelwatch",
                "sandbox",
                "serve",
                "--data",
                str(data),
                "--port",
                str(port),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.proc.stdout.readline()  # "sandbox serving ..."
        self.request("POST", "/__sandbox/clock", {"now": now.isoformat()})

    def request(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": "Bearer warm-up"},
        )
        with urllib.request.urlopen(req, timeout=600) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def warm(self, accounts: dict) -> float:
        """One request per listing, so that the sandbox builds its indexes now."""
        start = time.perf_counter()
        fb, ig = accounts["facebook"]["id"], accounts["instagram"]["id"]
        yt, tw = accounts["youtube"]["id"], accounts["twitter"]["id"]
        for path in (
            f"/v23.0/{fb}/published_posts?limit=1&access_token=warm-up",
            f"/v23.0/{ig}/media?limit=1&access_token=warm-up",
            f"/youtube/v3/channels?part=contentDetails&id={yt}&key=warm-up",
            f"/youtube/v3/commentThreads?part=snippet&allThreadsRelatedToChannelId={yt}"
            "&maxResults=1&key=warm-up",
            f"/2/users/{tw}/tweets?max_results=5",
            f"/2/users/{tw}/mentions?max_results=5",
            "/2/tweets/search/recent?query=conversation_id:1&max_results=10",
        ):
            self.request("GET", path)
        self.request("DELETE", "/__sandbox/calls")
        return time.perf_counter() - start

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- the ingesting process ------------------------------------------------------------------------


def settings_for(base_url: str, accounts: dict):
    from kernel.config import settings_from_dict

    return settings_from_dict(
        {
            "accounts": {
                p: [{"id": a["id"], "handle": a["handle"], "name": a["name"], "conn_id": f"cw_{p}"}]
                for p, a in accounts.items()
            },
            "api": {
                "base_url": base_url,
                "lookback_days": DAYS + 1,
                "timeout_seconds": 120,
                "max_retries": 2,
                "max_wait_seconds": 5,
            },
        },
        "ingest-bench",
    )


def worker(args: argparse.Namespace) -> int:
    """Ingest the four accounts into args.warehouse; print one JSON line of figures."""
    from channelwatch import ingest
    from channelwatch.privacy import make_pseudonymiser
    from channelwatch.secrets import Credentials
    from channelwatch.warehouse import load, make_engine

    accounts = json.loads(args.accounts)
    settings = settings_for(args.sandbox, accounts)
    if args.prefetch is not None:
        ingest.PREFETCH = args.prefetch
    now = datetime.fromisoformat(args.now)
    engine = make_engine(args.warehouse)
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))
    pseudonymise = make_pseudonymiser("ingest-bench-key")

    # The load step: from load_batch's start to its commit (the progress callback runs
    # right after the commit).
    load_time = [0.0]
    started = [0.0]
    real_load_batch = load.load_batch

    def timed_load_batch(*a, **kw):
        started[0] = time.perf_counter()
        return real_load_batch(*a, **kw)

    ingest.load.load_batch = timed_load_batch
    done_before = [0]
    rss: list[dict] = []

    def progress(stats) -> None:
        load_time[0] += time.perf_counter() - started[0]
        total = done_before[0] + stats.seen
        while checkpoints and total >= checkpoints[0]:
            checkpoints.pop(0)
            rss.append({"items": total, "peak_rss_mb": _peak_rss_mb(), "rss_mb": _rss_mb()})

    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    platforms = {}
    for platform in PLATFORMS:
        t0 = time.perf_counter()
        outcome = ingest.ingest_account(
            settings,
            engine,
            platform,
            accounts[platform]["id"],
            now=now,
            credentials=Credentials(f"cw_{platform}", "ingest-bench-token"),
            progress=progress,
            pseudonymise=pseudonymise,
        )
        done_before[0] += outcome.stats.seen
        platforms[platform] = {
            "status": outcome.status,
            "error": outcome.error,
            "items": outcome.stats.seen,
            "new": outcome.stats.new,
            "api_calls": outcome.api_calls,
            "seconds": time.perf_counter() - t0,
        }
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    rss.append({"items": done_before[0], "peak_rss_mb": _peak_rss_mb(), "rss_mb": _rss_mb()})
    engine.dispose()
    print(
        json.dumps(
            {
                "items": done_before[0],
                "seconds": seconds,
                "platforms": platforms,
                "cpu_seconds": (after.ru_utime + after.ru_stime)
                - (usage.ru_utime + usage.ru_stime),
                "load_seconds": load_time[0],
                "rss": rss,
            }
        )
    )
    return 0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- warehouses ----------------------------------------------------------------------------------


class Warehouse:
    """An empty, migrated warehouse for one run; removed afterwards."""

    def __init__(self, dialect: str, pg_admin: str, tmp: Path) -> None:
        from sqlalchemy import create_engine, text

        from channelwatch.warehouse import make_engine, upgrade

        self.dialect = dialect
        self._admin = None
        if dialect == "sqlite":
            self.url = f"sqlite:///{tmp}/warehouse-{uuid.uuid4().hex[:8]}.db"
        else:
            self.name = f"cw_ingest_bench_{uuid.uuid4().hex[:8]}"
            self._admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text(f'create database "{self.name}"'))
            self.url = pg_admin.rsplit("/", 1)[0] + f"/{self.name}"
        engine = make_engine(self.url)
        upgrade(engine)
        engine.dispose()

    def drop(self) -> None:
        from sqlalchemy import text

        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text(f'drop database if exists "{self.name}" with (force)'))
            self._admin.dispose()
        else:
            path = Path(self.url[len("sqlite:///") :])
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)


def load_vs_copy_same_rows(url: str, pg_admin: str, batch: int = 1000) -> dict:
    """The loader against a raw COPY on the rows the end-to-end run loaded, read back.

    Batch by batch (1,000 rows, one transaction each, as in the run), interleaved so that
    the machine's load weighs on both alike: load.load_items into the empty items table of
    a fresh warehouse (the step as the run does it: look-up, COPY of items and versions,
    statistics), then a raw COPY of the same rows into a bare table of the items' shape in
    the same database. Both prepare their rows in Python as bench/load_bench.py does.
    """
    from sqlalchemy import create_engine, text

    from channelwatch.privacy import make_pseudonymiser
    from channelwatch.warehouse import load, make_engine, upgrade
    from kernel.config import settings_from_dict
    from kernel.items import Item

    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    target_url = pg_admin.rsplit("/", 1)[0] + f"/{name}"
    source = make_engine(url)
    target = make_engine(target_url)
    pseudonymise = make_pseudonymiser("ingest-bench-key")
    columns = ", ".join(load.ITEM_COLUMNS)
    n, load_seconds, copy_seconds = 0, 0.0, 0.0
    try:
        upgrade(target)
        with source.connect() as reader:
            accounts = reader.execute(
                text("select platform, account_id, handle, display_name, conn_id from accounts")
            ).all()
            settings = settings_from_dict(
                {
                    "accounts": {
                        p: [
                            {"id": a, "handle": h, "name": d, "conn_id": c}
                            for (pp, a, h, d, c) in accounts
                            if pp == p
                        ]
                        for p in PLATFORMS
                    }
                }
            )
            with target.begin() as conn:
                load.sync_accounts(conn, settings)
                conn.execute(text("create table copy_bench (like items including defaults)"))
            rows = reader.execution_options(stream_results=True, yield_per=batch).execute(
                text(
                    "select platform, item_id, kind, account_id, author_id, author_name, is_own, "
                    "parent_id, root_id, created_at, text, url, flags from items "
                    "order by first_seen_at, platform, item_id"
                )
            )
            now = END
            for chunk in rows.partitions(batch):
                items = [Item(*row[:12], flags=row[12]) for row in chunk]
                start = time.perf_counter()
                with target.begin() as conn:
                    load.load_items(conn, "same-rows", items, now, pseudonymise)
                load_seconds += time.perf_counter() - start
                start = time.perf_counter()
                with target.begin() as conn:
                    raw = conn.connection.driver_connection
                    with raw.cursor() as cur:
                        with cur.copy(f"copy copy_bench ({columns}) from stdin") as copy:
                            for item in items:
                                copy.write_row(load.copy_row(item, item.content_hash(), now, ""))
                copy_seconds += time.perf_counter() - start
                n += len(items)
    finally:
        source.dispose()
        target.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()
    return {"items": n, "load": n / load_seconds, "copy": n / copy_seconds}


# -- the report ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    path = data_set(args.items, args.data)
    meta = json.loads((path / "manifest.json").read_text())
    accounts = meta["accounts"]
    now = data_end(path)
    cache = path / "bench_minimum.json"
    if cache.exists() and json.loads(cache.read_text()).get("now") == now.isoformat():
        minimum = json.loads(cache.read_text())["minimum"]
    else:
        log("computing the minimum number of calls from the data files")
        minimum = minimum_calls(path, now, accounts)
        cache.write_text(json.dumps({"now": now.isoformat(), "minimum": minimum}))
    dialects = ["sqlite", "postgresql"] if args.dialect == "both" else [args.dialect]
    checkpoints = ",".join(str(max(1, int(args.items * f))) for f in (0.1, 0.3, 1.0))

    sandbox = Sandbox(path, now)
    results: dict[str, list[dict]] = {d: [] for d in dialects}
    try:
        log(f"sandbox at {sandbox.url}: indexes built in {sandbox.warm(accounts):.1f} s")
        with tempfile.TemporaryDirectory(dir=ROOT / "var" / "bench") as tmp:
            for repeat in range(args.repeat):
                for dialect in dialects:
                    warehouse = Warehouse(dialect, args.pg, Path(tmp))
                    try:
                        sandbox.request("DELETE", "/__sandbox/calls")
                        cpu0 = sandbox.cpu_seconds()
                        out = subprocess.run(
                            [
                                sys.executable,
                                __file__,
                                "--worker",
                                "--sandbox",
                                sandbox.url,
                                "--warehouse",
                                warehouse.url,
                                "--now",
                                now.isoformat(),
                                "--accounts",
                                json.dumps(accounts),
                                "--checkpoints",
                                checkpoints,
                                *(
                                    ["--prefetch", str(args.prefetch)]
                                    if args.prefetch is not None
                                    else []
                                ),
                            ],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            check=True,
                        )
                        figures = json.loads(out.stdout.strip().splitlines()[-1])
                        figures["sandbox_cpu_seconds"] = sandbox.cpu_seconds() - cpu0
                        figures["calls"] = sandbox.request("GET", "/__sandbox/calls")
                        if dialect == "postgresql" and not args.no_copy:
                            figures["same_rows"] = load_vs_copy_same_rows(warehouse.url, args.pg)
                        figures["loadavg"] = os.getloadavg()
                        results[dialect].append(figures)
                        with (ROOT / "var" / "bench" / "ingest-results.jsonl").open(
                            "a"
                        ) as out_file:
                            out_file.write(
                                json.dumps(
                                    {
                                        "at": datetime.now(timezone.utc).isoformat(),
                                        "data": str(path),
                                        "dialect": dialect,
                                        **figures,
                                    }
                                )
                                + "\n"
                            )
                        log(
                            f"run {repeat + 1} {dialect}: {figures['items']:,} items in "
                            f"{figures['seconds']:.1f} s = "
                            f"{figures['items'] / figures['seconds']:,.0f} items/s"
                        )
                    except subprocess.CalledProcessError as exc:
                        log(exc.stderr[-3000:])
                        raise
                    finally:
                        warehouse.drop()
    finally:
        sandbox.stop()

    copy_figures = None
    if "postgresql" in dialects and not args.no_copy:
        copy_figures = load_vs_copy(args.pg, args.copy_items)
    report(args, path, meta, minimum, results, copy_figures)
    return 0


def load_vs_copy(pg_admin: str, n: int) -> dict[str, float]:
    """bench/load_bench.py's loader and raw COPY on n synthetic rows, in a fresh database."""
    import load_bench
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import StaticPool

    from channelwatch.warehouse import make_engine, upgrade

    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    url = pg_admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url, poolclass=StaticPool)  # one backend, for its CPU
        upgrade(engine)
        new, again = load_bench.bench_loader(engine, n, 1000)
        copy = load_bench.bench_copy(url, n, 1000)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()
    cpu = {
        what: [1e6 * c / n, None if v is None else 1e6 * v / n]
        for what, (c, v) in load_bench.CPU.items()
        if what.startswith("postgresql")
    }
    return {"items": n, "load": new, "load_again": again, "copy": copy, "cpu_us": cpu}


def report(args, path: Path, meta: dict, minimum: dict, results: dict, copy_figures) -> None:
    print(
        f"data set: {path} ({meta['days']} days, {meta['per_day']} public items per "
        f"platform a day, seed {meta['seed']})"
    )
    from channelwatch import ingest

    prefetch = ingest.PREFETCH if args.prefetch is None else args.prefetch
    print(f"connector prefetch: {prefetch} batches")
    print(
        "end to end (sandbox in its own process -> ingest_account -> warehouse), "
        "best / median of the runs:"
    )
    for dialect, runs in results.items():
        rates = sorted(r["items"] / r["seconds"] for r in runs)
        best = max(runs, key=lambda r: r["items"] / r["seconds"])
        print(
            f"  {dialect:<10} {best['items']:>9,} items  {best['seconds']:7.1f} s  "
            f"{rates[-1]:>8,.0f} items/s best, {statistics.median(rates):>8,.0f} median "
            f"({len(runs)} run{'s' if len(runs) > 1 else ''}; target >= 20,000)"
        )
        print(
            f"  {'':<10} ingesting process {best['cpu_seconds']:.1f} CPU s "
            f"({best['items'] / best['cpu_seconds']:,.0f} items per CPU s), sandbox "
            f"{best['sandbox_cpu_seconds']:.1f} CPU s; wall time in the load step "
            f"{best['load_seconds']:.1f} s; load average after the run "
            f"{'/'.join(f'{x:.1f}' for x in best['loadavg'])}"
        )
        per = "  ".join(
            f"{p} {f['items'] / f['seconds']:,.0f}/s" for p, f in best["platforms"].items()
        )
        print(f"  {'':<10} per platform: {per}")
        bad = [
            f"{p}: {f['error']}" for p, f in best["platforms"].items() if f["status"] != "success"
        ]
        if bad:
            print(f"  {'':<10} FAILED: {'; '.join(bad)}")
    print(
        "API calls per 1,000 items (the sandbox's counts) against the minimum the page "
        "sizes allow (computed from the data files):"
    )
    first = next(iter(results.values()))[0]
    for platform in PLATFORMS:
        calls = {e: n for e, n in first["calls"].items() if e.startswith(platform + ".")}
        made = sum(calls.values())
        least = sum(minimum[platform]["calls"].values())
        items = first["platforms"][platform]["items"]
        expected = minimum[platform]["items"]
        print(
            f"  {platform:<10} {made:>6} calls {1000 * made / items:6.2f} /1k items; minimum "
            f"{least:>6} = {1000 * least / expected:6.2f} /1k; ratio {made / least:5.3f} "
            f"(target <= 1.05); items {items:,} ingested, {expected:,} in the data"
        )
        for endpoint in sorted(set(calls) | set(minimum[platform]["calls"])):
            print(
                f"  {'':<12}{endpoint:<26} {calls.get(endpoint, 0):>6}  min "
                f"{minimum[platform]['calls'].get(endpoint, 0):>6}"
            )
        if minimum[platform].get("note"):
            print(f"  {'':<12}{minimum[platform]['note']}")
    print("peak RSS of the ingesting process (getrusage ru_maxrss) as the item count passes:")
    for dialect, runs in results.items():
        marks = "  ".join(f"{m['items']:,}: {m['peak_rss_mb']:.0f} MB" for m in runs[0]["rss"])
        print(f"  {dialect:<10} {marks}   (target < 300 MB at 1,000,000, flat)")
    if copy_figures:
        print(
            f"load step vs raw COPY into PostgreSQL, same run ({copy_figures['items']:,} "
            "synthetic rows, bench/load_bench.py, batches of 1,000):"
        )
        print(
            f"  loader {copy_figures['load']:,.0f} items/s, again "
            f"{copy_figures['load_again']:,.0f} items/s, raw COPY {copy_figures['copy']:,.0f} "
            f"items/s: ratio {copy_figures['load'] / copy_figures['copy']:.2f} (target >= 0.50)"
        )
        for what, (client, server) in copy_figures["cpu_us"].items():
            server_us = "n/a" if server is None else f"{server:.1f}"
            print(f"  CPU per row, {what}: {client:.1f} us here + {server_us} us in the server")
        for run_figures in results.get("postgresql", []):
            same = run_figures["same_rows"]
            print(
                f"  the rows of the end-to-end run ({same['items']:,}, read back, batches of 1,000, "
                f"interleaved): loader {same['load']:,.0f} items/s, raw COPY "
                f"{same['copy']:,.0f} items/s: ratio {same['load'] / same['copy']:.2f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--dialect", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--data", help="data directory to serve (default: cached under var/bench)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", PG_DEFAULT))
    parser.add_argument("--copy-items", type=int, default=200_000)
    parser.add_argument("--no-copy", action="store_true", help="skip the COPY comparison")
    parser.add_argument(
        "--prefetch",
        type=int,
        default=None,
        help="batches the connector may run ahead of the loader "
        "(default: channelwatch.ingest.PREFETCH; 0: read in step)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--accounts", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoints", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
