"""Where each key path of a document stands in its source text.

Loaded only when a file has problems: the fast path (a valid file) never pays
for a position-keeping parse.  TOML goes through tree-sitter-toml, YAML
through PyYAML's node marks; both give a map from key paths such as
``('data', 1, 'mount')`` to 1-based (line, column) of the key and the value.

Cost is linear in the file: only the paths asked for (and their ancestors)
are recorded, nodes are visited once without recursion, and a position is
turned into a character column only when it is looked up (a column counted
by slicing a megabyte-long line for each of its items was quadratic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from .errors import KeyPath

if TYPE_CHECKING:  # both are imported only when a file has a problem to locate
    import tree_sitter
    import yaml

Pos = tuple[int, int]
Raw = tuple[int, int]  # 0-based row and column in the parser's own unit


@dataclass
class Positions:
    to_pos: Callable[[Raw], Pos] = lambda raw: (raw[0] + 1, raw[1] + 1)
    keys: dict[KeyPath, Raw] = field(default_factory=dict)
    values: dict[KeyPath, Raw] = field(default_factory=dict)
    # Keys written twice: path -> (where again, where first).
    duplicates: dict[KeyPath, tuple[Raw, Raw]] = field(default_factory=dict)
    # YAML: where the document's top node starts.
    root: Optional[Pos] = None

    def find(self, path: KeyPath, *, key: bool = False) -> Pos:
        """The position of path, or of its nearest ancestor that exists.

        A missing key is reported where it belongs: at its table's header.
        """
        table = self.keys if key else self.values
        for n in range(len(path), 0, -1):
            raw = table.get(path[:n]) or self.keys.get(path[:n])
            if raw:
                return self.to_pos(raw)
        return (1, 1)

    def duplicate_on(self, line: int) -> Optional[tuple[KeyPath, Pos, Pos]]:
        """The duplicate key on a parser's error line: its path, where again, where first."""
        for path, (again, first) in self.duplicates.items():
            if again[0] + 1 == line:
                return path, self.to_pos(again), self.to_pos(first)
        return None


def _prefixes(wanted: Optional[Iterable[KeyPath]]) -> Optional[set[KeyPath]]:
    if wanted is None:
        return None
    out: set[KeyPath] = set()
    for path in wanted:
        out.update(tuple(path[:n]) for n in range(len(path) + 1))
    return out


def positions(text: str, fmt: str, wanted: Optional[Iterable[KeyPath]] = ()) -> Positions:
    """Positions of the paths in wanted (None: every path) and every duplicate key."""
    return _yaml_positions(text, _prefixes(wanted)) if fmt == "yaml" else _toml_positions(text, _prefixes(wanted))


# --- TOML -------------------------------------------------------------------

_KEY_TYPES = ("bare_key", "quoted_key", "dotted_key")


class _Columns:
    """tree-sitter counts bytes; people count characters.  Converted on lookup only."""

    def __init__(self, data: bytes):
        self.data = data
        self.starts = [0]
        pos = data.find(b"\n")
        while pos >= 0:
            self.starts.append(pos + 1)
            pos = data.find(b"\n", pos + 1)

    def __call__(self, raw: Raw) -> Pos:
        row, col = raw
        start = self.starts[row] if row < len(self.starts) else len(self.data)
        return row + 1, len(self.data[start : start + col].decode("utf-8", "replace")) + 1


