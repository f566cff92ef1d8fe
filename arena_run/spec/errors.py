"""Problems found in an experiment file, and how they are shown.

A Problem is one located finding: the file, a 1-based line and column, the
key path it concerns (``job.gpus``, ``data[1].mount``) and a message.  Every
layer that reads user input reports through this type, so the CLI can print
``FILE:LINE:COL: key.path: message`` for every mistake in one format.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, NamedTuple, Sequence, Union

PathItem = Union[str, int]
KeyPath = tuple[PathItem, ...]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
# What a message may quote of a value or key the user wrote: a 52 MB name must
# not become a 52 MB error line.
QUOTE_MAX = 80
# C0, DEL, C1 and the Unicode line and paragraph separators: printed raw they
# break one problem into two lines or drive the terminal (ESC, OSC).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """Control characters spelled as escapes: one problem stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def shown(value: object) -> str:
    """A value for a message: its repr, cut to QUOTE_MAX characters with its length said."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else None
        return f"an integer of {digits} digits" if digits else f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    from .floats import WrittenFloat

    text = value.text if isinstance(value, WrittenFloat) else repr(value)  # `1e-5`, as the file says
    if len(text) <= QUOTE_MAX:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters written out"
    return f"{text[:QUOTE_MAX - 20]}... ({size})"


def clip(text: str) -> str:
    """Text the user wrote, unquoted, cut to QUOTE_MAX characters with its length said."""
    if len(text) <= QUOTE_MAX:
        return text
    return f"{text[:QUOTE_MAX - 20]}... ({len(text)} characters)"


# Keys in a path are shown whole up to this length (a label key may have 316 characters).
KEY_MAX = 320


def _key(item: str) -> str:
    if _BARE.fullmatch(item) and len(item) <= KEY_MAX:
        return item
    # Quoted as TOML would write the key: a newline in it is `\n`, never a line break.
    quoted = item.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    quoted = escape(quoted)
    if len(quoted) > KEY_MAX:
        return f'"{quoted[:KEY_MAX - 40]}..." ({len(item)} characters)'
    return f'"{quoted}"'


def format_path(path: Sequence[PathItem]) -> str:
    """``('data', 1, 'mount')`` -> ``data[1].mount``; odd keys are quoted."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += ("." if out else "") + _key(item)
    return out


class Problem(NamedTuple):
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        # Line 0: the file itself (unreadable, missing) rather than a place in it.
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return escape(f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class UserError(Exception):
    """A failure the user can act on: shown as lines, exit status 1, never a traceback."""

    def lines(self) -> list[str]:
        return [f"error: {self}"]


class SpecError(UserError):
    """One or more problems in one or more files; nothing may be rendered."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(map(str, self.problems)))
