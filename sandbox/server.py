"""A local HTTP server speaking the four platforms' APIs, for the demo, tests and benches.

The core here is platform-neutral: it routes each request to the platform module whose
paths it matches (sandbox/{graph,youtube,twitter}.py), counts calls per
endpoint, and injects faults switched on per endpoint. Platform modules turn native
objects from the data directory into responses (see docs/sandbox.md).

Control endpoints (JSON), for tests and the CLI:
    GET    /__sandbox/calls            -> {"endpoint": count, ...}
    DELETE /__sandbox/calls            -> reset the counts
    POST   /__sandbox/faults           <- [{"endpoint": "youtube.commentThreads",
                                             "fault": "429", "times": 1, ...}, ...]
    DELETE /__sandbox/faults           -> no more faults
    POST   /__sandbox/reload           -> re-read the data directory now
    GET    /__sandbox/clock            -> {"now": ISO}
    POST   /__sandbox/clock            <- {"now": ISO or null}: what time the APIs live in
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULTS = (
    "429",  # rate limited, with the platform's reset header(s)
    "429_noreset",  # rate limited, no reset header at all
    "500",  # HTML error page
    "502",  # HTML bad gateway page
    "timeout",  # hold the connection `seconds` (default 3) and send nothing
    "malformed_json",  # 200 with a body that is not JSON
    "truncated",  # 200 with the real body cut off midway
    "expired_token",  # the platform's invalid/expired token error
    "throttled",  # Graph: HTTP 400 with error code 4 (app request limit)
    "quota_exceeded",  # YouTube: 403 quotaExceeded
)


@dataclasses.dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclasses.dataclass(slots=True)
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> as is
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return wire(self.body), self.headers.get("Content-Type", "text/html; charset=utf-8")
        return (
            wire(json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))),
            "application/json; charset=UTF-8",
        )


# Surrogates other than U+DC80-U+DCFF, which Python's surrogateescape turns into bytes.
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def wire(text: str) -> bytes:
    """A body as UTF-8 bytes. Text that UTF-8 cannot encode is sent as a platform would
    send it: a lone surrogate as its JSON \\u escape; U+DC80-U+DCFF (Python's
    surrogateescape) as the raw bytes 0x80-0xFF, a body that is not valid UTF-8 — so a data
    file can hold both hostile cases (docs/sandbox.md)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        escaped = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return escaped.encode("utf-8", "surrogateescape")


