"""What apply and delete report while they work, for a live display.

They return data and never print; a caller that wants to show progress
passes a callback, which hears these events from the worker threads as
they happen (so it must be thread-safe: rich's Console is).  Besides these,
apply_plan reports each action's Outcome as it completes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from ..objects.keys import Key, bare_kind

if TYPE_CHECKING:
    from ..plan import Plan
    from .errors import ApplyError
    from .writes import Result


@dataclass(frozen=True)
class Waiting:
    """Apply or delete waits for an object to be gone before it goes on."""

    key: Key  # (group-kind, namespace, name)
    why: str  # what the wait is for

    def __str__(self) -> str:
        kind = bare_kind(self.key)
        return f"waiting for {kind} {self.key[1]}/{self.key[2]} to be deleted ({self.why})"


@dataclass(frozen=True)
class Gone:
    """The object a Waiting was about is gone."""

    key: Key


@dataclass(frozen=True)
class Applied:
    """One experiment's apply finished: its result, or why it failed."""

    plan: Plan
    result: Optional[Result] = None
    error: Optional[ApplyError] = None


@dataclass(frozen=True)
class Deleted:
    """One experiment was deleted: the keys of its members (its parent went last)."""

    name: str
    namespace: str
    members: list[Key] = field(default_factory=list)


@dataclass(frozen=True)
class Pulling:
    """A line of the container engine's progress while it pulls an image (apply --local --container)."""

    line: str

    def __str__(self) -> str:
        return self.line


Listener = Optional[Callable[[object], None]]


def tell(listener: Listener, event: object) -> None:
    if listener is not None:
        listener(event)