class _TomlWalker:
    def __init__(self, data: bytes, prefixes: Optional[set[KeyPath]]) -> None:
        self.data = data
        self.prefixes = prefixes
        self.out = Positions(to_pos=_Columns(data))
        # Arrays of tables ([[data]]) seen so far: concrete path -> count.
        self.arrays: dict[KeyPath, int] = {}
        # Paths that hold a value (not an implicit table), for duplicates.
        self.defined: dict[KeyPath, Raw] = {}

    def wants(self, path: KeyPath) -> bool:
        return self.prefixes is None or path in self.prefixes

    @staticmethod
    def raw(node: tree_sitter.Node) -> Raw:
        return node.start_point[0], node.start_point[1]

    @staticmethod
    def key_parts(node: tree_sitter.Node) -> list[tree_sitter.Node]:
        # A dotted key nests to the left (((a.b).c).d): unwound without recursion.
        parts = []
        while node.type == "dotted_key":
            children = node.named_children
            parts.append(children[-1])
            node = children[0]
        parts.append(node)
        return parts[::-1]

    def key_text(self, node: tree_sitter.Node) -> str:
        raw = self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")
        if node.type == "quoted_key":
            if raw.startswith("'"):
                return raw[1:-1]
            from ._toml import TOMLDecodeError, loads  # a basic string: let a TOML parser unescape it

            try:
                return str(loads(f"k = {raw}")["k"])
            except TOMLDecodeError:
                return raw
        return raw

    def resolve(self, base: KeyPath, parts: list[tree_sitter.Node], header_array: bool = False) -> KeyPath:
        path = base
        for i, part in enumerate(parts):
            path += (self.key_text(part),)
            last = i == len(parts) - 1
            if self.wants(path):
                self.out.keys.setdefault(path, self.raw(part))
            if last and header_array:
                index = self.arrays.get(path, 0)
                self.arrays[path] = index + 1
                path += (index,)
                if self.wants(path):
                    self.out.keys[path] = self.out.values[path] = self.raw(part)
            elif path in self.arrays:
                # [a.b] after [[a]] refers to the latest element of a.
                path += (self.arrays[path] - 1,)
        return path

    def walk(self, root: tree_sitter.Node) -> Positions:
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
                    self.define(path, self.raw(node))
                # Point at the header's bracket, where the table starts.
                if self.wants(path):
                    self.out.keys[path] = self.out.values[path] = self.raw(node)
                for child in node.named_children:
                    if child.type == "pair":
                        self.pair(path, child)
        return self.out

    def define(self, path: KeyPath, raw: Raw) -> None:
        if path in self.defined:
            self.out.duplicates.setdefault(path, (raw, self.defined[path]))
        else:
            self.defined[path] = raw

    def pair(self, base: KeyPath, node: tree_sitter.Node) -> None:
        # Pairs of inline tables nest in values: a stack, not recursion.
        stack = [(base, node)]
        while stack:
            base, node = stack.pop()
            children = node.named_children
            keys = [c for c in children if c.type in _KEY_TYPES]
            values = [c for c in children if c.type not in _KEY_TYPES and c.type != "comment"]
            if not keys:
                continue
            parts = self.key_parts(keys[0])
            path = self.resolve(base, parts)
            self.define(path, self.raw(parts[-1]))
            if self.wants(path):
                self.out.keys[path] = self.raw(parts[-1])
            if values:
                stack += self.value(path, values[0])

    def value(self, path: KeyPath, node: tree_sitter.Node) -> list[tuple[KeyPath, tree_sitter.Node]]:
        """Records the value's position; returns the pairs of inline tables in it, to be walked."""
        pairs = []
        todo = [(path, node)]
        while todo:
            path, node = todo.pop()
            if not self.wants(path):
                continue
            self.out.values[path] = self.raw(node)
            if node.type == "array":
                items = [c for c in node.named_children if c.type != "comment"]
                for i, item in enumerate(items):
                    if self.wants(path + (i,)):
                        self.out.keys[path + (i,)] = self.raw(item)
                        todo.append((path + (i,), item))
            elif node.type == "inline_table":
                pairs += [(path, c) for c in node.named_children if c.type == "pair"]
        return pairs


def _toml_parse(data: bytes) -> tree_sitter.Tree:
    import tree_sitter
    import tree_sitter_toml

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_toml.language()))
    return parser.parse(data)


def _toml_positions(text: str, prefixes: Optional[set[KeyPath]]) -> Positions:
    data = text.encode()
    walker = _TomlWalker(data, prefixes)
    return walker.walk(_toml_parse(data).root_node)


def too_deep(text: str, limit: int) -> Pos:
    """TOML: where arrays and inline tables first nest past limit (for a parser that ran out of stack)."""
    data = text.encode()
    cursor = _toml_parse(data).walk()
    nesting = ("array", "inline_table")
    depth = 0
    while True:
        node = cursor.node
        assert node is not None  # a cursor always stands on a node
        if node.type in nesting:  # entering it
            depth += 1
            if depth > limit:
                return _Columns(data)((node.start_point[0], node.start_point[1]))
        if cursor.goto_first_child():
            continue
        while True:  # leaving nodes until one has a next sibling
            if cursor.node is not None and cursor.node.type in nesting:
                depth -= 1
            if cursor.goto_next_sibling():
                break
            if not cursor.goto_parent():
                return (1, 1)


# --- YAML -------------------------------------------------------------------


def _yaml_positions(text: str, prefixes: Optional[set[KeyPath]]) -> Positions:
    import yaml

    from ._yaml import Loader

    # libyaml's marks are already in characters and 0-based.
    out = Positions()
    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return out
    if root is None:
        return out
    out.root = (root.start_mark.line + 1, root.start_mark.column + 1)

    def raw(node: yaml.Node) -> Raw:
        return node.start_mark.line, node.start_mark.column

    seen: set[int] = set()  # each node once, whatever aliases say
    stack: list[tuple[KeyPath, yaml.Node]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        wanted = prefixes is None or path in prefixes
        if wanted:
            out.values[path] = raw(node)
        if isinstance(node, yaml.MappingNode):
            first: dict[object, Raw] = {}
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode):
                    # A key that is no scalar (`? [a, b]`) has no name a path could hold,
                    # and such a document never parses (its key is unhashable).
                    continue
                name: str = k.value
                child = path + (name,)
                if name in first:
                    out.duplicates.setdefault(child, (raw(k), first[name]))
                    continue
                first[name] = raw(k)
                if prefixes is None or child in prefixes:
                    out.keys[child] = raw(k)
                stack.append((child, v))
        elif isinstance(node, yaml.SequenceNode) and wanted:
            for i, item in enumerate(node.value):
                if prefixes is None or path + (i,) in prefixes:
                    out.keys[path + (i,)] = raw(item)
                    stack.append((path + (i,), item))
    return out
