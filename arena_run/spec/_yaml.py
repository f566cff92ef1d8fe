"""A safe YAML loader that reads arena.yaml as TOML would read arena.toml.

- Duplicate keys are refused: PyYAML silently keeps the last of two equal
  keys, and for a file that configures GPUs that is a bug waiting to happen.
- Keys must be strings, as in TOML.
- YAML 1.2 scalars: only true/false are booleans (YAML 1.1 also took `no`,
  `on`, `y`, so `namespace: no` was False), and dates stay strings.
- A structure that contains itself (an alias to its own ancestor) is refused.
"""

from __future__ import annotations

import re

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# libyaml counts positions in UTF-8 bytes; the pure-Python reader in characters.
POSITIONS_IN_BYTES = _Base is not yaml.SafeLoader

_BOOL = "tag:yaml.org,2002:bool"
_DROP = {_BOOL, "tag:yaml.org,2002:timestamp"}


class Loader(_Base):  # type: ignore[misc, valid-type]
    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in _DROP]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _mapping(loader: Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key_node.value!r} must be a string: quote it", key_node.start_mark
            )
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class Recursive(ValueError):
    """An alias that refers to one of its own ancestors."""


def load(text: str) -> object:
    data = yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader
    _acyclic(data, set())
    return data


def _acyclic(node: object, ancestors: set) -> None:
    if isinstance(node, (dict, list)):
        if id(node) in ancestors:
            raise Recursive()
        ancestors.add(id(node))
        for child in node.values() if isinstance(node, dict) else node:
            _acyclic(child, ancestors)
        ancestors.discard(id(node))
