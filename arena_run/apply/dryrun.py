"""Asking the API server before writing: every changed object through a
server-side dry run (dryRun=All), so admission webhooks, the CRD's schema and
quotas refuse it in the plan, per object, and an apply that cannot succeed
writes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from ..cluster import Cluster, ClusterError
from ..plan import Action, Plan

def dry_run(cluster: Cluster, plans: list[Plan]) -> None:
    """Add to each plan's problems what the API server would refuse; writes nothing."""
    # Not a replacement: its new object is created after the old one is gone,
    # and a dry run over the old one would be refused for the very fields
    # (immutable ones, such as a TrainJob's trainer) that make it a replacement.
    todo = [(p, a) for p in plans for a in p.actions if a.op in ("create", "update")]

    def one(item: tuple[Plan, Action]) -> Optional[ClusterError]:
        plan, action = item
        assert action.desired is not None  # a creation or an update has what it writes
        try:
            cluster.apply(action.desired, dry_run=True)
            return None
        except ClusterError as exc:
            return exc

    if not todo:
        return
    # All of them at once: the transport bounds how many are in flight.
    with ThreadPoolExecutor(max_workers=min(len(todo), cluster.concurrency)) as pool:
        refusals = list(pool.map(one, todo))
    for (plan, action), exc in zip(todo, refusals):
        if exc is None:
            continue
        if exc.reason == "NotFound-namespace":
            problem = f"{plan.experiment}: {exc}"  # one line for the whole experiment, not one per object
        else:
            problem = f"{action.kind} {action.key[1]}/{action.name}: the API server refuses it: {exc}"
        if problem not in plan.problems:
            plan.problems.append(problem)
