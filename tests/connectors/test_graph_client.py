"""The shared Graph client and the streams' parsers.

Contract tests parse real Graph API responses (tests/fixtures/graph_api, from
python-facebook's test data, Apache 2.0) and check that the sandbox answers in the same
shape. Client tests run over real HTTP: the sandbox, or a deliberately broken server for
what the sandbox never does (a `next` link that never ends, no Content-Type).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from connectors.errors import BadResponse, ConnectorError, TransientError
from connectors.facebook.streams import CommentsStream as FacebookComments
from connectors.facebook.streams import PostsStream
from connectors.graph import GraphClient, GraphSettings, ObjectGone
from connectors.instagram.streams import CommentsStream as InstagramComments
from connectors.instagram.streams import MediaStream, RepliesStream
from kernel.config import Account
from tests.conftest import FIXTURES
from tests.connectors.graph_data import NOW, PAGE, fb_comment, fb_post, write

SAMPLES = FIXTURES / "graph_api"
TOKEN = "EAAG-test-token-0123456789"
GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def account(**kw) -> Account:
    return Account(**{"id": "19292868552", "handle": "", "name": "Page", "conn_id": "cw_fb", **kw})


# --- contract: real responses through our parsers ------------------------------------------


def test_facebook_posts_sample_parses():
    page = sample("facebook/feed_fields_p1.json")
    items = [PostsStream(account(id="4")).parse(r, None, None) for r in page["data"]]

    assert [i.id for i in items][:2] == ["4_10113477241177441", "4_10113449068715281"]
    first = items[0]
    assert first.kind == "post" and first.is_own and first.parent_id is None
    assert first.root_id == first.id and first.text == "Happy July 4th! 🇺🇸"
    assert first.created_at.isoformat() == "2021-07-04T19:50:58+00:00"
    assert first.flags["paid_partnership"] is False and first.flags["sponsor_tags"] == []


def test_facebook_comments_sample_parses():
    post_id = "19292868552_10158371815748553"
    comments = sample("facebook/comments_info.json")
    items = [FacebookComments(account()).parse(r, post_id, post_id) for r in comments.values()]

    assert {i.id for i in items} == set(comments)
    assert all(i.parent_id == post_id and i.root_id == post_id for i in items)
    assert all(i.author_id == "" and not i.is_own for i in items)  # `from` was not asked for
    assert items[0].url.endswith("?comment_id=10158371930463553")
    assert items[0].flags == {"is_hidden": False}


def test_instagram_samples_parse():
    ig = account(id="17841406338772941", handle="ikroskun")
    media = [
        MediaStream(ig).parse(r, None, None) for r in sample("instagram/medias_p1.json")["data"]
    ]
    assert media[0].id == "17895731045244887" and media[0].text == ""  # no caption
    assert media[0].flags == {"media_type": "IMAGE"}
    assert media[0].url == "https://www.instagram.com/p/CSgf9BChwVq/"

    listed = sample("instagram/media_comments_p1.json")["data"]
    comments = [InstagramComments(ig).parse(r, "m1", "m1") for r in listed]
    assert comments[0].text == "Beautiful!" and comments[0].parent_id == "m1"
    assert comments[0].created_at.isoformat() == "2020-06-01T10:56:52+00:00"

    reply = RepliesStream(ig).parse(sample("instagram/replies.json")["data"][0], "m1", "c1")
    assert reply.parent_id == "c1" and reply.root_id == "m1"

    named = sample("instagram/comments_fields.json")
    by_user = {
        c.author_name: c
        for c in (InstagramComments(ig).parse(r, "m1", "m1") for r in named.values())
    }
    assert by_user["ikroskun"].is_own and not by_user["lixiangguodu123"].is_own


def test_sample_paging_links_are_followed_without_their_token():
    client = GraphClient("facebook", "cw_fb", TOKEN, GraphSettings())
    page = sample("facebook/comments_p1.json")
    path, params = client._split_link("facebook.comments", page["paging"]["next"])

    assert path == "v11.0/19292868552_10158407654328553/comments"
    assert params["after"] == "after" and params["filter"] == "stream"
    assert "access_token" not in params
    stored = client.scrub((SAMPLES / "facebook/comments_p1.json").read_text())
    assert "access_token=access_token" not in stored and "access_token=REDACTED" in stored


def test_the_sandbox_answers_in_the_samples_shape(sandbox_factory, tmp_path):
    write(tmp_path, "facebook", "posts", [fb_post(101, NOW, "Hello")])
    write(tmp_path, "facebook", "comments", [fb_comment(101, n, NOW, f"C{n}") for n in range(3)])
    running = sandbox_factory(tmp_path)
    running.sandbox.store.clock = NOW
    real = sample("facebook/comments_p1.json")

    ours = requests.get(
        f"{running.url}/v23.0/{PAGE}_101/comments",
        params={
            "access_token": "t",
            "filter": "stream",
            "summary": "1",
            "limit": 2,
            "fields": "id,comment_count,created_time,like_count,message,permalink_url",
        },
    ).json()

    assert ours.keys() == real.keys()
    assert ours["paging"].keys() == real["paging"].keys()
    assert ours["paging"]["cursors"].keys() == real["paging"]["cursors"].keys()
    assert ours["summary"].keys() == real["summary"].keys()
    assert ours["summary"]["total_count"] == 3
    assert set(ours["data"][0]) == set(real["data"][0]) | {"id"}
    assert GRAPH_TIME.match(ours["data"][0]["created_time"])
    assert GRAPH_TIME.match(real["data"][0]["created_time"])
    assert "access_token=t&" in ours["paging"]["next"]  # Graph puts the token in its links


# --- the client over HTTP -----------------------------------------------------------------


def _settings(url: str, **kw) -> GraphSettings:
    return GraphSettings(
        **{"base_url": url, "timeout_seconds": 1, "max_retries": 2, "max_wait_seconds": 0.05, **kw}
    )


def test_a_current_graph_version_is_used_despite_facebook_sdk(sandbox_factory, tmp_path):
    write(tmp_path, "facebook", "posts", [fb_post(101, NOW, "Hello")])
    running = sandbox_factory(tmp_path)
    running.sandbox.store.clock = NOW
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(running.url, graph_version="v19.0"))

    [(body, raw)] = list(
        client.pages("facebook.posts", f"{PAGE}/published_posts", {"fields": "id,message"})
    )

    assert body["data"] == [{"id": f"{PAGE}_101", "message": "Hello"}]
    assert raw.request == f"GET /v19.0/{PAGE}/published_posts?fields=id%2Cmessage"
    assert client.api_calls == {"facebook.posts": 1}


def test_request_errors_are_not_retried_and_gone_objects_are_told_apart(sandbox_factory, tmp_path):
    write(tmp_path, "facebook", "posts", [fb_post(101, NOW, "Hello")])
    running = sandbox_factory(tmp_path)
    running.sandbox.store.clock = NOW
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(running.url))

    with pytest.raises(
        ConnectorError,
        match=r"Graph error 100: \(#100\) Tried accessing "
        r"nonexisting field \(bogus\)",
    ):
        list(client.pages("facebook.posts", f"{PAGE}/published_posts", {"fields": "bogus"}))
    with pytest.raises(ObjectGone):
        list(client.pages("facebook.comments", f"{PAGE}_999/comments", {}))
    assert client.api_calls == {"facebook.posts": 1, "facebook.comments": 1}


class _Broken(BaseHTTPRequestHandler):
    """Answers every request the way `behaviour` says (set on the server)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.hits += 1
        status, headers, body = self.server.behaviour(self)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def broken():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    server.hits = 0
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def _page(handler, after: str) -> bytes:
    host = handler.headers["Host"]
    return json.dumps(
        {
            "data": [{"id": "1"}],
            "paging": {"next": f"http://{host}/v23.0/1/feed?access_token=x&after={after}"},
        }
    ).encode()


