"""`apply --wait`: until jobs run (or finish) and serving is available."""

from __future__ import annotations

import time
from typing import Callable, Optional

from ..cluster import Cluster
from ..objects.jobs import JOB_KIND_NAMES
from ..objects.keys import Key
from ..objects.kinds import KINDS
from ..objects.phase import job_phase, ready
from ..plan import Plan


class WaitTimeout(Exception):
    pass


def wait_ready(cluster: Cluster, plans: list[Plan], *, timeout: float = 600, interval: float = 1.0,
               progress: Optional[Callable[[dict[Key, tuple[bool, str]]], None]] = None) -> dict[Key, tuple[bool, str]]:
    """Poll until every desired object is ready; returns {key: state}.

    progress receives the whole state map after each round, for a live display.
    Raises WaitTimeout with the state map when time runs out, and stops early
    when a job fails: waiting longer would not help.
    """
    keys = [a.key for p in plans for a in p.actions if a.desired is not None and a.op != "keep"]
    deadline = time.monotonic() + timeout
    while True:
        states = {}
        failed = []
        for key in keys:
            obj = cluster.get(KINDS[key[0]], key[1], key[2])
            states[key] = ready(obj)
            if obj is not None and obj.get("kind") in JOB_KIND_NAMES and job_phase(obj) == "Failed":
                failed.append(key)
        if progress:
            progress(states)
        if failed:
            raise WaitTimeout({"states": states, "failed": failed})
        if all(ok for ok, _ in states.values()):
            return states
        if time.monotonic() > deadline:
            raise WaitTimeout({"states": states, "failed": []})
        time.sleep(interval)
