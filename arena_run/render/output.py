"""Manifests as text: multi-document YAML that `kubectl apply -f -` takes, or JSON.

Every YAML renderer goes through `to_yaml`, which keeps two promises:

- **Read as written.**  A string is written plain only if no YAML 1.1 or 1.2
  reader could take it for anything else.  kubectl reads YAML with go-yaml v2
  (YAML 1.1-style: `y`, `n`, `on`, `0o10`, `09`, `1e3`, `1_000` are booleans
  and numbers there, and a date becomes a timestamp); PyYAML, Ruby and the
  YAML 1.1 spec add sexagesimal `1:30`, `1,000` and `1.2.3`; YAML 1.2 readers
  add `1e3` and `0o10`.  `ambiguous` is the union of them all, and such a
  string is quoted, in keys as in values.
- **The same bytes everywhere, fast.**  The objects become YAML events here,
  once, in Python (one cached event per distinct string: a sweep repeats the
  same strings thousands of times); libyaml's C emitter writes them when
  PyYAML has it, the pure-Python emitter otherwise.  Where the two would
  choose differently (when a key may be written without `?`), the Python one
  follows libyaml, and a test checks that both give the same bytes.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from typing import Any, Callable

import yaml
from yaml.emitter import Emitter
from yaml.events import (
    DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
    SequenceStartEvent, StreamEndEvent, StreamStartEvent,
)

# Words that some reader resolves to a boolean, null, infinity, NaN or a merge
# key; compared case-insensitively, which over-quotes `yEs` but misses nothing.
_WORDS = frozenset({
    "y", "n", "yes", "no", "true", "false", "on", "off",  # YAML 1.1 booleans (1.2: true, false)
    "", "~", "null",  # nulls
    ".inf", "+.inf", "-.inf", ".nan", "inf", "+inf", "-inf", "nan", "infinity", "+infinity", "-infinity",
    "<<", "=",  # YAML 1.1 merge and value keys
})
# Numbers, matched after removing `_` and `,` (go-yaml strips every `_` before
# parsing; YAML 1.1 allows `_` among digits, Ruby's Psych also `,`).
_NUMBER = re.compile(r"""[-+]?(
      0b[01]+ | 0o?[0-7]+ | 0x[0-9a-f]+        # binary, octal (1.1: 010, 1.2: 0o10), hex
    | [0-9]+                                   # decimal; go-yaml reads 09 as the float 9
    | [0-9]*\.[0-9.]*(e[-+]?[0-9]+)?           # YAML 1.1 float, whose spec also allows 1.2.3 and .
    | [0-9]+e[-+]?[0-9]+                       # YAML 1.2 float without a dot: 1e3
    | [0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?         # YAML 1.1 sexagesimal: 1:30 is 90
    | 0x[0-9a-f]*(\.[0-9a-f]*)?p[-+]?[0-9]+    # Go's hexadecimal floats
    | \.(inf|nan)
)""", re.X | re.I)
# PyYAML takes `0b_` and `0x__` for integers (its 1.1 patterns allow `_` as
# every digit) and then fails to convert them: matched before removing `_`.
_PREFIXED = re.compile(r"[-+]?0(b[01_]+|x[0-9a-f_]+)", re.I)
# Dates and timestamps (YAML 1.1's, and go-yaml's looser `2006-1-2 15:4:5`).
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?", re.S)


def ambiguous(text: str) -> bool:
    """Whether some YAML 1.1 or 1.2 reader would read `text`, written plain, as anything but that string."""
    return (
        text.lower() in _WORDS
        or _NUMBER.fullmatch(text.replace("_", "").replace(",", "")) is not None
        or _PREFIXED.fullmatch(text) is not None
        or _TIMESTAMP.fullmatch(text) is not None
    )


def _string_event(text: str) -> ScalarEvent:
    # implicit = (may be plain, may be quoted without a tag).  Not plain: the
    # emitter single-quotes it ('yes'), or double-quotes what single quotes
    # cannot hold; PyYAML's own ambiguous strings come out the same way.
    return ScalarEvent(None, None, (not ambiguous(text), True), text)


_REPRESENTER = yaml.representer.SafeRepresenter()
_RESOLVER = yaml.resolver.Resolver()


def _other_event(value: Any) -> ScalarEvent:
    # int, float, bool, None exactly as PyYAML's SafeDumper writes them
    # (`1.0e-05`, `.inf`, `null`); anything else is refused as it refuses it.
    node = _REPRESENTER.represent_data(value)
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.representer.RepresenterError(f"cannot represent an object: {value!r}")
    resolved: str = _RESOLVER.resolve(  # type: ignore[no-untyped-call]  # types-PyYAML leaves it untyped
        yaml.ScalarNode, node.value, (True, False))
    plain = resolved == node.tag
    return ScalarEvent(None, None, (plain, False), node.value)


_MAP_START = MappingStartEvent(None, None, True, flow_style=False)
_MAP_END = MappingEndEvent()
_SEQ_START = SequenceStartEvent(None, None, True, flow_style=False)
_SEQ_END = SequenceEndEvent()


def _emit_node(emit: Callable[[Any], None], data: Any, strings: dict[str, ScalarEvent]) -> None:
    if isinstance(data, str):
        event = strings.get(data)
        if event is None:
            event = strings[data] = _string_event(data)
        emit(event)
    elif isinstance(data, Mapping):
        emit(_MAP_START)
        for key, value in data.items():
            _emit_node(emit, key, strings)
            _emit_node(emit, value, strings)
        emit(_MAP_END)
    elif isinstance(data, (list, tuple)):
        emit(_SEQ_START)
        for item in data:
            _emit_node(emit, item, strings)
        emit(_SEQ_END)
    else:
        emit(_other_event(data))


_LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")


class PureEmitter(Emitter):
    """PyYAML's pure-Python emitter, choosing styles as libyaml does."""

    def check_simple_key(self) -> bool:
        # libyaml writes `key: value` for a key up to 128 *bytes* without a
        # line break (\r counts as one there), PyYAML up to 127 characters (and
        # `? key` beyond).  Follow libyaml.
        if isinstance(self.event, ScalarEvent):
            value = self.event.value
            if _LINE_BREAK.search(value):
                return False
            return len(value.encode("utf-8", "surrogatepass")) <= 128
        return super().check_simple_key()


# No folding: a long command stays on one line, in both emitters alike.
_WIDTH = 2**31 - 1
HAVE_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))


def to_yaml(objects: list[Any], *, pure: bool = False, explicit_start: bool = True) -> str:
    """Multi-document YAML, `---` before each document; pure=True forces the pure-Python emitter.

    explicit_start=False leaves out the `---` (for a single document)."""
    stream = io.StringIO()
    emitter: Any
    if HAVE_LIBYAML and not pure:
        from yaml._yaml import CEmitter

        emitter = CEmitter(stream, width=_WIDTH)
    else:
        emitter = PureEmitter(stream, width=_WIDTH)
    emit = emitter.emit
    strings: dict[str, ScalarEvent] = {}
    emit(StreamStartEvent())
    for obj in objects:
        emit(DocumentStartEvent(explicit=explicit_start))
        _emit_node(emit, obj, strings)
        emit(DocumentEndEvent(explicit=False))
    emit(StreamEndEvent())
    return stream.getvalue()


def to_json(objects: list[dict[str, Any]]) -> str:
    # A v1 List, which kubectl also accepts: `render -o json | kubectl apply -f -`.
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"
