"""A safe YAML loader that reads arena.yaml as TOML would read arena.toml.

- YAML 1.2 core schema (PyYAML's resolver is YAML 1.1): only true/false are
  booleans (1.1 also took `no`, `on`, `y`, so `namespace: no` was False),
  `010` is ten (not eight), `1:30` and `1_0` are strings, `0o10` is octal,
  dates stay strings and `<<` is an ordinary key.  libyaml still does the
  parsing, so this costs nothing over PyYAML's own resolver.
- Aliases are refused: a job file has no use for them, and ten levels of nine
  aliases (a 589-byte "billion laughs") expand to a billion nodes for every
  walk that follows them.  The composed node graph is checked, each node once,
  before anything is constructed.
- Nesting deeper than MAX_DEPTH is refused before construction recurses.
- Duplicate keys are refused: PyYAML silently keeps the last of two equal
  keys, and for a file that configures GPUs that is a bug waiting to happen.
- Keys must be strings, as in TOML.
- Floats keep their spelling (floats.py), as TOML's do.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional, Union

import yaml

from .errors import shown
from .shape import MAX_DEPTH, MAX_ITEMS
from .floats import WrittenFloat

if TYPE_CHECKING:  # checked against the pure-Python loader: libyaml's constructs and resolves alike
    _Base = yaml.SafeLoader
else:  # libyaml's when PyYAML was built with it
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# libyaml counts positions in UTF-8 bytes; the pure-Python reader in characters.
POSITIONS_IN_BYTES = _Base is not yaml.SafeLoader

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

# The YAML 1.2.2 core schema, section 10.3.2, verbatim.
_CORE = [
    (_NULL, r"^(?:null|Null|NULL|~|)$", list("nN~") + [""]),
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (_FLOAT, r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
             r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$", list("-+.0123456789")),
]
# Python refuses to convert longer decimal strings (sys.get_int_max_str_digits).
MAX_DIGITS = 4300


class Loader(_Base):
    yaml_implicit_resolvers: dict[str, Any] = {}


for _tag, _rx, _first in _CORE:
    Loader.add_implicit_resolver(_tag, re.compile(_rx), _first)


def _int(loader: Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    if len(text.lstrip("+-")) > MAX_DIGITS:
        raise Refused(f"an integer of {len(text.lstrip('+-')):,} digits is longer than any count", node.start_mark)
    return int(text, 10)  # 010 is ten in YAML 1.2


def _float(loader: Loader, node: yaml.ScalarNode) -> float:
    # Spelled as written (`1e-5`, `.5`), so a sweep value prints as it reads here.
    text = loader.construct_scalar(node)
    if text.lower().endswith((".inf", ".nan")):
        return WrittenFloat(text, float(text.lower().replace(".", "")))
    return WrittenFloat(text)


def _mapping(loader: Loader, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            # A list or mapping as a key (`? [a, b]`) holds nodes, which no user wrote: name its kind.
            what = (shown(key_node.value) if isinstance(key_node, yaml.ScalarNode)
                    else "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping")
            raise yaml.constructor.ConstructorError(
                None, None, f"key {what} must be a string" + (": quote it" if isinstance(key_node, yaml.ScalarNode)
                                                               else ""), key_node.start_mark
            )
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {shown(key)}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


Loader.add_constructor(_INT, _int)
Loader.add_constructor(_FLOAT, _float)
Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class Refused(ValueError):
    """A structure the loader will not build: an alias, or nesting too deep."""

    def __init__(self, message: str, mark: Optional[Union[yaml.Mark, yaml._yaml.Mark]]) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def load(text: str) -> object:
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node, text)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check(root: yaml.Node, text: str) -> None:
    """Each node once: an alias shows as a node met twice; depth as the stack's."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise Refused("an alias (*name): anchors and aliases are not supported; write the value out",
                          _first_alias(text))
        seen.add(id(node))
        if depth > MAX_DEPTH + 1:  # shape.py says where, with the key path; this guards construction
            raise Refused(f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and len(node.value) > MAX_ITEMS:
            # Refused before construction builds them (shape.py says the same of TOML's).
            what = "keys" if isinstance(node, yaml.MappingNode) else "items"
            raise Refused(f"has {len(node.value):,} {what}; at most {MAX_ITEMS:,} are allowed", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            for k, v in reversed(node.value):
                stack.append((v, depth + 1))
                stack.append((k, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, depth + 1) for item in reversed(node.value)]


def _first_alias(text: str) -> Optional[Union[yaml.Mark, yaml._yaml.Mark]]:
    # Only on the error path: the events carry the alias's own position.
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent):
            return event.start_mark
    return None
