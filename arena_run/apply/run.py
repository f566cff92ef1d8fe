"""Executing a Plan against the cluster."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..cluster import Cluster, ClusterError
from ..cluster.applyset import PARENT_KIND, PART_OF, applyset_id, group_kinds_of, parent_name
from ..cluster.kinds import KINDS
from ..plan import Action, Plan
from ..spec.errors import UserError
from .events import Gone, Waiting, tell

POOL = 8  # concurrent writes per experiment; the API server's fairness does the rest


class ApplyError(UserError):
    """The plan was not applied (or not wholly): one line per reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))

    def lines(self) -> list[str]:
        return [f"error: {p}" for p in self.problems]


@dataclass
class Outcome:
    action: Action
    ok: bool
    error: str = ""


@dataclass
class Result:
    plan: Plan
    outcomes: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if not o.ok]


Progress = Optional[Callable[[object], None]]  # hears each Outcome, and the waits (events.py)


def apply_plan(cluster: Cluster, plan: Plan, *, progress: Progress = None, replace_timeout: float = 300) -> Result:
    if plan.problems:
        raise ApplyError(plan.problems)
    result = Result(plan)
    if plan.parent_first is not None:
        cluster.apply(plan.parent_first)
    writes = [a for a in plan.actions if a.op in ("create", "update", "replace")]
    deletes = [a for a in plan.actions if a.op == "delete"]

    def run(action: Action) -> Outcome:
        try:
            if action.op == "replace":
                _replace(cluster, action, replace_timeout, progress)
            elif action.op == "delete":
                meta = action.live["metadata"]
                cluster.delete(_kind(action), meta.get("namespace"), meta["name"], uid=meta.get("uid"))
            else:
                cluster.apply(action.desired)
            outcome = Outcome(action, True)
        except ClusterError as exc:
            outcome = Outcome(action, False, str(exc))
        if progress:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=POOL) as pool:
        result.outcomes += list(pool.map(run, writes))
        # Prune only once every member is in place, and not at all if some
        # write failed: the next apply will finish both.
        if not result.failed:
            result.outcomes += list(pool.map(run, deletes))
    if result.failed:
        raise ApplyError([f"{o.action.kind} {o.action.key[1]}/{o.action.name}: {o.error}" for o in result.failed])
    if plan.parent_last is not None:
        cluster.apply(plan.parent_last)
    return result


def _kind(action: Action):
    return KINDS[action.key[0]]


def _replace(cluster: Cluster, action: Action, timeout: float, progress: Progress = None) -> None:
    # The training operator never updates a running job's pods: delete it
    # (foreground, so its pods go first) and create it afresh.
    meta = action.live["metadata"]
    kind = _kind(action)
    cluster.delete(kind, meta.get("namespace"), meta["name"], uid=meta.get("uid"), propagation="Foreground")
    tell(progress, Waiting(action.key, f"replacing it, {action.reason or 'its spec changed'}; its pods go first"))
    cluster.wait_gone(kind, meta.get("namespace"), meta["name"], meta.get("uid"), timeout=timeout)
    tell(progress, Gone(action.key))
    cluster.apply(action.desired)


def find_experiment(cluster: Cluster, name: str, namespace: str, extra_kinds: tuple = ()) -> Optional[tuple]:
    """(parent, [(kind, member)]) of an experiment, or None when it has no parent."""
    parent = cluster.get(PARENT_KIND, namespace, parent_name(name))
    if parent is None:
        return None
    set_id = applyset_id(parent_name(name), namespace)
    members = []
    for gk in sorted(set(group_kinds_of(parent)) | set(extra_kinds)):
        if gk in KINDS:
            members += [(KINDS[gk], obj) for obj in cluster.list(KINDS[gk], namespace, selector=f"{PART_OF}={set_id}")]
    return parent, members


def delete_experiment(cluster: Cluster, found: tuple, *, wait: bool = False, timeout: float = 300,
                      progress: Progress = None) -> list:
    """Delete every member, then the parent; returns the members' keys."""
    parent, members = found
    propagation = "Foreground" if wait else "Background"

    def remove(item):
        kind, obj = item
        meta = obj["metadata"]
        cluster.delete(kind, meta.get("namespace"), meta["name"], uid=meta.get("uid"), propagation=propagation)
        key = (kind.group_kind, meta.get("namespace"), meta["name"])
        if wait:
            tell(progress, Waiting(key, "foreground deletion: its dependents, such as pods, go first"))
            cluster.wait_gone(kind, meta.get("namespace"), meta["name"], meta.get("uid"), timeout=timeout)
            tell(progress, Gone(key))
        return key

    with ThreadPoolExecutor(max_workers=POOL) as pool:
        deleted = list(pool.map(remove, members))
    # The parent last: while any member may remain, it is what finds them.
    meta = parent["metadata"]
    cluster.delete(PARENT_KIND, meta.get("namespace"), meta["name"], uid=meta.get("uid"))
    return deleted
