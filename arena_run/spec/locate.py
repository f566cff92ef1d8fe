"""Where each key path of a document stands in its source text.

Loaded only when a file has problems: the fast path (a valid file) never pays
for a position-keeping parse.  TOML goes through tree-sitter-toml, YAML
through PyYAML's node marks; both give a map from key paths such as
``('data', 1, 'mount')`` to 1-based (line, column) of the key and the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .errors import KeyPath

Pos = tuple[int, int]


@dataclass
class Positions:
    keys: dict[KeyPath, Pos] = field(default_factory=dict)
    values: dict[KeyPath, Pos] = field(default_factory=dict)
    # Keys written twice: path -> (where again, where first).
    duplicates: dict[KeyPath, tuple[Pos, Pos]] = field(default_factory=dict)
    # YAML: where an alias first refers back to its own ancestor.
    recursion: Optional[Pos] = None
    # YAML: where the document's top node starts.
    root: Optional[Pos] = None

    def find(self, path: KeyPath, *, key: bool = False) -> Pos:
        """The position of path, or of its nearest ancestor that exists.

        A missing key is reported where it belongs: at its table's header.
        """
        table = self.keys if key else self.values
        for n in range(len(path), 0, -1):
            pos = table.get(path[:n]) or self.keys.get(path[:n])
            if pos:
                return pos
        return (1, 1)


def positions(text: str, fmt: str) -> Positions:
    return _yaml_positions(text) if fmt == "yaml" else _toml_positions(text)


# --- TOML -------------------------------------------------------------------

_KEY_TYPES = ("bare_key", "quoted_key", "dotted_key")


class _TomlWalker:
    def __init__(self, text: str):
        self.data = text.encode()
        self.lines = self.data.split(b"\n")
        self.out = Positions()
        # Arrays of tables ([[data]]) seen so far: concrete path -> count.
        self.arrays: dict[KeyPath, int] = {}
        # Paths that hold a value (not an implicit table), for duplicates.
        self.defined: dict[KeyPath, Pos] = {}

    def pos(self, node) -> Pos:
        row, col = node.start_point
        # tree-sitter counts bytes; people count characters.
        line = self.lines[row] if row < len(self.lines) else b""
        return row + 1, len(line[:col].decode("utf-8", "replace")) + 1

    def key_parts(self, node) -> list:
        if node.type == "dotted_key":
            return [p for c in node.named_children for p in self.key_parts(c)]
        return [node]

    def key_text(self, node) -> str:
        raw = self.data[node.start_byte : node.end_byte].decode()
        if node.type == "quoted_key":
            if raw.startswith("'"):
                return raw[1:-1]
            from ._toml import loads  # a basic string: let a TOML parser unescape it

            return loads(f"k = {raw}")["k"]
        return raw

    def resolve(self, base: KeyPath, parts: list, header_array: bool = False) -> KeyPath:
        path = base
        for i, part in enumerate(parts):
            path += (self.key_text(part),)
            last = i == len(parts) - 1
            self.out.keys.setdefault(path, self.pos(part))
            if last and header_array:
                index = self.arrays.get(path, 0)
                self.arrays[path] = index + 1
                path += (index,)
                self.out.keys[path] = self.out.values[path] = self.pos(part)
            elif path in self.arrays:
                # [a.b] after [[a]] refers to the latest element of a.
                path += (self.arrays[path] - 1,)
        return path

    def walk(self, root) -> Positions:
        for node in root.named_children:
            if node.type == "pair":
                self.pair((), node)
            elif node.type in ("table", "table_array_element"):
                keys = [c for c in node.named_children if c.type in _KEY_TYPES]
                if not keys:
                    continue
                array = node.type == "table_array_element"
                path = self.resolve((), self.key_parts(keys[0]), header_array=array)
                if not array:
                    self.define(path, self.pos(node))
                # Point at the header's bracket, where the table starts.
                self.out.keys[path] = self.out.values[path] = self.pos(node)
                for child in node.named_children:
                    if child.type == "pair":
                        self.pair(path, child)
        return self.out

    def define(self, path: KeyPath, pos: Pos) -> None:
        if path in self.defined:
            self.out.duplicates.setdefault(path, (pos, self.defined[path]))
        else:
            self.defined[path] = pos

    def pair(self, base: KeyPath, node) -> None:
        children = node.named_children
        keys = [c for c in children if c.type in _KEY_TYPES]
        values = [c for c in children if c.type not in _KEY_TYPES and c.type != "comment"]
        if not keys:
            return
        parts = self.key_parts(keys[0])
        path = self.resolve(base, parts)
        self.define(path, self.pos(parts[-1]))
        self.out.keys[path] = self.pos(parts[-1])
        if values:
            self.value(path, values[0])

    def value(self, path: KeyPath, node) -> None:
        self.out.values[path] = self.pos(node)
        if node.type == "array":
            items = [c for c in node.named_children if c.type != "comment"]
            for i, item in enumerate(items):
                self.out.keys[path + (i,)] = self.pos(item)
                self.value(path + (i,), item)
        elif node.type == "inline_table":
            for child in node.named_children:
                if child.type == "pair":
                    self.pair(path, child)


def _toml_positions(text: str) -> Positions:
    import tree_sitter
    import tree_sitter_toml

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_toml.language()))
    walker = _TomlWalker(text)
    return walker.walk(parser.parse(walker.data).root_node)


# --- YAML -------------------------------------------------------------------


def _yaml_positions(text: str) -> Positions:
    import yaml

    from ._yaml import Loader

    out = Positions()
    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return out

    def mark(node) -> Pos:
        return node.start_mark.line + 1, node.start_mark.column + 1

    ancestors: set = set()

    def walk(path: KeyPath, node) -> None:
        out.values[path] = mark(node)
        if id(node) in ancestors:  # an alias to its own ancestor
            out.recursion = out.recursion or mark(node)
            return
        ancestors.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, Pos] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else None
                child = path + (name,)
                if name in seen:
                    out.duplicates.setdefault(child, (mark(k), seen[name]))
                    continue
                seen[name] = mark(k)
                out.keys[child] = mark(k)
                walk(child, v)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out.keys[path + (i,)] = mark(item)
                walk(path + (i,), item)
        ancestors.discard(id(node))

    if root is not None:
        out.root = mark(root)
        walk((), root)
    return out


def duplicate_at(pos: Pos, found: Positions) -> Optional[tuple[KeyPath, Pos, Pos]]:
    """The duplicate key on the line of a parser's error: its path, where again, where first."""
    for path, (again, first) in found.duplicates.items():
        if again[0] == pos[0]:
            return path, again, first
    return None