class Store:
    """Native objects of one data directory, re-read when a file changes.

    `records(platform, name)` gives the parsed objects of DIR/<platform>/<name>.jsonl.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[float, list[dict]]] = {}
        self.indexes: dict[str, Any] = {}  # platform modules keep derived indexes here
        self.clock: datetime | None = None  # None: the real time

    def now(self) -> datetime:
        """The sandbox's clock: objects created later, edits made later, are not visible."""
        return self.clock or datetime.now(timezone.utc)

    def path(self, platform: str, name: str) -> Path:
        return self.data_dir / platform / f"{name}.jsonl"

    def records(self, platform: str, name: str) -> list[dict]:
        path = self.path(platform, name)
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        with self._lock:
            cached = self._cache.get(path)
            if cached and cached[0] == mtime:
                return cached[1]
            rows = [
                json.loads(line)
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            self._cache[path] = (mtime, rows)
            self.indexes.clear()  # derived views are rebuilt from fresh data
            return rows

    def version(self) -> tuple:
        """Changes whenever any data file changes; platform modules key their indexes on it."""
        stamps = []
        for path in sorted(self.data_dir.glob("*/*.jsonl")):
            try:
                stamps.append((str(path), path.stat().st_mtime_ns))
            except FileNotFoundError:
                pass
        return tuple(stamps)

    def reload(self) -> None:
        with self._lock:
            self._cache.clear()
            self.indexes.clear()


class PlatformApi(Protocol):
    """What a platform module provides to the server core."""

    def endpoint(self, request: Request) -> str | None:
        """The endpoint name ("youtube.commentThreads") if the request is this API's."""

    def handle(self, request: Request, endpoint: str) -> Response:
        """Serve the request from the store."""

    def fault(self, kind: str, request: Request, spec: dict) -> Response | None:
        """This platform's rendering of a fault (None: use the generic one)."""


@dataclasses.dataclass(slots=True)
class FaultSpec:
    endpoint: str  # an fnmatch pattern over endpoint names, e.g. "graph.*"
    fault: str
    times: int = 1  # how many requests it hits; -1: until cleared
    after: int = 0  # let this many matching requests through first
    seconds: float = 3.0  # for timeout and for reset headers
    seen: int = 0


class Sandbox:
    """The routing, counting and fault-injecting core."""

    def __init__(self, data_dir: Path) -> None:
        self.store = Store(Path(data_dir))
        self.apis: list[PlatformApi] = _load_platform_apis(self.store)
        self.calls: dict[str, int] = {}
        self.faults: list[FaultSpec] = []
        self._lock = threading.Lock()

    def set_faults(self, specs: list[dict]) -> None:
        parsed = []
        for spec in specs:
            if not isinstance(spec, dict):
                raise ValueError(
                    f'a fault is an object such as {{"endpoint": "youtube.*", '
                    f'"fault": "429"}}, not {spec!r}'
                )
            if spec.get("fault") not in FAULTS:
                raise ValueError(f"unknown fault {spec.get('fault')!r}; one of {', '.join(FAULTS)}")
            parsed.append(
                FaultSpec(**{k: v for k, v in spec.items() if k in FaultSpec.__dataclass_fields__})
            )
        with self._lock:
            self.faults = parsed

    def _take_fault(self, endpoint: str) -> FaultSpec | None:
        with self._lock:
            for spec in self.faults:
                if not fnmatch.fnmatch(endpoint, spec.endpoint):
                    continue
                spec.seen += 1
                if spec.seen <= spec.after:
                    continue
                if spec.times == 0:
                    continue
                if spec.times > 0:
                    spec.times -= 1
                return spec
        return None

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/__sandbox/"):
            return self._control(request)
        for api in self.apis:
            endpoint = api.endpoint(request)
            if endpoint is None:
                continue
            with self._lock:
                self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            spec = self._take_fault(endpoint)
            if spec is not None:
                return self._fault(api, spec, request, endpoint)
            return api.handle(request, endpoint)
        return Response(404, {"error": {"message": f"no sandbox route for {request.path}"}})

    def _fault(
        self, api: PlatformApi, spec: FaultSpec, request: Request, endpoint: str
    ) -> Response:
        if spec.fault == "timeout":
            time.sleep(spec.seconds)
            return Response(504, "<html><body>timeout</body></html>")
        if spec.fault == "truncated":
            real = api.handle(request, endpoint)
            body, ctype = real.encoded()
            return Response(
                real.status, body[: max(1, len(body) // 2)], {**real.headers, "Content-Type": ctype}
            )
        custom = api.fault(spec.fault, request, dataclasses.asdict(spec))
        if custom is not None:
            return custom
        if spec.fault in ("500", "502"):
            title = "Internal Server Error" if spec.fault == "500" else "Bad Gateway"
            return Response(
                int(spec.fault),
                f"<!DOCTYPE html><html><head><title>{spec.fault} {title}</title></head>"
                f"<body><h1>{title}</h1><p>Please try again later.</p></body></html>",
            )
        if spec.fault == "malformed_json":
            return Response(
                200, b'{"data": [ {"id": "1", "message": ', {"Content-Type": "application/json"}
            )
        if spec.fault == "429":
            return Response(
                429,
                {"error": {"message": "Too Many Requests"}},
                {"Retry-After": str(int(spec.seconds))},
            )
        if spec.fault == "429_noreset":
            return Response(429, {"error": {"message": "Too Many Requests"}})
        return Response(401, {"error": {"message": "Invalid token"}})

    def _control(self, request: Request) -> Response:
        name = request.path[len("/__sandbox/") :]
        if name == "calls":
            if request.method == "DELETE":
                with self._lock:
                    self.calls.clear()
            with self._lock:
                return Response(200, dict(self.calls))
        if name == "faults":
            if request.method == "DELETE":
                self.set_faults([])
                return Response(200, {"faults": []})
            if request.method == "POST":
                try:
                    specs = json.loads(request.body or b"[]")
                    self.set_faults(specs if isinstance(specs, list) else [specs])
                except (ValueError, TypeError) as exc:
                    return Response(400, {"error": str(exc)})
            return Response(200, {"faults": [dataclasses.asdict(s) for s in self.faults]})
        if name == "clock":
            if request.method == "POST":
                data = json.loads(request.body or b"{}")
                value = data.get("now")
                self.store.clock = (
                    datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
                )
            return Response(200, {"now": self.store.now().isoformat()})
        if name == "reload":
            self.store.reload()
            return Response(200, {"reloaded": True})
        return Response(404, {"error": f"unknown control endpoint {name}"})


def _load_platform_apis(store: Store) -> list[PlatformApi]:
    apis = []
    for module_name in ("graph", "youtube", "twitter"):
        try:
            module = __import__(f"sandbox.{module_name}", fromlist=["Api"])
        except ModuleNotFoundError as exc:
            if exc.name == f"sandbox.{module_name}":
                continue
            raise
        apis.append(module.Api(store))
    return apis


def _handler(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; with Nagle's algorithm on, the body
            # waits for the client's delayed ACK (~40 ms a response on keep-alive).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        server_version = "channelwatch-sandbox/1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = parse_qs(parts.query, keep_blank_values=True)
            if body and "form-urlencoded" in (self.headers.get("Content-Type") or ""):
                for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
                    query.setdefault(key, []).extend(values)
            request = Request(
                self.command,
                parts.path,
                query,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            try:
                response = sandbox.dispatch(request)
            except Exception as exc:  # noqa: BLE001 - the sandbox reports, never dies
                log.exception("sandbox error")
                response = Response(500, {"error": {"message": f"sandbox error: {exc}"}})
            payload, ctype = response.encoded()
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in response.headers.items():
                    if key.lower() not in ("content-type", "content-length"):
                        self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("sandbox: " + fmt, *args)

    return Handler


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclasses.dataclass
class RunningSandbox:
    """A sandbox serving in a background thread (tests and the demo use this)."""

    sandbox: Sandbox
    server: SandboxServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def set_faults(self, specs: list[dict]) -> None:
        self.sandbox.set_faults(specs)

    def calls(self) -> dict[str, int]:
        return dict(self.sandbox.calls)

    def reset_calls(self) -> None:
        self.sandbox.calls.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(data_dir: str | Path, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Start a sandbox on host:port (0: any free port) in a daemon thread."""
    sandbox = Sandbox(Path(data_dir))
    server = SandboxServer((host, port), _handler(sandbox))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    )
    thread.start()
    return RunningSandbox(sandbox, server, thread)


def serve_forever(
    data_dir: str | Path,
    host: str,
    port: int,
    ready: Callable[[str], None] | None = None,
    faults: list[dict] | None = None,
) -> None:
    """Serve in the foreground until interrupted (`channelwatch sandbox serve`)."""
    sandbox = Sandbox(Path(data_dir))
    if faults:
        sandbox.set_faults(faults)
    with SandboxServer((host, port), _handler(sandbox)) as server:
        if ready:
            ready(f"http://{host}:{server.server_address[1]}")
        server.serve_forever()


def iter_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
