"""Carrying out a plan on this machine (`--local`): record the objects, let the supervisor run them.

Each action is checked against what is recorded now, under the experiment's
apply lock, the way a cluster checks a uid precondition: two applies of the
same file at once both plan "create", the first records the job and the
second finds it recorded with the same spec and does nothing, so the job
runs once.  A replace or delete whose object was replaced meanwhile by a
different spec is refused rather than guessed at.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from typing import Any, Callable, Optional

from ..local import admission, components, resources, supervisor
from ..local.distributed import LOCAL_JOB_KIND_NAMES
from ..local.state import Damaged, LocalError, Store
from ..local.view import read_status, run_phase
from ..objects.keys import bare_kind
from ..objects.phase import FINISHED_PHASES
from ..plan import Plan
from .errors import ApplyError
from .wait import ObjectState, Progress, Until, WaitFailed, check_until
from .writes import Outcome, Result

RUNNABLE = LOCAL_JOB_KIND_NAMES + ("Deployment",)


def refusals(plan: Plan, runner: str = "process") -> list[str]:
    """Why this machine cannot carry the plan out (local.admission), as problems of the plan."""
    starting = [(a.op, a.desired) for a in plan.actions
                if a.op in ("create", "replace", "update") and a.desired is not None]
    return admission.refusals(plan.experiment, starting, runner)


def prepare_images(plans: list[Plan], progress: Optional[Callable[[str], None]] = None) -> None:
    """For the container runner, before anything is recorded: the engine answers and every image
    the plans start is here, pulled as image_pull_policy says (LocalError, one line, if not)."""
    from ..local import containers

    containers.prepare([a.desired for p in plans for a in p.actions
                        if a.op in ("create", "replace", "update") and a.desired is not None], progress)


def apply_local(store: Store, plan: Plan, *, volumes: Optional[dict[str, Any]] = None,
                runner: str = "process") -> Result:
    if plan.problems:
        raise ApplyError(plan.problems)
    # What would fail every run later is refused now, before anything is written or started.
    problems = admission.volume_refusals(volumes or {})
    for check in (resources.check, lambda s: supervisor.check_log(s, plan.experiment)):
        try:
            check(store)
        except LocalError as exc:
            problems.append(str(exc))
    if problems:
        raise ApplyError(problems)
    result = Result(plan)
    name = plan.experiment
    base = os.path.dirname(plan.source) if plan.source else os.getcwd()
    with store.apply_lock(name):
        if plan.parent_first is not None and _recorded(store, name) is None:
            # A new experiment's record (or the one --adopt writes again) before its first member, as the
            # ApplySet parent on a cluster: members without a record are then damage, never an apply cut
            # short, and status never misses a job that runs.  (An existing record is rewritten only at
            # the end: it says what the members were rendered from.)
            store.write_parent(name, plan.parent_first)
        for action in plan.actions:
            if action.op in ("unchanged", "keep", "defer"):  # defer: the running job stays as it is
                continue
            kind, obj_name = bare_kind(action.key), action.key[2]
            current = store.object(name, kind, obj_name)
            seen = ((action.live or {}).get("metadata") or {}).get("uid")
            if action.op == "delete":
                if current is not None and (seen is None or current["uid"] == seen):
                    store.remove_object(name, kind, obj_name)
                result.outcomes.append(Outcome(action, True))
                continue
            desired = action.desired
            assert desired is not None
            if current is not None and current["uid"] != seen:
                # Someone applied in between.  The same spec: already done.  Another one: refuse.
                if current["object"].get("spec") == desired.get("spec"):
                    result.outcomes.append(Outcome(action, True))
                    continue
                raise ApplyError([f"{name}: {kind} {obj_name} was changed by another apply meanwhile; plan again"])
            new_run = action.op in ("create", "replace") or (
                kind == "Deployment" and current is not None and current["object"].get("spec") != desired.get("spec"))
            store.put_object(name, desired, new_run=new_run, base=base, volumes=volumes, runner=runner)
            result.outcomes.append(Outcome(action, True))
            if new_run and kind in RUNNABLE:
                result.started.append(f"{kind} {obj_name}")
        result.started += _installed_since(store, name)
        if plan.parent_last is not None:
            store.write_parent(name, plan.parent_last)
        if needs_supervisor(store, name):
            supervisor.start(store, name)
    return result


def servers_installed_since(store: Store, experiment: str) -> list[dict[str, Any]]:
    """The entries of servers Unavailable for want of a binary that this process's PATH now has."""
    out = []
    for entry in store.objects(experiment):
        if entry["object"]["kind"] != "Deployment" or entry.get("runner") == "container":
            continue
        try:
            status = store.run_status(experiment, entry["uid"])
        except Damaged:
            continue
        if components.installed_since(entry["object"], status):
            out.append(entry)
    return out


