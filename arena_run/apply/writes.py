"""Writing one experiment's plan to the cluster, in the ApplySet order, under its lock."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..cluster import Cluster, ClusterError
from ..objects.applyset import FIELD_MANAGER, PART_OF, applyset_id, parent_name
from ..objects.keys import Key, key_of
from ..objects.kinds import KINDS, Kind
from ..objects.kueue import held_by_kueue
from ..objects.live import side_by_side
from ..plan import Action, Plan, desired_members
from ..spec.model import Experiment
from . import lock
from .errors import ApplyError, Locked
from .events import Gone, Listener, Waiting, tell

POOL = 8  # concurrent writes per experiment; the API server's fairness does the rest
# Kubeflow Trainer (v2.3) re-creates a TrainJob's JobSet while the TrainJob waits
# in foreground deletion (it does not look at deletionTimestamp), so that wait
# never ends. Such a job is deleted in the background instead, and its
# replacement waits for the child it owned, and that child's pods, to be gone
# as well: a JobSet of the same name still there would be taken over by the new
# TrainJob, and old pods would run beside the new ones.
OWNED_CHILD = {"TrainJob.trainer.kubeflow.org": (Kind("JobSet", "jobset.x-k8s.io", "v1alpha2", "jobsets"),
                                                 "jobset.sigs.k8s.io/jobset-name")}


@dataclass
class Outcome:
    action: Action
    ok: bool
    error: str = ""
    skipped: bool = False  # never sent: the apply was interrupted first


@dataclass
class Result:
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    # Locally: "Kind name" of each job or server this apply set running (a new run); a record-only
    # apply, one that found another apply had done it, or one that only deleted, starts none.
    started: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok and not o.skipped]

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    def __repr__(self) -> str:
        return f"<Result {self.plan.experiment}: {len(self.done)} written, {len(self.failed)} failed>"


class Interrupted(ApplyError):
    """Ctrl-C: no write was started after it; says what was written and what was not."""

    def __init__(self, results: list[Result]) -> None:
        self.results = results
        done = sum(len(r.done) for r in results)
        lines = [f"interrupted: no write was sent after the interrupt; {done} change(s) were written"]
        for r in results:
            written = [f"{o.action.kind} {o.action.name}" for o in r.done]
            todo = [f"{a.kind} {a.name}" for a in r.plan.changes
                    if not any(o.action is a and o.ok for o in r.outcomes)]
            if written:
                lines.append(f"{r.plan.experiment}: written: {', '.join(written)}")
            if todo:
                lines.append(f"{r.plan.experiment}: not written: {', '.join(todo)}")
        lines.append("apply again to finish: it converges from here")
        super().__init__(lines)

    def lines(self) -> list[str]:
        return list(self.problems)


def apply_plan(cluster: Cluster, plan: Plan, *, progress: Listener = None, replace_timeout: float = 300,
               stop: Optional[threading.Event] = None, rechecked: bool = False) -> Result:
    """Carry out one experiment's plan in the ApplySet order, holding its lock.

    stop: set it (Ctrl-C) and no further write is sent; the call then raises
    Interrupted saying what was written.  rechecked: the caller has already
    looked for namesakes created since the plan (apply_plans does it once for
    many plans).
    """
    if plan.problems:
        raise ApplyError(plan.problems)
    stop = stop or threading.Event()
    result = Result(plan)
    writes = [a for a in plan.actions if a.op in ("create", "update", "replace")]
    deletes = [a for a in plan.actions if a.op == "delete"]
    if stop.is_set():
        raise Interrupted([result])
    holder = lock.held_by(plan.live_parent, plan.live_keys, _keys_of(plan.namespace))
    if holder is not None:
        raise Locked(f"another apply holds {plan.namespace}/{parent_name(plan.experiment)}: "
                          f"{lock.describe(holder)}; apply again once it has finished")
    if not writes and not deletes:
        if plan.parent_last is not None:
            _write_record(cluster, plan)
        return result
    if not rechecked:
        recheck(cluster, [plan])
    marker = lock.new_marker(first=plan.live_parent is None)
    first = plan.parent_first or plan.parent_last
    assert first is not None  # a plan that writes or deletes members writes its parent first
    lock.acquire(cluster, first, plan.live_parent, marker)
    try:
        result.outcomes += _each(lambda a: _write(cluster, a, replace_timeout, stop, progress), writes, stop,
                                 progress)
        # Prune only once every member is in place, and not at all if some
        # write failed: the next apply will finish both.
        if not result.failed and not stop.is_set():
            result.outcomes += _each(lambda a: _delete(cluster, a), deletes, stop, progress)
        if stop.is_set():
            raise Interrupted([result])  # the lock is left: its holder is gone once this returns
        if result.failed:
            lock.release(cluster, first, marker)  # as it was before the members: old and new kinds
            raise ApplyError([f"{o.action.kind} {o.action.key[1]}/{o.action.name}: {o.error}" for o in result.failed])
        last = plan.parent_last or first
        if plan.live_parent is None and _same(last, first):
            # A first apply: its one parent write already holds the final
            # record, and its lock ends once every member exists (lock.py).
            return result
        lock.release(cluster, last, marker)
        return result
    finally:
        lock.release_token(marker)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _keys_of(namespace: str) -> Callable[[str], list[Key]]:
    def keys(experiment_json: str) -> list[Key]:
        return [key_of(o) for o in desired_members(Experiment.from_json(experiment_json), namespace)]
    return keys


def _write_record(cluster: Cluster, plan: Plan) -> None:
    # Only the parent's record changes: one write, over the parent the plan read.
    body = json.loads(json.dumps(plan.parent_last))
    if plan.live_parent is not None:
        body["metadata"]["resourceVersion"] = plan.live_parent["metadata"]["resourceVersion"]
    try:
        cluster.apply(body)
    except ClusterError as exc:
        if exc.status == 409:
            raise Locked(f"{plan.namespace}/{parent_name(plan.experiment)} changed since the plan was made "
                              "(another apply?); plan and apply again") from None
        raise


def _each(fn: Callable[[Action], Outcome], actions: list[Action], stop: threading.Event,
          progress: Listener) -> list[Outcome]:
    """fn over actions, POOL at a time; once stop is set none starts, and Ctrl-C sets it."""
    def one(action: Action) -> Outcome:
        if stop.is_set():
            return Outcome(action, False, "not written: interrupted", skipped=True)
        try:
            outcome = fn(action)
        except ClusterError as exc:
            outcome = Outcome(action, False, str(exc))
        if progress and not outcome.skipped:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=POOL) as pool:
        futures = [pool.submit(one, a) for a in actions]
        try:
            for f in futures:
                f.result()
        except KeyboardInterrupt:
            # The writes already sent finish (each is one request); the queued never start.
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
    return [f.result() if not f.cancelled() else Outcome(a, False, "not written: interrupted", skipped=True)
            for f, a in zip(futures, actions)]


def _kind(action: Action) -> Kind:
    return KINDS[action.key[0]]


def _write(cluster: Cluster, action: Action, replace_timeout: float, stop: threading.Event,
           progress: Listener = None) -> Outcome:
    if action.op == "create":
        return _create(cluster, action)
    if action.op == "replace":
        # The training operator never updates a running job's pods: delete it
        # (foreground, so its pods go first) and create it afresh.
        assert action.live is not None and action.desired is not None  # a replacement has both
        meta = action.live["metadata"]
        kind, child = _kind(action), OWNED_CHILD.get(action.key[0])
        cluster.delete(kind, meta.get("namespace"), meta["name"], uid=meta.get("uid"),
                       propagation="Background" if child else "Foreground")
        tell(progress, Waiting(action.key, f"replacing it, {action.reason or 'its spec changed'}; its pods go first"))
        deadline = time.monotonic() + replace_timeout
        gone = _wait_gone(cluster, kind, meta, deadline, stop) and (
            child is None or (_wait_gone(cluster, child[0], meta, deadline, stop, owner=meta.get("uid"))
                              and _wait_no_pods(cluster, meta, f"{child[1]}={meta['name']}", deadline, stop)))
        if not gone:
            return Outcome(action, False, "deleted, not yet re-created: interrupted (apply again creates it)",
                           skipped=True)
        tell(progress, Gone(action.key))
        return _create(cluster, action)
    # An update goes only to the object the plan read: were it deleted and
    # re-created by someone else since, its uid differs and the server refuses.
    assert action.live is not None  # an update has both
    body = json.loads(json.dumps(action.desired))
    body["metadata"]["uid"] = action.live["metadata"]["uid"]
    if action.while_held:
        return _update_held(cluster, action, body)
    cluster.apply(body)
    return Outcome(action, True)


def _update_held(cluster: Cluster, action: Action, body: dict[str, Any]) -> Outcome:
    """A queued job's template changed in place, only while Kueue still holds it: the write names the
    resourceVersion read, so an admission since (Kueue resumes the job) makes the server refuse it.
    A job changed otherwise meanwhile (its status) is read again and written if still held."""
    assert action.live is not None
    live = action.live
    for _ in range(3):
        body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        try:
            cluster.apply(body)
            return Outcome(action, True)
        except ClusterError as exc:
            if exc.status != 409:
                raise
        meta = live["metadata"]
        found = cluster.get(_kind(action), meta.get("namespace"), meta["name"])
        if found is None or found["metadata"].get("uid") != meta.get("uid"):
            return Outcome(action, False, "deleted since the plan was made; apply again creates it")
        if not held_by_kueue(found):
            return Outcome(action, False, "admitted by Kueue since the plan was made: it runs as it was, unchanged; "
                           "plan again (a change to an admitted job replaces it)")
        live = found
    return Outcome(action, False, "changed by others while arena-run wrote it; apply again")


def _create(cluster: Cluster, action: Action) -> Outcome:
    assert action.desired is not None  # a creation has what it creates
    stored = cluster.apply(action.desired)
    # The plan (and recheck) found no object of this name; if the response shows
    # other writers' fields, someone created it in the moment since: say so.
    others = sorted({e.get("manager", "?") for e in (stored or {}).get("metadata", {}).get("managedFields") or []
                     if e.get("manager") != FIELD_MANAGER and not e.get("subresource")})
    if others:
        return Outcome(action, False, f"was created by someone else ({', '.join(others)}) just before arena-run "
                       "wrote it; it now also carries arena-run's fields: check it, then delete it or --adopt it")
    return Outcome(action, True)


def _delete(cluster: Cluster, action: Action) -> Outcome:
    assert action.live is not None  # a deletion has what it deletes
    meta = action.live["metadata"]
    cluster.delete(_kind(action), meta.get("namespace"), meta["name"], uid=meta.get("uid"))
    return Outcome(action, True)


def _wait_gone(cluster: Cluster, kind: Kind, meta: dict[str, Any], deadline: float, stop: threading.Event,
               owner: Optional[str] = None) -> bool:
    """Until the replaced object (that uid) is gone, or with owner, the object of its name that
    this owner's uid owned; False if stop was set first."""
    interval = 0.2
    while True:
        live = cluster.get(kind, meta.get("namespace"), meta["name"])
        if owner is None:
            gone = live is None or live["metadata"].get("uid") != meta.get("uid")
        else:
            gone = live is None or owner not in {o.get("uid") for o in live["metadata"].get("ownerReferences") or []}
        if gone:
            return True
        if time.monotonic() > deadline:
            raise ClusterError(f"{kind.kind} {meta.get('namespace')}/{meta['name']} still exists "
                               f"{'after its owner was deleted' if owner else 'after its deletion'}")
        if stop.wait(interval):
            return False
        interval = min(interval * 1.5, 2.0)


