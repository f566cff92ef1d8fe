"""`apply --wait` and `wait`: until the plans' objects are ready, or their jobs finished.

One answer for both targets: an ObjectState per object waited for, and
WaitFailed (an ApplyError) when a job fails or the time is up.  until="ready":
jobs running or finished, servers available; until="finished": every job
Succeeded, servers available.  A failed job ends the wait at once: waiting
longer would not help.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal, Optional

from ..cluster import Cluster
from ..objects.jobs import JOB_KIND_NAMES
from ..objects.keys import Key
from ..objects.kinds import KINDS
from ..objects.phase import job_phase, ready
from ..plan import Plan
from .errors import ApplyError

Until = Literal["ready", "finished"]
UNTIL = ("ready", "finished")


@dataclass(frozen=True)
class ObjectState:
    """Where one object is: a job's phase, or what a server is doing ("1/1 available")."""

    key: Key  # (group-kind, namespace, name)
    phase: str
    done: bool  # where the wait wants it
    failed: bool = False  # a job that failed
    message: str = ""  # why it failed, or what it waits for

    @property
    def kind(self) -> str:
        return self.key[0].split(".")[0]

    @property
    def name(self) -> str:
        return self.key[2]

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name}: {self.phase}{' (done)' if self.done else ''}>"


class WaitFailed(ApplyError):
    """A job failed, or the time ran out: each object's last state, and the failed ones."""

    def __init__(self, problems: list[str], states: list[ObjectState]) -> None:
        self.states = states
        super().__init__(problems)

    @property
    def failed(self) -> list[ObjectState]:
        return [s for s in self.states if s.failed]

    @property
    def timed_out(self) -> bool:
        return not self.failed


Progress = Optional[Callable[[list[ObjectState]], None]]


def check_until(until: str) -> None:
    if until not in UNTIL:
        raise ValueError(f"until must be one of {', '.join(UNTIL)}, not {until!r}")


def wait_ready(cluster: Cluster, plans: list[Plan], *, until: Until = "ready", timeout: float = 600,
               interval: float = 1.0, progress: Progress = None) -> list[ObjectState]:
    """Poll the cluster until every desired object is where until wants it.

    progress receives every state after each round, for a live display.
    """
    check_until(until)
    keys = [a.key for p in plans for a in p.actions if a.desired is not None and a.op != "keep"]
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for key in keys:
            obj = cluster.get(KINDS[key[0]], key[1], key[2])
            ok, what = ready(obj)
            job = obj is not None and obj.get("kind") in JOB_KIND_NAMES
            phase = job_phase(obj) if job else ""
            if job and until == "finished":
                ok = phase == "Succeeded"
            states.append(ObjectState(key, what, ok, failed=phase == "Failed"))
        if progress:
            progress(states)
        failed = [s for s in states if s.failed]
        if failed:
            raise WaitFailed([f"job failed: {s.kind} {s.key[1]}/{s.name}" for s in failed], states)
        if all(s.done for s in states):
            return states
        if time.monotonic() > deadline:
            raise WaitFailed([f"not {until} after {timeout:.0f}s: " + ", ".join(
                f"{s.kind} {s.name} {s.phase}" for s in states if not s.done)], states)
        time.sleep(interval)
