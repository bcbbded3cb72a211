"""The sandbox's Graph API: rendering the scenario, and serving it as graph.facebook.com does."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from sandbox.graph import GraphError, parse_fields, render
from sandbox.scenario import Message, Thread, generate_threads
from tests.connectors.graph_data import (
    IG_USER,
    NOW,
    PAGE,
    ago,
    fb_comment,
    fb_post,
    ig_comment,
    ig_media,
    private,
    write,
)


@pytest.fixture
def graph(sandbox_factory, tmp_path):
    """A sandbox over a small page: five posts (one in the future, one deleted)."""
    write(
        tmp_path,
        "facebook",
        "posts",
        [
            *(fb_post(100 + n, ago(days=n + 1), f"Post {n}") for n in range(4)),
            fb_post(200, NOW + timedelta(hours=1), "Scheduled"),
            fb_post(201, ago(hours=5), "Deleted", **private(deleted_at=ago(hours=1))),
        ],
    )
    write(
        tmp_path,
        "facebook",
        "comments",
        [
            fb_comment(
                100, 1, ago(hours=10), "Top", **private(edits=[(ago(hours=2), "Top (edited)")])
            ),
            fb_comment(100, 2, ago(hours=9), "Reply", parent=1),
            fb_comment(100, 3, ago(hours=8), "Second top"),
            fb_comment(100, 4, NOW + timedelta(minutes=5), "Not yet"),
        ],
    )
    write(tmp_path, "instagram", "media", [ig_media("1790001", ago(days=1), "Media")])
    write(
        tmp_path,
        "instagram",
        "comments",
        [
            ig_comment("1790001", "1801", ago(hours=5), "First"),
            ig_comment("1790001", "1802", ago(hours=4), "Second"),
            ig_comment("1790001", "1803", ago(hours=3), "Reply", parent="1801"),
        ],
    )
    running = sandbox_factory(tmp_path)
    running.sandbox.store.clock = NOW

    def get(path, **params):
        params.setdefault("access_token", "token")
        return requests.get(f"{running.url}/v23.0/{path}", params=params, timeout=5)

    get.running = running
    return get


def test_fields_syntax():
    specs = parse_fields(
        "id,from{id,name},comments.filter(stream).limit(5){id,parent{id}}"
        ".summary(true),reactions.as(r)"
    )
    assert [s.name for s in specs] == ["id", "from", "comments", "reactions"]
    assert specs[2].mods == {"filter": "stream", "limit": "5", "summary": "true"}
    assert specs[2].children_text == "id,parent{id}"
    assert specs[3].key == "r"
    with pytest.raises(GraphError) as caught:
        parse_fields("id,comments{id")
    assert caught.value.code == 2500 and "Syntax error" in caught.value.message


def test_posts_page_newest_first_with_full_next_links_until_the_end(graph):
    seen, url, pages = [], None, 0
    body = graph(f"{PAGE}/published_posts", limit=2, fields="id").json()
    while True:
        pages += 1
        seen += [p["id"] for p in body["data"]]
        url = body.get("paging", {}).get("next")
        if not url:
            break
        assert url.startswith(
            graph.running.url + f"/v23.0/{PAGE}/published_posts?access_token=token&"
        )
        body = requests.get(url, timeout=5).json()
    # Not the future post, not the deleted one; newest first; each once.
    assert seen == [f"{PAGE}_{100 + n}" for n in range(4)] and pages == 2
    previous = body["paging"]["previous"]
    assert [p["id"] for p in requests.get(previous, timeout=5).json()["data"]] == seen[:2]


def test_since_and_until_filter_by_creation_time(graph):
    since = int(ago(days=2, hours=12).timestamp())
    assert [p["id"] for p in graph(f"{PAGE}/feed", since=since, fields="id").json()["data"]] == [
        f"{PAGE}_100",
        f"{PAGE}_101",
    ]
    until = ago(days=2, hours=12).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert [p["id"] for p in graph(f"{PAGE}/feed", until=until, fields="id").json()["data"]] == [
        f"{PAGE}_102",
        f"{PAGE}_103",
    ]


def test_nested_comments_stream_with_summary_and_the_clock(graph):
    body = graph(
        f"{PAGE}/published_posts",
        limit=1,
        fields=(
            "id,updated_time,comments.filter(stream).summary(true){id,message,parent{id},"
            "comment_count,like_count}"
        ),
    ).json()
    comments = body["data"][0]["comments"]
    assert [c["id"] for c in comments["data"]] == ["100_1", "100_2", "100_3"]  # not "100_4"
    assert comments["data"][0]["message"] == "Top (edited)"
    assert comments["data"][0]["comment_count"] == 1 and comments["data"][0]["like_count"] == 0
    assert comments["data"][1]["parent"] == {"id": "100_1"}
    assert comments["summary"] == {"order": "chronological", "total_count": 3, "can_comment": True}
    assert body["data"][0]["updated_time"] == ago(days=1).strftime("%Y-%m-%dT%H:%M:%S+0000")
    toplevel = graph(f"{PAGE}_100/comments", fields="id").json()
    assert [c["id"] for c in toplevel["data"]] == ["100_1", "100_3"]
    graph.running.sandbox.store.clock = ago(hours=3)  # before the edit
    assert graph("100_1", fields="message").json() == {"message": "Top"}


def test_instagram_media_comments_and_replies(graph):
    body = graph(
        f"{IG_USER}/media",
        fields=("id,comments_count,comments{id,text,username,replies{id,parent_id}}"),
    ).json()
    media = body["data"][0]
    assert media["comments_count"] == 3  # replies count on Instagram
    assert [c["id"] for c in media["comments"]["data"]] == ["1802", "1801"]  # newest first
    assert media["comments"]["data"][1]["replies"]["data"] == [{"id": "1803", "parent_id": "1801"}]
    assert "replies" not in media["comments"]["data"][0]  # Graph omits empty connections
    assert graph("1801/replies").json()["data"][0]["id"] == "1803"
    assert graph("1790001/comments").json()["data"][0] == {
        "timestamp": ago(hours=4).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "text": "Second",
        "id": "1802",
    }


@pytest.mark.parametrize(
    "path, params, status, code, subcode",
    [
        (f"{PAGE}/published_posts", {"access_token": ""}, 400, 104, None),
        (f"{PAGE}/published_posts", {"access_token": "expired"}, 400, 190, 463),
        ("999/published_posts", {}, 400, 100, 33),
        (f"{PAGE}_201/comments", {}, 400, 100, 33),  # deleted
        (f"{PAGE}/published_posts", {"fields": "id,nope"}, 400, 100, None),
        (f"{PAGE}/insights_nope", {}, 400, 100, None),
    ],
)
def test_graph_errors(graph, path, params, status, code, subcode):
    response = graph(path, **params)
    error = response.json()["error"]
    assert response.status_code == status
    assert (error["code"], error.get("error_subcode")) == (code, subcode)
    assert error["type"] and error["fbtrace_id"]


@pytest.mark.parametrize(
    "endpoint, fault, code, headers",
    [
        ("facebook.posts", "throttled", 4, {"x-app-usage"}),
        ("facebook.posts", "429", 32, {"Retry-After", "x-business-use-case-usage"}),
        ("facebook.posts", "429_noreset", 17, set()),
        ("instagram.media", "429", 613, {"Retry-After", "x-business-use-case-usage"}),
        ("instagram.media", "429_noreset", 613, set()),
        ("facebook.posts", "expired_token", 190, {"WWW-Authenticate"}),
    ],
)
def test_faults_look_like_graph(graph, endpoint, fault, code, headers):
    graph.running.set_faults([{"endpoint": endpoint, "fault": fault, "seconds": 2}])
    path = f"{PAGE}/published_posts" if endpoint.startswith("facebook") else f"{IG_USER}/media"

    response = graph(path)

    assert response.status_code == 400  # Graph throttles with HTTP 400, not 429
    assert response.json()["error"]["code"] == code
    present = {
        h
        for h in ("x-app-usage", "Retry-After", "x-business-use-case-usage", "WWW-Authenticate")
        if h in response.headers
    }
    assert present == headers
    if "Retry-After" in headers:
        assert response.headers["Retry-After"] == "2"
        usage = json.loads(response.headers["x-business-use-case-usage"])
        assert list(usage.values())[0][0]["estimated_time_to_regain_access"] == 1


def test_endpoint_names(graph):
    from sandbox.graph import Api
    from sandbox.server import Request

    api = Api(graph.running.sandbox.store)
    name = lambda path: api.endpoint(Request("GET", path, {}, {}))  # noqa: E731
    assert name(f"/v23.0/{PAGE}/feed") == name(f"/v19.0/{PAGE}/published_posts") == "facebook.posts"
    assert name("/v23.0/1_2/comments") == "facebook.comments"
    assert name("/v23.0/1790001/comments") == "instagram.comments"
    assert name("/v23.0/1801/replies") == "instagram.replies"
    assert name(f"/v23.0/{IG_USER}/media") == "instagram.media"
    assert name("/youtube/v3/videos") is None and name("/2/tweets") is None


def test_render_gives_native_ids_and_two_level_threads(tmp_path):
    t0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)

    def msg(key, minutes, parent=None, own=False):
        return Message(
            key,
            "p1" if own else "u1234567",
            "Council" if own else "Sam Jones",
            own,
            t0 + timedelta(minutes=minutes),
            f"text {key}",
            parent,
        )

    root = Message(
        "m000000001",
        PAGE,
        "Council",
        True,
        t0,
        "Post",
        flags={"sponsor": "CoffeeCo Ltd", "paid_partnership": True},
    )
    replies = [
        msg("m000000002", 1, "m000000001"),
        msg("m000000003", 2, "m000000002"),
        msg("m000000004", 3, "m000000003", own=True),
    ]
    threads = [
        Thread(p, acc, "bfc", "Council", "post", root, replies)
        for p, acc in (("facebook", PAGE), ("instagram", IG_USER))
    ]

    counts = render(threads, tmp_path)

    assert counts == {
        "facebook/pages": 1,
        "facebook/posts": 1,
        "facebook/comments": 3,
        "instagram/users": 1,
        "instagram/media": 1,
        "instagram/comments": 3,
    }
    post = json.loads((tmp_path / "facebook/posts.jsonl").read_text())
    postnum = post["id"].split("_")[1]
    assert post["id"].startswith(f"{PAGE}_") and post["sponsor_tags"][0]["name"] == "CoffeeCo Ltd"
    assert post["promotion_status"] == "active" and post["_sandbox"]["key"] == "m000000001"
    comments = [
        json.loads(line) for line in (tmp_path / "facebook/comments.jsonl").read_text().splitlines()
    ]
    assert all(c["id"].startswith(postnum + "_") for c in comments)
    top = comments[0]["id"]
    assert "parent" not in comments[0]
    assert comments[1]["parent"] == comments[2]["parent"] == {"id": top}  # flattened
    assert comments[2]["from"] == {"name": "Council", "id": PAGE}
    assert "reply_comment_id=" in comments[2]["permalink_url"]
    ig = [
        json.loads(line)
        for line in (tmp_path / "instagram/comments.jsonl").read_text().splitlines()
    ]
    assert ig[1]["parent_id"] == ig[2]["parent_id"] == ig[0]["id"]
    assert ig[2]["username"] == "bfc" and ig[2]["from"]["id"] == IG_USER


def test_a_generated_data_set_serves_every_visible_object_once(sandbox_factory, tmp_path):
    end = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    render(generate_threads(6, 30, seed=5, end=end, platforms=("facebook",)), tmp_path)
    running = sandbox_factory(tmp_path)
    running.sandbox.store.clock = end
    ids: list[str] = []
    url = f"{running.url}/v23.0/{PAGE}/published_posts"
    params = {"access_token": "t", "limit": 4, "fields": "id,comments.filter(stream).limit(3){id}"}
    while url:
        body = requests.get(url, params=params, timeout=5).json()
        params = None
        for post in body["data"]:
            ids.append(post["id"])
            nested = post.get("comments")
            while nested:
                ids += [c["id"] for c in nested["data"]]
                more = nested.get("paging", {}).get("next")
                nested = requests.get(more, timeout=5).json() if more else None
        url = body.get("paging", {}).get("next")
    rows = [
        json.loads(line)
        for name in ("posts", "comments")
        for line in (tmp_path / "facebook" / f"{name}.jsonl").read_text().splitlines()
    ]
    by_id = {r["id"]: r for r in rows}

    def visible(row):
        gone = row["_sandbox"]["deleted_at"]
        parent = (row.get("parent") or {}).get("id")
        return (gone is None or gone > "2026-03-02T12:00:00+0000") and (
            parent is None or visible(by_id[parent])
        )

    assert len(ids) == len(set(ids))
    assert set(ids) == {r["id"] for r in rows if visible(r)}
