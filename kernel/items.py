"""The canonical item: one shape for every post, comment, reply, mention and message.

Connectors produce it, the warehouse stores it, the checks read it and `channelwatch check`
takes it as JSON Lines. Field meanings are documented in docs/warehouse.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from kernel.vocabulary import PLATFORMS  # noqa: E402 - re-exported: items name their platform

KINDS = ("post", "comment", "mention", "message")

FIELDS = (
    "platform",
    "id",
    "kind",
    "account",
    "author_id",
    "author_name",
    "is_own",
    "parent_id",
    "root_id",
    "created_at",
    "text",
    "url",
    "flags",
)


# Counters that change whenever someone else acts (a new reply, a like). They are kept in
# flags as first seen but are not part of the item's content: a new reply to a comment must
# not make a new version of the comment. Current counts are in the raw pages.
VOLATILE_FLAGS = frozenset(
    {
        "totalReplyCount",
        "comments_count",
        "comment_count",
        "reply_count",
        "like_count",
        "likeCount",
        "public_metrics",
    }
)


# json.dumps(value, sort_keys=True, ensure_ascii=False, default=str), without building an
# encoder for every call (half the cost of content_hash).
_HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str).encode


class ItemError(ValueError):
    """A canonical item that does not meet the contract; the message names the field."""


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """A canonical item.

    Attributes:
        platform: facebook, instagram, youtube or twitter.
        id: the platform's own id for the object.
        kind: post, comment, mention or message.
        account: the configured account id this item was collected for.
        author_id: the platform id of the author ("" when the API withholds it).
        author_name: display name or handle of the author.
        is_own: True when the council account wrote it.
        parent_id: the item it replies to; None for a post.
        root_id: the post or conversation the item belongs to (its own id for a post).
        created_at: timezone-aware creation time.
        text: the text exactly as the platform returned it.
        url: a link to the item, when the platform gives one.
        flags: platform metadata (paid_partnership, sponsor, paid_product_placement,
            promotion_status, is_hidden, ...).
    """

    platform: str
    id: str
    kind: str
    account: str
    author_id: str
    author_name: str
    is_own: bool
    parent_id: str | None
    root_id: str
    created_at: datetime
    text: str
    url: str | None = None
    flags: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """The warehouse key: (platform, id)."""
        return (self.platform, self.id)

    def content_hash(self) -> str:
        """A digest of what an edit can change: the text and the non-volatile flags."""
        flags = {k: v for k, v in self.flags.items() if k not in VOLATILE_FLAGS}
        blob = _HASH_JSON([self.text, flags])
        return hashlib.blake2b(blob.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by `channelwatch check` and the sandbox exports."""
        out = {name: getattr(self, name) for name in FIELDS}
        out["created_at"] = self.created_at.isoformat()
        out["flags"] = dict(self.flags)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """Build and validate an item from its JSON form.

        Raises:
            ItemError: naming the first field that is missing or wrong.
        """
        if not isinstance(data, Mapping):
            raise ItemError("an item must be a JSON object")
        for name in ("platform", "id", "kind", "created_at"):
            if data.get(name) in (None, ""):
                raise ItemError(f"field '{name}' is required")
        platform = data["platform"]
        if platform not in PLATFORMS:
            raise ItemError(
                f"field 'platform' must be one of {', '.join(PLATFORMS)}, got {platform!r}"
            )
        kind = data["kind"]
        if kind not in KINDS:
            raise ItemError(f"field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
        text = data.get("text") or ""
        if not isinstance(text, str):
            raise ItemError("field 'text' must be a string")
        flags = data.get("flags") or {}
        if not isinstance(flags, Mapping):
            raise ItemError("field 'flags' must be an object")
        item_id = str(data["id"])
        parent = data.get("parent_id")
        return cls(
            platform=platform,
            id=item_id,
            kind=kind,
            account=str(data.get("account") or ""),
            author_id=str(data.get("author_id") or ""),
            author_name=str(data.get("author_name") or ""),
            is_own=_as_bool(data.get("is_own", False), "is_own"),
            parent_id=str(parent) if parent not in (None, "") else None,
            root_id=str(data.get("root_id") or (item_id if parent in (None, "") else ""))
            or item_id,
            created_at=parse_timestamp(data["created_at"], "created_at"),
            text=text,
            url=data.get("url") or None,
            flags=dict(flags),
        )


# What a UTF-8 text column cannot hold: PostgreSQL refuses NUL in text and jsonb, and no
# UTF-8 encoder takes a lone surrogate (a JSON "\ud83d" escape without its pair).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable_text(value: str) -> str:
    """``value`` with each NUL and lone surrogate replaced by U+FFFD (one for one, so code
    point offsets into the text stay valid)."""
    if value.isascii() and "\x00" not in value:
        return value
    return _UNSTORABLE.sub(REPLACEMENT, value)


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, Mapping):
        return {storable_text(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value


def storable(item: Item) -> Item:
    """The item as the warehouse stores it, the same on SQLite and PostgreSQL: NUL and lone
    surrogates in its strings become U+FFFD. The raw page keeps the API's own escapes."""
    try:
        joined = "\x01".join(
            [
                item.id,
                item.account,
                item.author_id,
                item.author_name,
                item.parent_id or "",
                item.root_id,
                item.text,
                item.url or "",
            ]
        )
    except TypeError:  # a field that is not a string: the general path below
        joined = None
    if joined is not None and _clean_text(joined) and _clean_flags(item.flags):
        return item  # the common case, checked without building anything
    fields = {
        name: getattr(item, name)
        for name in (
            "id",
            "account",
            "author_id",
            "author_name",
            "parent_id",
            "root_id",
            "text",
            "url",
        )
    }
    clean = {name: storable_text(v) for name, v in fields.items() if isinstance(v, str)}
    flags = _storable(item.flags) if item.flags else item.flags
    changed = {k: v for k, v in clean.items() if v is not fields[k]}
    if flags is not item.flags and flags != dict(item.flags):
        changed["flags"] = flags
    return dataclasses.replace(item, **changed) if changed else item


def _clean_text(value: str) -> bool:
    return (value.isascii() and "\x00" not in value) or _UNSTORABLE.search(value) is None


_PLAIN = frozenset({bool, int, float, type(None)})


def _clean_flags(value: Any) -> bool:
    """True when _storable would give `value` back unchanged (str keys, no tuples)."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is str:
        return _clean_text(value)
    if type(value) is dict:
        return all(type(k) is str and _clean_text(k) and _clean_flags(v) for k, v in value.items())
    if type(value) is list:
        return all(_clean_flags(v) for v in value)
    return not isinstance(value, (str, Mapping, tuple, list))


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise ItemError(f"field '{name}' must be true or false")


def parse_timestamp(value: Any, name: str = "timestamp") -> datetime:
    """Parse an ISO 8601 timestamp that carries an offset; the result is aware (UTC).

    Accepts the platforms' spellings: "2021-07-04T19:50:58+0000" (Graph),
    "2021-02-24T02:13:43.000Z" (X, YouTube).
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
            text = text[:-2] + ":" + text[-2:]
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ItemError(f"field '{name}' is not an ISO 8601 timestamp: {value!r}") from None
    else:
        raise ItemError(f"field '{name}' must be an ISO 8601 string")
    if dt.tzinfo is None:
        raise ItemError(f"field '{name}' needs a UTC offset: {value!r}")
    return dt.astimezone(timezone.utc)
