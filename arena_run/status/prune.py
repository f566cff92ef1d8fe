"""Which experiments `prune --since` may delete: pure, given what is live and now.

An experiment is prunable when it has jobs, every one of them finished
(Succeeded or Failed) longer ago than the cut-off, and none of its pods
(a job's, TensorBoard's or serving's) is Pending or Running.  Anything
unfinished, or finished too recently, keeps the whole experiment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Optional

from ..objects.applyset import parent_name
from ..objects.kinds import JOB_GROUP_KINDS
from ..objects.labels import EXPERIMENT, MANAGED
from ..objects.phase import FINISHED_PHASES, finished_at, job_phase
from ..objects.reader import Reader
from ..objects.times import age, format_time
from .top import list_kinds

ACTIVE_POD_PHASES = ("Pending", "Running")


@dataclass
class Candidate:
    name: str
    namespace: str
    finished: str  # ISO time the last job finished
    ago: str
    jobs: list[tuple[str, str]] = field(default_factory=list)  # [(name, phase)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "finished": self.finished, "ago": self.ago,
                "jobs": [{"name": n, "phase": p} for n, p in self.jobs]}


def prunable(parents: list[dict[str, Any]], jobs: list[dict[str, Any]], pods: list[dict[str, Any]], now: dt.datetime, older_than: dt.timedelta) -> list[Candidate]:
    """The experiments (by their ApplySet parents) that may be deleted, oldest first."""
    def exp_of(obj: dict[str, Any]) -> tuple[Optional[str], Optional[str]]:
        meta = obj["metadata"]
        return (meta.get("namespace"), (meta.get("labels") or {}).get(EXPERIMENT))

    jobs_of: dict[tuple[Optional[str], Optional[str]], list[dict[str, Any]]] = {}
    for job in jobs:
        jobs_of.setdefault(exp_of(job), []).append(job)
    active = {exp_of(p) for p in pods if (p.get("status") or {}).get("phase") in ACTIVE_POD_PHASES}
    cutoff = now - older_than
    out = []
    for parent in parents:
        key = exp_of(parent)
        ns, name = key
        if not name or parent["metadata"]["name"] != parent_name(name) or key in active:
            continue
        mine = jobs_of.get(key, [])
        if not mine or any(job_phase(j) not in FINISHED_PHASES for j in mine):
            continue
        maybe = [finished_at(j) for j in mine]
        ends = [e for e in maybe if e is not None]
        if len(ends) < len(maybe):
            continue  # finished, but when is unknown: not ours to guess
        last = max(ends)
        if last > cutoff:
            continue
        out.append(Candidate(name, ns or "", format_time(last), age(last, now),
                             sorted((j["metadata"]["name"], job_phase(j)) for j in mine)))
    return sorted(out, key=lambda c: (c.finished, c.namespace, c.name))


def read_prunable(cluster: Reader, namespace: Optional[str], older_than: dt.timedelta,
                  now: Optional[dt.datetime] = None) -> list[Candidate]:
    """LISTs side by side: parents, pods, and one per job kind."""
    selector = MANAGED
    parents, pods, *jobs = list_kinds(cluster, [
        ("ConfigMap", namespace, f"{selector},{EXPERIMENT}"), ("Pod", namespace, selector),
        *((gk, namespace, selector) for gk in JOB_GROUP_KINDS)])
    return prunable(parents, [j for items in jobs for j in items], pods, now or dt.datetime.now(dt.timezone.utc),
                    older_than)
