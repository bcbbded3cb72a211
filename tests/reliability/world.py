"""A small world for the reliability tests: a data set, its truth, and warehouse checks.

`build_dataset(dir)` renders the generator's threads for all four platforms with, on every
platform, one public comment edited and one deleted between the two clocks T0 and T1, so an
incremental pass at T1 has new, changed and deleted items to get right.

`expected(dir, clock)` is the oracle: the items a complete pass at ``clock`` must leave in
the warehouse, read straight from the native objects (not through the sandbox or the
connectors), by the platforms' own visibility rules (docs/sandbox.md).

`state(engine, platform)`, `assert_matches(...)` and `assert_watermarks_not_ahead(...)`
compare a warehouse with it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, MetaData, select, text

from channelwatch.warehouse.schema import item_versions, items, metadata, watermarks
from kernel.items import parse_timestamp
from sandbox import graph, twitter, youtube
from sandbox.native import deleted_at, text_at
from sandbox.scenario import DEFAULT_ACCOUNTS, Edit, generate_threads

PLATFORMS = ("facebook", "instagram", "youtube", "twitter")
T1 = datetime(2026, 3, 4, 15, 0, tzinfo=timezone.utc)  # a Wednesday afternoon
T0 = T1 - timedelta(hours=20)
# Client limits for fault tests, so that a failing pass costs well under a second: one
# retry, back-off and waits of 50 ms, a 0.3 s read timeout, and pages of 2 (so that a pass
# has many pages to fail between).
API = {"page_size": 2, "timeout_seconds": 0.3, "max_retries": 1, "max_wait_seconds": 0.05}


def account(platform: str) -> str:
    return DEFAULT_ACCOUNTS[platform][0]


def build_dataset(out: Path, *, days: int = 3, per_day: int = 16, seed: int = 11) -> Path:
    """Render a data set whose T0 -> T1 interval has new, edited and deleted items."""
    threads = generate_threads(days, per_day, seed=seed, end=T1)
    for platform in PLATFORMS:
        public = [
            m
            for t in threads
            if t.platform == platform
            for m in t.replies
            if not m.is_own
            and m.created_at < T0 - timedelta(hours=1)
            and not m.edits
            and m.deleted_at is None
        ]
        edited, deleted = public[0], public[-1]
        edited.edits.append(Edit(T0 + timedelta(hours=1), edited.text + " [edited]"))
        deleted.deleted_at = T0 + timedelta(hours=2)
    out = Path(out)
    graph.render(threads, out)
    youtube.render(threads, out)
    twitter.render(threads, out)
    return out


# --- the oracle -------------------------------------------------------------------------------


def _rows(data: Path, platform: str, name: str) -> list[dict]:
    path = Path(data) / platform / f"{name}.jsonl"
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _alive(obj: dict, created: str, clock: datetime) -> bool:
    if parse_timestamp(created) > clock:
        return False
    gone = deleted_at(obj)
    return gone is None or gone > clock


def expected(data: Path, clock: datetime) -> dict[str, dict[str, str]]:
    """platform -> {item id: text} of every item visible at ``clock``."""
    return {p: _EXPECTED[p](data, clock) for p in PLATFORMS}


def all_ids(data: Path) -> dict[str, set[str]]:
    """platform -> every id the data set ever holds (visible or not)."""
    out: dict[str, set[str]] = {}
    for platform in PLATFORMS:
        ids: set[str] = set()
        for name in ("posts", "comments", "media", "videos", "tweets"):
            ids.update(str(r["id"]) for r in _rows(data, platform, name))
        for thread in _rows(data, platform, "commentThreads"):
            ids.add(thread["snippet"]["topLevelComment"]["id"])
            ids.update(c["id"] for c in (thread.get("replies") or {}).get("comments") or [])
        out[platform] = ids
    return out


def _facebook(data: Path, clock: datetime) -> dict[str, str]:
    posts = {r["id"]: r for r in _rows(data, "facebook", "posts")}
    by_num = {pid.split("_", 1)[1]: r for pid, r in posts.items()}
    comments = {r["id"]: r for r in _rows(data, "facebook", "comments")}

    def alive(row: dict) -> bool:
        if not _alive(row, row["created_time"], clock):
            return False
        if row["id"] in comments:
            post = by_num.get(row["id"].split("_", 1)[0])
            parent = comments.get((row.get("parent") or {}).get("id"))
            return (post is not None and alive(post)) and (parent is None or alive(parent))
        return True

    out = {}
    for row in [*posts.values(), *comments.values()]:
        if alive(row):
            out[row["id"]] = text_at(row, row.get("message") or "", clock)[0]
    return out


def _instagram(data: Path, clock: datetime) -> dict[str, str]:
    media = {r["id"]: r for r in _rows(data, "instagram", "media")}
    comments = {r["id"]: r for r in _rows(data, "instagram", "comments")}

    def alive(row: dict) -> bool:
        if not _alive(row, row["timestamp"], clock):
            return False
        if row["id"] in comments:
            up = comments.get(row.get("parent_id")) or media.get((row.get("media") or {}).get("id"))
            return up is not None and alive(up)
        return True

    out = {}
    for row in media.values():
        if alive(row):
            out[row["id"]] = text_at(row, row.get("caption") or "", clock)[0]
    for row in comments.values():
        if alive(row):
            out[row["id"]] = text_at(row, row.get("text") or "", clock)[0]
    return out


def _youtube(data: Path, clock: datetime) -> dict[str, str]:
    out = {}
    videos = {}
    for video in _rows(data, "youtube", "videos"):
        snippet = video["snippet"]
        if _alive(video, snippet["publishedAt"], clock):
            videos[video["id"]] = video
            description = text_at(video, snippet.get("description") or "", clock)[0]
            title = snippet.get("title") or ""
            out[video["id"]] = f"{title}\n\n{description}" if description else title
    replies: dict[str, dict] = {}
    tops: dict[str, dict] = {}
    for thread in _rows(data, "youtube", "commentThreads"):
        top = thread["snippet"]["topLevelComment"]
        if thread["snippet"].get("videoId") in videos and _alive(
            top, top["snippet"]["publishedAt"], clock
        ):
            tops[thread["id"]] = top
        for reply in (thread.get("replies") or {}).get("comments") or []:
            replies.setdefault(reply["id"], reply)
    for reply in _rows(data, "youtube", "comments"):
        replies[reply["id"]] = reply  # the file wins for the same id
    for top in tops.values():
        out[top["id"]] = text_at(top, top["snippet"].get("textOriginal") or "", clock)[0]
    for reply in replies.values():
        snippet = reply["snippet"]
        if snippet.get("parentId") in tops and _alive(reply, snippet["publishedAt"], clock):
            out[reply["id"]] = text_at(reply, snippet.get("textOriginal") or "", clock)[0]
    return out


def _twitter(data: Path, clock: datetime) -> dict[str, str]:
    # On X a reply outlives a deleted parent; the warehouse takes a deleted conversation
    # root's replies with it (load.mark_deleted), and so does the oracle.
    tweets = {r["id"]: r for r in _rows(data, "twitter", "tweets")}
    out = {}
    for tid, tweet in tweets.items():
        if not _alive(tweet, tweet["created_at"], clock):
            continue
        root = tweets.get(tweet.get("conversation_id"))
        if root is not None and root is not tweet and not _alive(root, root["created_at"], clock):
            continue
        out[tid] = text_at(tweet, tweet.get("text") or "", clock)[0]
    return out


_EXPECTED = {
    "facebook": _facebook,
    "instagram": _instagram,
    "youtube": _youtube,
    "twitter": _twitter,
}


# --- the warehouse side -----------------------------------------------------------------------


def state(engine: Engine, platform: str) -> dict[str, dict]:
    """item id -> {text, deleted, version} for one platform's stored items."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(items.c.item_id, items.c.text, items.c.deleted_at, items.c.version).where(
                items.c.platform == platform
            )
        )
        return {
            r.item_id: {"text": r.text, "deleted": r.deleted_at is not None, "version": r.version}
            for r in rows
        }