def _wait_no_pods(cluster: Cluster, meta: dict[str, Any], selector: str, deadline: float, stop: threading.Event) -> bool:
    """Until no pod of the deleted job's child is left; False if stop was set first."""
    interval = 0.2
    while cluster.list(KINDS["Pod"], meta.get("namespace"), selector=selector, metadata_only=True):
        if time.monotonic() > deadline:
            raise ClusterError(f"pods of {meta.get('namespace')}/{meta['name']} still exist after its deletion")
        if stop.wait(interval):
            return False
        interval = min(interval * 1.5, 2.0)
    return True


def _names_in(cluster: Cluster, namespace: Optional[str], gk: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: cluster.list(KINDS[gk], namespace, metadata_only=True)


def recheck(cluster: Cluster, plans: list[Plan]) -> None:
    """Ownership at write time: a name a plan would create that someone else has
    taken since the plan was made (say, while its prompt was open) is refused
    before anything is written.  One LIST (names and labels) per kind and namespace,
    side by side."""
    wanted: dict[tuple[Optional[str], str], list[tuple[Plan, Action]]] = {}
    for p in plans:
        for a in p.actions:
            if a.op == "create":
                wanted.setdefault((a.key[1], a.key[0]), []).append((p, a))
    problems = []
    order = sorted(wanted)
    listed = side_by_side(cluster, [_names_in(cluster, ns, gk) for ns, gk in order])  # one round trip
    for (ns, gk), found in zip(order, listed):
        items = wanted[(ns, gk)]
        existing = {o["metadata"]["name"]: o for o in found}
        for p, a in items:
            obj = existing.get(a.name)
            if obj is None:
                continue
            if (obj["metadata"].get("labels") or {}).get(PART_OF) != applyset_id(parent_name(p.experiment), str(ns)):
                problems.append(f"{a.kind} {ns}/{a.name} was created by someone else after the plan was made; "
                                "arena-run leaves it alone (rename the experiment, delete it, or apply with --adopt)")
    if problems:
        raise ApplyError(problems)
