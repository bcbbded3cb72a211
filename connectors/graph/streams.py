"""Graph streams: each list's contract in class attributes, its parsing in `parse`.

A root stream (a Page's posts, an Instagram account's media) is requested with its child
streams expanded as nested connections in the same call, e.g.

    GET /v23.0/{page-id}/published_posts?fields=id,message,...,
        comments.filter(stream).order(chronological).limit(100){id,message,from,parent{id}}

so one call returns a page of posts *and* their first page of comments. Only a child
connection that has more than one page costs further calls (its `paging.next`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kernel.items import Item, parse_timestamp


class GraphStream:
    """One Graph list.

    Class attributes:
        name: the endpoint name used for call counts, watermarks and raw pages.
        path: for a root stream, the node and edge ("{account_id}/published_posts").
        edge: for a child stream, the connection's name on its parent object ("comments").
        parent: the parent stream's name (None for a root stream).
        primary_key: the field identifying a record.
        cursor_field: the field a watermark is taken from (root streams).
        fields: fields asked for, in Graph's field syntax.
        modifiers: connection modifiers for a child stream, e.g. (("filter", "stream"),).
        children: streams expanded inside this one's records.
    """

    name: ClassVar[str]
    path: ClassVar[str | None] = None
    edge: ClassVar[str | None] = None
    parent: ClassVar[str | None] = None
    primary_key: ClassVar[str] = "id"
    cursor_field: ClassVar[str | None] = None
    fields: ClassVar[tuple[str, ...]] = ()
    modifiers: ClassVar[tuple[tuple[str, str], ...]] = ()
    children: ClassVar[tuple[type[GraphStream], ...]] = ()

    def __init__(self, account) -> None:
        self.account = account

    @classmethod
    def field_expression(cls, limit: int) -> str:
        """The `fields` value: own fields plus each child as a nested connection."""
        parts = list(cls.fields)
        for child in cls.children:
            mods = "".join(
                f".{key}({value})" for key, value in (*child.modifiers, ("limit", str(limit)))
            )
            parts.append(f"{child.edge}{mods}{{{child.field_expression(limit)}}}")
        return ",".join(parts)

    def parse(self, record: dict, root_id: str | None, container_id: str | None) -> Item:
        """The canonical item of one record.

        Args:
            record: the native object.
            root_id: the post or media the record belongs to (None for a root record).
            container_id: the object whose connection listed the record.
        """
        raise NotImplementedError


def author(record: dict) -> tuple[str, str]:
    """(id, name) from a `from` object; Graph withholds it for some users."""
    who = record.get("from")
    if not isinstance(who, dict):
        return "", ""
    return str(who.get("id") or ""), str(who.get("name") or who.get("username") or "")


def timestamp(record: dict, field: str):
    return parse_timestamp(record[field], field)


def ref_id(value: Any) -> str | None:
    """The id of a reference such as parent{id} (or a bare id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value not in (None, "") else None
