"""The verbs that change a target: plan, diff, apply, wait, find, delete.

Each takes the target first, a cluster or this machine (target.py), and
does the same thing on either; what differs is only which engine carries a
plan out (arena_run.apply for a cluster, arena_run.apply.local here).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeGuard, Union, cast

from .._version import __version__
from ..apply import (
    ApplyError, Found, Result, apply_plans, delete_experiment, dry_run, find_experiment, wait_ready,
)
from ..apply.consent import Consent, RestartRefused, split
from ..apply.events import Applied, Deleted, Listener, Pulling, tell
from ..apply.wait import ObjectState, Until
from ..cluster import Cluster
from ..objects.applyset import group_kinds_of, parent_name
from ..objects.keys import Key, Live, key_of
from ..objects.kinds import KINDS
from ..objects.live import read_many
from ..plan import Action, Plan, desired_members, make_plan
from ..plan.collisions import refuse_collisions
from ..plan.unified import ObjectDiff, unified
from ..spec.load import Loaded
from ..spec.model import Experiment
from ..spec.sources import IN_PYTHON, Sources, experiments_or_names, load_sources
from .target import Target, namespace_for, namespace_of

if TYPE_CHECKING:
    from ..local.view import LocalView

__all__ = ["apply", "delete", "diff", "find", "load", "lookup", "plan", "resolve_names", "source_of",
           "wait"]


def load(sources: Sources) -> list[Loaded]:
    """Files and directories (every arena.toml/arena.yaml below) to validated experiments."""
    return load_sources(sources)


def plan(target: Target, sources: Sources, *, namespace: Optional[str] = None, adopt: bool = False,
         rerun: bool = False, dry: bool = True, replace_running: bool = False) -> list[Plan]:
    """What apply would do for each experiment; reads the target, writes nothing.

    A change only this arena-run's rendering makes to a job that has not finished is deferred until
    it ends (op "defer"); replace_running=True plans it as a replacement now.

    On a cluster, each changed object goes through a server-side dry run
    (dry=False skips it): what the API server would refuse is a problem of
    the plan.  On this machine, what it cannot run (KServe, more GPUs than it
    has) is.
    """
    loaded = load_sources(sources)
    placed = []
    for item in loaded:
        ns = namespace_for(item.experiment, target, namespace)
        placed.append((item, ns, _desired(target, item.experiment, ns)))
    refuse_collisions(placed, namespace if isinstance(target, Cluster) else None)  # locally, -n means nothing
    # Locally, --adopt also takes over the members of a damaged record (and writes it again).
    reader = target.adopting() if adopt and not isinstance(target, Cluster) else target
    lives = read_many(reader, [(item.experiment.name, ns, desired) for item, ns, desired in placed],
                      queues=isinstance(target, Cluster))  # this machine has one implicit queue (docs/local.md)
    plans = []
    for item, ns, desired in placed:
        live = lives[(ns, item.experiment.name)]
        p = make_plan(item.experiment, ns, live, source=_recorded_source(item, target), adopt=adopt, rerun=rerun,
                      desired=desired, replace_running=replace_running)
        if isinstance(target, Cluster):
            p.problems += _unknown_kinds(p, live)
        else:
            from ..apply.local import refusals

            p.problems += refusals(p, target.runner)
        plans.append(p)
    if dry and isinstance(target, Cluster):
        dry_run(target, plans)
    return plans


def _desired(target: Target, exp: Experiment, namespace: str) -> list[dict[str, Any]]:
    """The members as rendered; on this machine, their pod templates naming the runner they are to
    run in (local.runners), so a switch of runner is a change the plan shows."""
    desired = desired_members(exp, namespace)
    if isinstance(target, Cluster):
        return desired
    from ..local.runners import stamp_all

    return stamp_all(desired, target.runner)


def _recorded_source(item: Loaded, target: Target) -> str:
    if item.file == IN_PYTHON:
        return ""
    # Locally the path is where the code is found (the file's directory); a
    # cluster records it as every checkout would.
    return source_of(item.file) if isinstance(target, Cluster) else os.path.abspath(item.file)


def _unknown_kinds(p: Plan, live: Live) -> list[str]:
    unknown = sorted(gk for gk in group_kinds_of(live.parent) if gk not in KINDS)
    if not unknown:
        return []
    # Pruning cannot see them, and the new parent would forget them.
    return [f"ConfigMap {p.namespace}/{parent_name(p.experiment)} records kinds this arena-run ({__version__}) does "
            f"not know: {', '.join(unknown)}; applying would orphan their objects: upgrade arena-run "
            f"(`arena-run delete` finds and deletes them)"]


def diff(target: Cluster, plans: list[Plan]) -> list[ObjectDiff]:
    """Each object the plans change, as a unified YAML diff of live against merged (as kubectl diff).

    The merged side is the server's answer to a dry-run apply: defaults and
    all, exactly what apply would leave.  One request per changed object;
    nothing is written.  A cluster's only: this machine has no dry run.
    """
    from concurrent.futures import ThreadPoolExecutor

    if not isinstance(target, Cluster):
        raise ValueError("diff compares with a cluster's dry run; the local target has none")
    actions = [a for p in plans for a in p.changes if a.op in ("create", "update", "replace", "delete")]

    def one(action: Action) -> ObjectDiff:
        merged = None if action.desired is None else target.apply(action.desired, dry_run=True)  # None: delete
        return unified(action.key, action.op, action.live, merged)

    with ThreadPoolExecutor(max_workers=max(1, min(len(actions), target.concurrency))) as pool:
        return list(pool.map(one, actions))


def apply(target: Target, sources: Union[Sources, list[Plan]], *, namespace: Optional[str] = None,
          adopt: bool = False, rerun: bool = False, wait: Union[bool, Until] = False, timeout: float = 600,
          progress: Listener = None, volumes: Optional[dict[str, Any]] = None,
          replace_running: Consent = False) -> list[Result]:
    """Make the target match the files (or carry out plans made before); a second call changes nothing.

    Refuses (ApplyError) before writing anything if any plan has a problem.
    A job that has not finished is stopped (replaced, or deleted) only with
    consent: replace_running=True for every such job, or the keys of those
    allowed.  An experiment that would stop one without it is not written at
    all; the others are applied, then RestartRefused (an ApplyError: one line
    per job, .results what was applied) is raised.
    progress hears, as they happen: each object's Outcome, each wait for a
    replaced job to go (Waiting, Gone), and each experiment's end (Applied).
    wait: then wait as `wait` does (True: until="ready" on a cluster, "finished" on this machine, as
    `apply --wait`).  volumes (this machine only) maps a PVC's
    claim name to a directory (default $XDG_DATA_HOME/arena-run/volumes/<claim>).
    """
    plans: list[Plan] = sources if _are_plans(sources) else plan(
        target, cast(Sources, sources), namespace=namespace, adopt=adopt, rerun=rerun,
        replace_running=replace_running is True)
    problems = [p for pl in plans for p in pl.problems]
    if problems:
        raise ApplyError(problems)
    plans, refused = split(plans, replace_running)
    if isinstance(target, Cluster):
        if volumes:
            raise ValueError("volumes are for the local target: on a cluster a PVC is a PVC")
        results = apply_plans(target, plans, progress=progress)
    else:
        results = _apply_here(target, plans, volumes or {}, progress)
    if refused:
        raise RestartRefused(refused, results)
    if wait:
        # True: as `apply --wait` waits, jobs running on a cluster, finished on this machine.
        until: Until = wait if isinstance(wait, str) else "ready" if isinstance(target, Cluster) else "finished"
        _wait(target, plans, until, timeout, None)
    return results


def _apply_here(target: LocalView, plans: list[Plan], volumes: dict[str, Any], progress: Listener) -> list[Result]:
    from ..apply.local import apply_local, servers_installed_since

    claims = {k: os.path.abspath(v) for k, v in volumes.items()}
    if target.runner == "container":
        from ..apply.local import prepare_images

        prepare_images([p for p in plans if p.has_changes], lambda line: tell(progress, Pulling(line)))
    results = []
    for p in plans:
        # A server whose binary was installed since is started, though the file is unchanged.
        if p.has_changes or servers_installed_since(target.store, p.experiment):
            results.append(apply_local(target.store, p, volumes=claims, runner=target.runner))
            tell(progress, Applied(p, result=results[-1]))
    return results


def wait(target: Target, plans: list[Plan], *, until: Until = "ready", timeout: float = 600,
         progress: Optional[Callable[[list[ObjectState]], None]] = None) -> list[ObjectState]:
    """Until the plans' objects are ready: until="ready", jobs running or finished; until="finished",
    jobs Succeeded.  Servers (TensorBoard, serving) are waited for until they are available.

    Returns each object's ObjectState; raises WaitFailed (an ApplyError, with
    .states and .failed) when a job fails or time runs out.  progress hears
    the states after each look.
    """
    return _wait(target, plans, until, timeout, progress)


def _wait(target: Target, plans: list[Plan], until: Until, timeout: float,
          progress: Optional[Callable[[list[ObjectState]], None]]) -> list[ObjectState]:
    if isinstance(target, Cluster):
        return wait_ready(target, plans, until=until, timeout=timeout, progress=progress)
    from ..apply.local import wait_local

    return wait_local(target.store, plans, until=until, timeout=timeout, progress=progress)


def find(target: Target, sources: Sources, *, namespace: Optional[str] = None) -> list[Found]:
    """Each experiment the files, directories or names mean, with what of it is on the target."""
    return [lookup(target, name, ns) for name, ns in resolve_names(target, sources, namespace)]


def lookup(target: Target, name: str, namespace: str) -> Found:
    """The experiment of that name in that namespace: on a cluster one GET of its parent, one LIST per member kind."""
    if isinstance(target, Cluster):
        return find_experiment(target, name, namespace)
    store = target.store
    found = [(KINDS[key_of(e["object"])[0]], e["object"]) for e in store.objects(name)
             if key_of(e["object"])[0] in KINDS]
    return Found(name, target.namespace, store.parent(name), found)


def delete(target: Target, sources: Union[Sources, list[Found]], *, namespace: Optional[str] = None,
           wait: bool = False, timeout: float = 300, progress: Listener = None) -> list[Deleted]:
    """Delete experiments (files, directories, names, or what find returned): every member, then the parent.

    On this machine, every process of the experiment is stopped and its state
    forgotten.  Returns each experiment deleted (those with nothing there are
    left out).  progress hears each wait for an object to go (Waiting, Gone)
    and each experiment deleted (Deleted).
    """
    if _are_found(sources):
        items = sources
    elif isinstance(target, Cluster):
        items = find(target, cast(Sources, sources), namespace=namespace)
    else:  # the local store finds an experiment by its name alone
        items = [Found(name, target.namespace) for name, _ in resolve_names(target, cast(Sources, sources), None)]
    out = []
    for f in items:
        if isinstance(target, Cluster):
            done = f.exists
            keys = delete_experiment(target, f, wait=wait, timeout=timeout, progress=progress)
        else:
            from ..apply.local import delete_local

            keys = [key_of(obj) for _, obj in f.members]
            done = delete_local(target.store, f.name)
        if done:
            event = Deleted(f.name, f.namespace, keys)
            tell(progress, event)
            out.append(event)
    return out


def resolve_names(target: Target, sources: Sources, namespace: Optional[str]) -> list[tuple[str, str]]:
    """(name, namespace) for each file, directory or bare experiment name."""
    out = []
    for item in experiments_or_names(sources):
        if isinstance(item, str):
            ns = namespace_of(target, namespace)
            assert ns is not None  # not all namespaces: a name is looked up in one
            out.append((item, ns))
        else:
            out.append((item.experiment.name, namespace_for(item.experiment, target, namespace)))
    return out


def source_of(file: str) -> str:
    """The file as the parent records it: relative to the root of its repository (the
    nearest directory above it holding `.git`), so every checkout records the same
    path; the absolute path outside a repository."""
    path = os.path.abspath(file)
    directory = os.path.dirname(path)
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return os.path.relpath(path, directory).replace(os.sep, "/")
        up = os.path.dirname(directory)
        if up == directory:
            return path
        directory = up


def _are_plans(items: object) -> TypeGuard[list[Plan]]:
    return _are(items, Plan)


def _are_found(items: object) -> TypeGuard[list[Found]]:
    return _are(items, Found)


def _are(items: object, cls: type) -> bool:
    # An empty list is no plans (or nothing found): nothing to do, and nothing to read either.
    return isinstance(items, list) and all(isinstance(p, cls) for p in items)
