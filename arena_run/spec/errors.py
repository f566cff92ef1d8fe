"""Problems found in an experiment file, and how they are shown.

A Problem is one located finding: the file, a 1-based line and column, the
key path it concerns (``job.gpus``, ``data[1].mount``) and a message.  Every
layer that reads user input reports through this type, so the CLI can print
``FILE:LINE:COL: key.path: message`` for every mistake in one format.
"""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple, Sequence, Union

PathItem = Union[str, int]
KeyPath = tuple[PathItem, ...]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: Sequence[PathItem]) -> str:
    """``('data', 1, 'mount')`` -> ``data[1].mount``; odd keys are quoted."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            key = item if _BARE.match(item) else '"' + item.replace('"', '\\"') + '"'
            out += ("." if out else "") + key
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
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict:
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