def _installed_since(store: Store, experiment: str) -> list[str]:
    """Those servers recorded as new runs, so they start: what the hint `install it, then apply --local
    again` promises, with the file unchanged."""
    out = []
    for entry in servers_installed_since(store, experiment):
        store.put_object(experiment, entry["object"], new_run=True, runner="process")
        out.append(f"Deployment {entry['object']['metadata']['name']}")
    return out


def _recorded(store: Store, experiment: str) -> Optional[dict[str, Any]]:
    try:
        return store.parent(experiment)
    except Damaged:  # planned past it (--adopt, LocalView.adopting): the plan's record replaces it
        return None


def needs_supervisor(store: Store, experiment: str) -> bool:
    """Whether some run of the experiment is not finished (so someone must watch it)."""
    for entry in store.objects(experiment):
        if entry["object"]["kind"] not in RUNNABLE:
            continue
        try:
            status = store.run_status(experiment, entry["uid"])
        except Damaged:
            return True  # a live supervisor rewrites it when woken; a new one records the run as lost
        if status is None or status.get("phase") not in FINISHED_PHASES:
            return True
    return False


def delete_local(store: Store, experiment: str, *, timeout: float = 30) -> bool:
    """Stop every process of the experiment and remove its state; False if there was nothing.

    Returns only once the experiment's supervisor has exited, and its replicas
    with it: SIGTERM first (it stops starting replicas, stops those that run,
    then exits), SIGKILL after `timeout` (the replicas die with it).
    """
    if not os.path.isdir(store.dir(experiment)):
        return False
    with store.apply_lock(experiment):
        containers = _ran_containers(store, experiment)
        # Every member goes at once, a damaged one too: no supervisor may start one again.
        shutil.rmtree(os.path.join(store.dir(experiment), "objects"), ignore_errors=True)
        pid = store.supervisor_pid(experiment)
        if pid is not None:
            _signal(pid, signal.SIGTERM)
    if pid is not None and not _gone(store, experiment, timeout):
        _signal(pid, signal.SIGKILL)
        if not _gone(store, experiment, 10):
            raise LocalError(f"the supervisor of {experiment} (pid {pid}) did not exit after SIGKILL")
    if containers:
        # The supervisor removed its containers as it stopped; one killed meanwhile leaves them to
        # its followers, which remove them as they die: make sure, before saying deleted.
        from ..local import containers as container_runner, engine

        try:
            container_runner.sweep(engine.find(), store.root, experiment)
        except LocalError:
            pass  # no engine any more: it holds no container of ours either
    store.remove_experiment(experiment)
    return True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _gone(store: Store, experiment: str, timeout: float) -> bool:
    """Whether the experiment's supervisor exits within timeout seconds (its lock is free exactly when it is)."""
    deadline = time.monotonic() + timeout
    while store.supervisor_alive(experiment):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _ran_containers(store: Store, experiment: str) -> bool:
    """Whether a member was applied with --container (a damaged record counts as one: sweep to be sure)."""
    try:
        return any(e.get("runner") == "container" for e in store.objects(experiment))
    except (LocalError, OSError, ValueError, KeyError, TypeError):
        return True


def wait_local(store: Store, plans: list[Plan], *, until: Until = "finished", timeout: float = 600,
               interval: float = 0.5, progress: Progress = None) -> list[ObjectState]:
    """Until every job of the plans has finished (until="ready": runs or has finished) and every server runs.

    Raises WaitFailed naming the failed jobs (with their reasons) once all are
    done, or when the time is up.
    """
    check_until(until)
    wanted = [(p.experiment, a.key) for p in plans for a in p.actions
              if a.desired is not None and a.op != "keep" and bare_kind(a.key) in RUNNABLE]
    job_done = FINISHED_PHASES if until == "finished" else ("Running", *FINISHED_PHASES)
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for experiment, key in wanted:
            kind, name = bare_kind(key), key[2]
            entry = store.object(experiment, kind, name)
            if entry is None:
                states.append(ObjectState(key, "Succeeded", True, message="removed after its TTL"))
                continue
            phase, reason, message = run_phase(store, experiment, read_status(store, experiment, entry["uid"]))
            done = phase in job_done if kind in LOCAL_JOB_KIND_NAMES else phase in ("Running", "Unavailable", "Failed")
            states.append(ObjectState(key, phase, done, failed=phase == "Failed",
                                      message=f"{reason}{': ' + message if message else ''}"))
        if progress:
            progress(states)
        if all(s.done for s in states):
            failed = [f"{s.kind} {s.name} failed: {s.message}" for s in states if s.failed]
            if failed:
                raise WaitFailed(failed, states)
            return states
        if time.monotonic() > deadline:
            raise WaitFailed([f"not {until} after {timeout:.0f}s: " + ", ".join(
                f"{s.kind} {s.name} {s.phase}" for s in states if s.phase not in ("Succeeded",))], states)
        time.sleep(interval)