def test_a_next_link_that_repeats_stops_instead_of_looping(broken):
    broken.behaviour = lambda h: (200, {"Content-Type": "application/json"}, _page(h, "same"))
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(broken.url))

    with pytest.raises(BadResponse, match="repeats a page"):
        list(client.pages("facebook.posts", "1/feed", {}))
    assert broken.hits == 2


def test_endless_paging_stops_at_the_page_cap(broken):
    broken.behaviour = lambda h: (
        200,
        {"Content-Type": "application/json"},
        _page(h, str(broken.hits)),
    )
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(broken.url, max_pages=5))

    with pytest.raises(BadResponse, match="more than 5 pages"):
        list(client.pages("facebook.posts", "1/feed", {}))
    assert broken.hits == 5


def test_a_body_without_content_type_is_retried_then_reported(broken):
    broken.behaviour = lambda h: (200, {}, b'{"data": []}')
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(broken.url))

    with pytest.raises(BadResponse, match="without a Content-Type .after 3 attempts"):
        list(client.pages("facebook.posts", "1/feed", {}))
    assert client.api_calls == {"facebook.posts": 3}


def test_too_much_data_halves_the_page_size(broken):
    def behaviour(handler):
        limit = int(re.search(r"limit=(\d+)", handler.path).group(1))
        if limit > 25:
            return (
                500,
                {"Content-Type": "application/json"},
                json.dumps(
                    {
                        "error": {
                            "message": "Please reduce the amount of data you're asking for, then retry "
                            "your request",
                            "type": "OAuthException",
                            "code": 1,
                        }
                    }
                ).encode(),
            )
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"data": [{"id": str(n)} for n in range(limit)]}).encode(),
        )

    broken.behaviour = behaviour
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(broken.url, max_wait_seconds=0))

    [(body, raw)] = list(client.pages("facebook.posts", "1/feed", {"limit": "100"}))

    assert len(body["data"]) == 25 and "limit=25" in raw.request
    assert client.api_calls == {"facebook.posts": 3}


def test_an_unreachable_host_fails_without_the_token_in_the_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GraphClient("facebook", "cw_fb", TOKEN, _settings(f"http://127.0.0.1:{port}"))

    with pytest.raises(TransientError) as caught:
        list(client.pages("facebook.posts", "1/feed", {"fields": "id"}))

    assert "connection failed" in str(caught.value)
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    "text",
    [
        "https://graph.facebook.com/v23.0/1/feed?access_token=SECRET123&after=x",
        '{"next":"https:\\/\\/graph.facebook.com\\/v23.0\\/1\\/feed?access_token=SECRET123"}',
        "https%3A%2F%2Fgraph.facebook.com%2Fv23.0%2F1%2Ffeed%3Faccess_token%3DSECRET123",
        '{"next":"https://x/?access_token\\u003dSECRET123"}',
        "token SECRET123 somewhere else",
    ],
)
def test_the_token_is_scrubbed_in_every_spelling(text):
    client = GraphClient("facebook", "cw_fb", "SECRET123", GraphSettings())
    assert "SECRET123" not in client.scrub(text)


def test_samples_are_present_with_their_licence():
    assert "Apache License" in (SAMPLES / "LICENSE_python-facebook.txt").read_text()[:200]
    assert (SAMPLES / "README.md").exists()
