"""A YAML reader for files people write by hand: the configuration and lexicons.

`yaml.safe_load` is safe against code execution but not against mistakes or malice. This
reader builds the same plain data (dicts, lists, str, int, float, bool, None, dates) from
PyYAML's event stream, and refuses what it would accept silently or at great cost:

- a key given twice in one mapping (PyYAML keeps the last one): the error names the key
  path and both lines;
- anchors and aliases (``&name`` / ``*name``): a few hundred bytes of nested aliases expand
  to billions of nodes (the "billion laughs"); without them the data is never larger than
  the text;
- YAML 1.1's surprising numbers: ``9:00`` read as the base-60 number 540 and ``010`` as the
  octal number 8 (write them in quotes);
- merge keys (``<<``), tags other than YAML's own scalar, list and mapping tags, keys that
  are lists or mappings, more than one document, nesting deeper than `MAX_DEPTH`;
- a value that cannot be constructed (``2027-13-45``, an integer of 5,000 digits): an error
  with its line, never another exception.

Mapping keys are read as text (``on:`` is the key "on", not True). Every problem is a
`YamlError` whose text is one line, ``WHERE: reason``, WHERE being the key path
(``business_hours.start``) or ``line N``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

__all__ = ["MAX_DEPTH", "YamlError", "key_path", "load"]

MAX_DEPTH = 32

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {
    f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "value")
}
_SEQ_TAGS = {None, "!", f"{_TAG}seq"}
_MAP_TAGS = {None, "!", f"{_TAG}map"}
_OCTAL = re.compile(r"[-+]?0[0-9_]+")
_NAME = re.compile(r"[A-Za-z0-9_-]+")


class YamlError(ValueError):
    """A refused or unreadable YAML text; ``str()`` is one line, ``WHERE: reason``."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def key_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """``("accounts", "facebook", 0, "id")`` → ``accounts.facebook[0].id``; a key that is
    not a plain name is quoted (``checks.'foi days'``)."""
    out = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = str(part)
            if not _NAME.fullmatch(text):
                text = repr(text)
            out += ("." if out else "") + text
    return out or "(top level)"


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _line(event: Any) -> int:
    return event.start_mark.line + 1


# libyaml's parser, where PyYAML was built with it, is about 18 times faster than the pure
# Python one: a file at the configuration's size limit parses in well under a second.
_LOADER = getattr(yaml, "CSafeLoader", None) if yaml.__with_libyaml__ else None
_LOADER = _LOADER or yaml.SafeLoader


class _Builder:
    def __init__(self, text: str) -> None:
        self.loader = _LOADER(text)

    def event(self) -> Any:
        return self.loader.get_event()

    def peek(self) -> Any:
        return self.loader.peek_event()

    def refuse(self, path: list[Any], event: Any, reason: str) -> YamlError:
        where = key_path(path) if path else f"line {_line(event)}"
        line = f"line {_line(event)}: " if path else ""
        return YamlError(where, line + reason)

    def document(self) -> Any:
        self.event()  # StreamStart
        if isinstance(self.peek(), StreamEndEvent):
            return None
        self.event()  # DocumentStart
        data = self.node([], 0)
        self.event()  # DocumentEnd
        following = self.peek()
        if isinstance(following, DocumentStartEvent):
            raise self.refuse(
                [],
                following,
                "more than one YAML document (a second '---'); the file must hold one",
            )
        if not isinstance(following, StreamEndEvent):  # pragma: no cover - parser guarantees
            raise self.refuse([], following, "unexpected YAML content")
        return data

    def node(self, path: list[Any], depth: int) -> Any:
        event = self.event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise self.refuse(
                path,
                event,
                "YAML anchors and aliases (&name, *name) are not "
                "allowed; write the value out in full",
            )
        if isinstance(event, ScalarEvent):
            return self.scalar(path, event)
        if depth >= MAX_DEPTH:
            raise self.refuse(path, event, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(event, SequenceStartEvent):
            if event.tag not in _SEQ_TAGS:
                raise self.refuse(path, event, f"YAML tag {_short_tag(event.tag)} is not allowed")
            items = []
            while not isinstance(self.peek(), SequenceEndEvent):
                items.append(self.node([*path, len(items)], depth + 1))
            self.event()
            return items
        if isinstance(event, MappingStartEvent):
            if event.tag not in _MAP_TAGS:
                raise self.refuse(path, event, f"YAML tag {_short_tag(event.tag)} is not allowed")
            return self.mapping(path, depth)
        raise self.refuse(path, event, "unexpected YAML content")  # pragma: no cover

    def mapping(self, path: list[Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        lines: dict[str, int] = {}
        while not isinstance(self.peek(), MappingEndEvent):
            key_event = self.event()
            if isinstance(key_event, AliasEvent) or getattr(key_event, "anchor", None):
                raise self.refuse(
                    path,
                    key_event,
                    "YAML anchors and aliases (&name, *name) "
                    "are not allowed; write the value out in full",
                )
            if not isinstance(key_event, ScalarEvent):
                raise self.refuse(path, key_event, "a key must be a name, not a list or mapping")
            key = key_event.value
            if key == "<<" and key_event.implicit[0]:
                raise self.refuse(
                    path,
                    key_event,
                    "YAML merge keys (<<) are not allowed; write the keys out in full",
                )
            if key in lines:
                raise YamlError(
                    key_path([*path, key]),
                    f"duplicate key (lines {lines[key]} and {_line(key_event)}): "
                    "YAML would silently keep only the last one",
                )
            lines[key] = _line(key_event)
            out[key] = self.node([*path, key], depth + 1)
        self.event()
        return out

    def scalar(self, path: list[Any], event: ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag not in _SCALAR_TAGS:
            raise self.refuse(path, event, f"YAML tag {_short_tag(tag)} is not allowed")
        value = event.value
        if tag == f"{_TAG}value":
            return value
        plain = bool(event.implicit[0])  # unquoted and untagged (style differs by parser)
        if plain and tag in (f"{_TAG}int", f"{_TAG}float") and ":" in value:
            number = self._construct(path, event, tag)
            raise self.refuse(
                path,
                event,
                f"unquoted {value} is read by YAML as the base-60 number "
                f"{number:g}, not a time: write times in quotes, e.g. '{value}'",
            )
        if plain and tag == f"{_TAG}int" and _OCTAL.fullmatch(value):
            number = self._construct(path, event, tag)
            raise self.refuse(
                path,
                event,
                f"unquoted {value} is read by YAML as the octal number {number}: "
                f"write it without the leading 0, or in quotes",
            )
        return self._construct(path, event, tag)

    def _construct(self, path: list[Any], event: ScalarEvent, tag: str) -> Any:
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except Exception as exc:  # noqa: BLE001 - e.g. KeyError for "!!bool 9:00"
            shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
            if tag in (f"{_TAG}int", f"{_TAG}float") and event.value.strip("+-_0123456789"):
                reason = f"not a valid {_short_tag(tag)}"
            elif tag in (f"{_TAG}int", f"{_TAG}float"):
                reason = "too many digits"
            elif type(exc) is ValueError and str(exc):  # "month must be in 1..12"
                reason = str(exc).splitlines()[0]
            else:
                reason = f"not a valid {_short_tag(tag)}"
            raise self.refuse(path, event, f"cannot read {shown!r}: {reason}") from None


def _syntax_error(exc: yaml.YAMLError, text: str) -> YamlError:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "?")
        return YamlError(
            f"line {line}",
            f"YAML syntax error: the character U+{char:04X} is not allowed in YAML text",
        )
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark else "(top level)"
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return YamlError(where, f"YAML syntax error: {problem}")


def load(text: str) -> Any:
    """Parse one YAML document into plain data, refusing what the module docstring lists.

    Raises:
        YamlError: one line, ``WHERE: reason``.
    """
    builder = None
    try:
        builder = _Builder(text)
        return builder.document()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps recursion shallow
        raise YamlError("(top level)", "nested too deeply") from None
    finally:
        if builder is not None:
            builder.loader.dispose()
