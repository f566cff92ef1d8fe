"""What reading a target takes: the few calls the planner, status, logs and top make.

arena_run.cluster's Cluster answers them from the API server, and
arena_run.local's LocalView from this machine's state (as the objects a
cluster would hold).  Code that only reads takes a Reader, so either target
serves it, checked by mypy rather than by a cast; code that writes takes a
Cluster.  Protocols, not a base class: neither target imports the other, and
this layer imports neither.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator, Optional, Protocol

from .kinds import Kind


class LogChunks(Protocol):
    """A container's log as byte chunks: iterate it; stop() ends it from another thread."""

    finished: threading.Event  # set once iteration is over, however it ended
    last_chunk: float  # time.monotonic() of the last bytes (or of the opening)

    def __iter__(self) -> Iterator[bytes]: ...

    def stop(self) -> None: ...


class Reader(Protocol):
    """A target's objects, read as a cluster's: GET, LIST (label and field selectors), a pod's log."""

    @property
    def namespace(self) -> str:
        """The namespace a name without one is read in (the kube context's, or `local`)."""
        ...

    def get(self, kind: Kind, namespace: Optional[str], name: str) -> Optional[dict[str, Any]]: ...

    def list(self, kind: Kind, namespace: Optional[str], *, selector: Optional[str] = None,
             metadata_only: bool = False, field_selector: Optional[str] = None) -> list[dict[str, Any]]: ...

    def logs(self, namespace: str, pod: str, *, container: Optional[str] = None, follow: bool = False,
             tail: Optional[int] = None, since_seconds: Optional[int] = None,
             timestamps: bool = False) -> LogChunks: ...