def assert_matches(engine: Engine, platform: str, truth: dict[str, str], known: set[str]) -> None:
    """The warehouse holds exactly ``truth`` (ids and texts) as live items; nothing it
    holds was invented; every item's versions are 1..n with no repeated content."""
    stored = state(engine, platform)
    live = {i: row["text"] for i, row in stored.items() if not row["deleted"]}
    missing = sorted(set(truth) - set(live))
    extra = sorted(set(live) - set(truth))
    assert not missing, f"{platform}: {len(missing)} items lost, e.g. {missing[:3]}"
    assert not extra, f"{platform}: {len(extra)} items live that are gone, e.g. {extra[:3]}"
    wrong = sorted(i for i in truth if live[i] != truth[i])
    assert not wrong, f"{platform}: stale text for {wrong[:3]}"
    invented = sorted(set(stored) - known)
    assert not invented, f"{platform}: items that never existed: {invented[:3]}"
    with engine.connect() as conn:
        versions: dict[str, list] = {}
        for r in conn.execute(
            select(item_versions.c.item_id, item_versions.c.version, item_versions.c.content_hash)
            .where(item_versions.c.platform == platform)
            .order_by(item_versions.c.item_id, item_versions.c.version)
        ):
            versions.setdefault(r.item_id, []).append((r.version, r.content_hash))
    assert set(versions) == set(stored), f"{platform}: items without versions or the reverse"
    for item_id, seq in versions.items():
        numbers = [v for v, _ in seq]
        assert numbers == list(range(1, len(seq) + 1)), f"{item_id}: versions {numbers}"
        hashes = [h for _, h in seq]
        assert all(a != b for a, b in zip(hashes, hashes[1:])), f"{item_id}: duplicate version"
        assert stored[item_id]["version"] == len(seq)


def marks(engine: Engine, platform: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(watermarks.c.endpoint, watermarks.c.value).where(
                    watermarks.c.platform == platform
                )
            ).all()
        )


def assert_watermarks_not_ahead(engine: Engine, platform: str) -> None:
    """Every watermark is covered by committed items: a time is no later than the newest
    stored item, an id (X since_id) no larger than the largest stored id."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(items.c.item_id, items.c.created_at).where(items.c.platform == platform)
        ).all()
    newest = max((r.created_at for r in rows), default=None)
    largest = max((int(r.item_id) for r in rows if r.item_id.isdigit()), default=None)
    for endpoint, value in marks(engine, platform).items():
        if value.isdigit():
            assert largest is not None and int(value) <= largest, (endpoint, value, largest)
            continue
        try:
            moment = parse_timestamp(value)
        except ValueError:
            continue  # an opaque value (the uploads playlist id)
        assert newest is not None and moment <= newest, (endpoint, value, newest)


def wipe(engine: Engine) -> None:
    """Empty every table (the schema and views stay): a fresh warehouse in milliseconds."""
    names = [t.name for t in metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"truncate {', '.join(names)} restart identity cascade"))
        else:
            for name in reversed(names):
                conn.execute(text(f"delete from {name}"))


def table_names(engine: Engine) -> list[str]:
    meta = MetaData()
    meta.reflect(engine)
    return sorted(meta.tables)
