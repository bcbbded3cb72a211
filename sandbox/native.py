"""Helpers shared by the sandbox's YouTube and X modules: time, visibility, page tokens.

Native objects in a data directory may carry one private key, ``_sandbox``, that the
server strips before serving:

    "_sandbox": {"key": "m000000042",                 # the scenario message (optional)
                 "edits": [{"at": ISO, "text": "..."}], # later versions, oldest first
                 "deleted_at": ISO | null}

An object is visible when it was created at or before the sandbox clock and is not yet
deleted; its text is that of the last edit made at or before the clock.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

PRIVATE = "_sandbox"


def parse_time(value: str | None) -> datetime | None:
    """Parse the platforms' ISO 8601 spellings ("...Z", "...+00:00", "....000Z")."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def private(obj: dict) -> dict:
    return obj.get(PRIVATE) or {}


def deleted_at(obj: dict) -> datetime | None:
    return parse_time(private(obj).get("deleted_at"))


def is_visible(obj: dict, created: datetime | None, now: datetime) -> bool:
    """Created at or before now and not deleted by now."""
    if created is not None and created > now:
        return False
    gone = deleted_at(obj)
    return gone is None or gone > now


def text_at(obj: dict, original: str, now: datetime) -> tuple[str, datetime | None]:
    """The text visible at `now` and when it was last edited (None: never edited)."""
    text, when = original, None
    for edit in private(obj).get("edits") or []:
        at = parse_time(edit.get("at"))
        if at is not None and at <= now:
            text, when = edit.get("text", text), at
    return text, when


def public(obj: dict) -> dict:
    """A shallow copy without the private key."""
    return {k: v for k, v in obj.items() if k != PRIVATE}


def digest(*parts: Any, size: int = 16) -> bytes:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(blob.encode("utf-8", "surrogatepass"), digest_size=size).digest()


def write_json_line(handle: Any, obj: Any, **dumps: Any) -> None:
    """Write one JSON Lines row to a UTF-8 text file.

    A text with a lone surrogate (which UTF-8 cannot encode) is written with JSON \\u
    escapes instead, as a platform's JSON carries it; json.loads gives it back unchanged.
    """
    try:
        handle.write(json.dumps(obj, ensure_ascii=False, **dumps) + "\n")
    except UnicodeEncodeError:  # nothing was written: the line is encoded whole first
        handle.write(json.dumps(obj, ensure_ascii=True, **dumps) + "\n")


def b64id(seed: str, length: int) -> str:
    """A deterministic URL-safe base64 id of `length` characters."""
    raw = base64.urlsafe_b64encode(digest(seed, size=48)).decode().rstrip("=")
    return raw[:length]


def encode_token(prefix: str, state: dict) -> str:
    """An opaque page token (deterministic, so identical pages have identical bodies)."""
    blob = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    return prefix + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def decode_token(prefix: str, token: str) -> dict | None:
    """The state of a token from encode_token; None when it is not one of ours."""
    if not token or not token.startswith(prefix):
        return None
    body = token[len(prefix) :]
    try:
        state = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    return state if isinstance(state, dict) else None


@contextlib.contextmanager
def building_index() -> Iterator[None]:
    """No cyclic GC while an index of a large data set is built, then freeze what it made.

    The index allocates millions of objects that live until the files change: the cyclic
    collector would only re-scan them (several times slower at 100k objects).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
