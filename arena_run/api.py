"""arena-run from Python: the operations of the CLI, returning the same objects it prints.

    import arena_run.api as ar

    cluster = ar.connect()                      # kubeconfig as kubectl finds it
    plans = ar.plan("examples/tf-git", cluster)
    for p in plans:
        print(p.experiment, p.counts())
    ar.apply(plans, cluster)
    for s in ar.status(cluster):
        print(s.name, s.phase, s.sync)
    ar.delete("tf-git", cluster)

Checking on work, as the CLI's logs, top, prune and data do:

    print(b"".join(ar.logs("tf-git", cluster, tail=20)).decode())
    print(ar.top_nodes(cluster).summary)        # GPUs allocated/total
    for job in ar.top_jobs(cluster):
        print(job.name, job.status, job.gpus_allocated, job.gpus_requested)
    for c in ar.prunable("7d", cluster):        # ar.prune("7d", cluster) deletes them
        print(c.name, c.ago)
    for claim in ar.data(cluster):
        print(claim.name, claim.capacity, claim.experiments)

Every file is validated before anything is read from or written to the
cluster; errors are raised as SpecError (bad files), ClusterError (the
cluster said no), or ApplyError (the plan was refused or failed).
"""

from __future__ import annotations

import os
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, TypeGuard, Union, cast

from . import __version__
from .apply.events import Applied, Deleted, Gone, Listener, Waiting, tell
from .apply import (
    ApplyError, Interrupted, Locked, Result, WaitTimeout, apply_plan, delete_experiment, dry_run, find_experiment,
    recheck, wait_ready,
)
from .cluster import KINDS, Attempt, Cluster, ClusterError, connect
from .cluster.applyset import group_kinds_of, parent_name
from .cluster.live import Key, key_of, read_many
from .objects.reader import LogChunks, Reader
from .plan import Action, Plan, make_plan, members
from .plan.diff import MISSING
from .plan.display import shown_pair
from .plan.unified import ObjectDiff, unified
from .spec.errors import SpecError
from .spec.load import Loaded, load_all, load_text, problem_at
from .spec.model import Experiment
from .cluster.kinds import Kind
from .status.data import Claim, read_claims
from .status.duration import parse_duration
from .status.experiments import ExperimentStatus, collect
from .status.logs import LogsError, Target as LogTarget, find_target, stream, wait_started
from .status.prune import Candidate, read_prunable
from .status.top import JobGPUs, NodeReport, read_jobs, read_nodes

if TYPE_CHECKING:  # imported where used: the local target loads only for --local
    from .apply.local import States as LocalStates
    from .local.view import LocalView

EXPERIMENTS_AT_ONCE = 4  # each also writes its own objects concurrently

# A file or directory (str or path), an Experiment, a loaded file, or several of them.
One = Union[str, "os.PathLike[str]", Experiment, Loaded]
Target = Union[One, Iterable[One]]

__all__ = [
    "Attempt", "Key", "LogChunks", "Reader",
    "Applied", "Deleted", "Gone", "Waiting",
    "ApplyError", "Interrupted", "Locked", "Candidate", "Claim", "Cluster", "ClusterError", "Experiment", "ExperimentStatus", "Found",
    "JobGPUs", "LogTarget", "LogsError", "MISSING", "NodeReport", "ObjectDiff", "Plan", "Result", "SpecError", "WaitTimeout",
    "apply", "connect", "data", "delete", "diff", "find", "load", "load_text", "log_target", "logs", "lookup", "parse_duration",
    "plan", "prunable", "shown_pair",
    "prune", "status", "top_jobs", "top_nodes", "wait",
    "LOCAL_NAMESPACE", "apply_local", "delete_local", "local_view", "plan_local", "status_local", "wait_local",
]


def load(target: Target) -> list[Loaded]:
    """Files and directories (every arena.toml/arena.yaml below) to validated experiments."""
    items = _items(target)
    paths, ready = [], []
    for item in items:
        if isinstance(item, Loaded):
            ready.append(item)
        elif isinstance(item, Experiment):
            ready.append(Loaded("<python>", item))
        else:
            paths.append(str(item))
    return ready + (load_all(paths) if paths else [])


def namespace_for(exp: Experiment, cluster: Reader, namespace: Optional[str] = None) -> str:
    """--namespace, else the file's, else the kube context's, else default."""
    return namespace or exp.namespace or cluster.namespace or "default"


def plan(target: Target, cluster: Optional[Cluster] = None, *, namespace: Optional[str] = None,
         adopt: bool = False, rerun: bool = False, dry: bool = True) -> list[Plan]:
    """What apply would do for each experiment; reads the cluster, writes nothing.

    Each changed object goes through a server-side dry run (dry=False skips
    it): what the API server would refuse is a problem of the plan.
    """
    loaded = load(target)
    cluster = cluster or connect()
    wanted = []
    for item in loaded:
        ns = namespace_for(item.experiment, cluster, namespace)
        wanted.append((item, ns, members(item.experiment, ns)))
    _refuse_collisions(wanted, namespace)
    lives = read_many(cluster, [(item.experiment.name, ns, desired) for item, ns, desired in wanted])
    plans = []
    for item, ns, desired in wanted:
        source = source_of(item.file) if item.file != "<python>" else ""
        live = lives[(ns, item.experiment.name)]
        p = make_plan(item.experiment, ns, live, source=source, adopt=adopt, rerun=rerun, desired=desired)
        unknown = sorted(gk for gk in group_kinds_of(live.parent) if gk not in KINDS)
        if unknown:
            # Pruning cannot see them, and the new parent would forget them.
            p.problems.append(
                f"ConfigMap {ns}/{parent_name(p.experiment)} records kinds this arena-run ({__version__}) does not "
                f"know: {', '.join(unknown)}; applying would orphan their objects: upgrade arena-run "
                f"(`arena-run delete` finds and deletes them)")
        plans.append(p)
    if dry:
        dry_run(cluster, plans)
    return plans


def diff(plans: list[Plan], cluster: Optional[Cluster] = None) -> list[ObjectDiff]:
    """Each object the plans change, as a unified YAML diff of live against merged (as kubectl diff).

    The merged side is the server's answer to a dry-run apply: defaults and
    all, exactly what apply would leave.  One request per changed object;
    nothing is written.
    """
    from concurrent.futures import ThreadPoolExecutor

    cluster = cluster or connect()
    actions = [a for p in plans for a in p.changes if a.op in ("create", "update", "replace", "delete")]

    def one(action: Action) -> ObjectDiff:
        merged = None if action.desired is None else cluster.apply(action.desired, dry_run=True)  # None: delete
        return unified(action.key, action.op, action.live, merged)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, actions))


def _refuse_collisions(wanted: list[tuple[Loaded, str, list[dict[str, Any]]]], namespace: Optional[str]) -> None:
    """Two experiments that would own one object (the same name in one namespace,
    once --namespace or the context has placed them) are refused before any
    write, one located line per file: their applies would overwrite each other."""
    owners: dict[Key, list[int]] = {}
    for index, (_, _, desired) in enumerate(wanted):
        for o in desired:
            owners.setdefault(key_of(o), []).append(index)
    clashing: dict[int, set[int]] = {}
    for indexes in owners.values():
        for i in indexes:
            clashing.setdefault(i, set()).update(j for j in indexes if j != i)
    problems = []
    how = f" (--namespace {namespace})" if namespace else ""
    for i in sorted(i for i, others in clashing.items() if others):
        item, ns, _ = wanted[i]
        others = ", ".join(f"{wanted[j][0].experiment.name!r} of {wanted[j][0].file}" for j in sorted(clashing[i]))
        problems.append(problem_at(
            item.file, ("name",),
            f"experiment {item.experiment.name!r} would write the same objects in namespace {ns}{how} "
            f"as {others}: rename one of them"))
    if problems:
        raise SpecError(problems)


def apply(target: Union[Target, list[Plan]], cluster: Optional[Cluster] = None, *,
          namespace: Optional[str] = None, adopt: bool = False, rerun: bool = False,
          wait: bool = False, timeout: float = 600, progress: Listener = None) -> list[Result]:
    """Make the cluster match the files; a second call changes nothing.

    Refuses (ApplyError) before writing anything if any plan has a problem.
    progress hears, as they happen: each object's Outcome, each wait for a
    replaced job to go (Waiting, Gone), and each experiment's end (Applied).
    """
    cluster = cluster or connect()
    plans: list[Plan] = target if _are_plans(target) else plan(
        cast(Target, target), cluster, namespace=namespace, adopt=adopt, rerun=rerun)  # no plans: files, experiments
    problems = [p for pl in plans for p in pl.problems]
    if problems:
        raise ApplyError(problems)
    results = apply_plans(cluster, plans, progress=progress)
    if wait:
        wait_ready(cluster, plans, timeout=timeout)
    return results


def wait(plans: list[Plan], cluster: Optional[Cluster] = None, *, timeout: float = 600,
         progress: Optional[Callable[[dict[Key, tuple[bool, str]]], None]] = None) -> dict[Key, tuple[bool, str]]:
    """Until every object of the plans is ready (jobs running or finished, serving available).

    Returns {key: (ready, what)}; raises WaitTimeout (its args[0]: states, failed jobs)
    when time runs out or a job fails.  progress hears the states after each look.
    """
    return wait_ready(cluster or connect(), plans, timeout=timeout, progress=progress)


def apply_plans(cluster: Cluster, plans: list[Plan], progress: Listener = None) -> list[Result]:
    """Apply the plans that change something, experiments side by side.

    Each experiment keeps its own ApplySet order and lock; a failure in one
    does not stop the others, and the failures are raised together afterwards.
    Ctrl-C stops every experiment before its next write and raises Interrupted,
    which says what was written.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    todo = [p for p in plans if p.has_changes]
    recheck(cluster, todo)  # after any prompt: names someone else took meanwhile stop it all, unwritten
    stop = threading.Event()

    def one(p: Plan) -> Union[Result, ApplyError]:
        try:
            result: Union[Result, ApplyError] = apply_plan(cluster, p, progress=progress, stop=stop, rechecked=True)
        except ApplyError as exc:
            result = exc
        except ClusterError as exc:  # the parent could not be written: nothing of it was applied
            result = ApplyError([f"{p.experiment}: {exc}"])
        if not isinstance(result, Interrupted):
            tell(progress, Applied(p, error=result) if isinstance(result, ApplyError) else Applied(p, result=result))
        return result

    with ThreadPoolExecutor(max_workers=EXPERIMENTS_AT_ONCE) as pool:
        futures = [pool.submit(one, p) for p in todo]
        try:
            for f in futures:
                f.result()
        except KeyboardInterrupt:
            # No write is sent from here on: none starts, and a retry waiting
            # to send one again gives up (the writes in flight finish).
            stop.set()
            cluster.cancel()
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            finally:
                cluster.resume()  # the connection stays usable (a notebook goes on)
    if stop.is_set():
        partial = []
        for f, p in zip(futures, todo):
            r = None if f.cancelled() else f.result()
            partial.append(r if isinstance(r, Result) else
                           r.results[0] if isinstance(r, Interrupted) else Result(p))
        raise Interrupted(partial)
    results = [f.result() for f in futures]
    failed = [r for r in results if isinstance(r, ApplyError)]
    if failed:
        raise ApplyError([line for exc in failed for line in exc.problems])
    return [r for r in results if isinstance(r, Result)]


def status(cluster: Optional[Reader] = None, target: Optional[Target] = None, *,
           namespace: Optional[str] = None, all_namespaces: bool = False) -> list[ExperimentStatus]:
    """Experiments of a namespace (or all), or those a file/directory/name names.

    Each file's experiment is read from its own namespace (--namespace, else the
    file's, else the context's), as apply placed it.
    """
    cluster = cluster or connect()
    if target is None:
        return collect(cluster, None if all_namespaces else (namespace or cluster.namespace))
    # namespace (None: all) -> (names, {name: Experiment from its file})
    groups: dict[Optional[str], tuple[set[str], dict[str, Experiment]]] = {}
    for item in _items(target):
        if isinstance(item, Experiment) or os.path.exists(str(item)):
            for loaded in load(item):
                exp = loaded.experiment
                names, files = groups.setdefault(namespace_for(exp, cluster, namespace), (set(), {}))
                names.add(exp.name)
                files[exp.name] = exp
        else:
            ns = None if all_namespaces else (namespace or cluster.namespace)
            groups.setdefault(ns, (set(), {}))[0].add(str(item))
    out = []
    for ns, (names, files) in groups.items():
        out += collect(cluster, ns, names=names, files=files)
    return sorted(out, key=lambda st: (st.namespace, st.name))


@dataclass
class Found:
    """An experiment on the cluster: its ApplySet parent and members (parent None: nothing there)."""

    name: str
    namespace: str
    parent: Optional[dict[str, Any]] = None
    members: list[tuple[Kind, dict[str, Any]]] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.parent is not None

    def objects(self) -> list[tuple[str, str]]:
        """(kind, name) of what deleting it removes, the parent last."""
        out = [(kind.kind, obj["metadata"]["name"]) for kind, obj in self.members]
        if self.parent is not None:
            out.append(("ConfigMap", self.parent["metadata"]["name"]))
        return out


def find(target: Target, cluster: Optional[Cluster] = None, *, namespace: Optional[str] = None) -> list[Found]:
    """Each experiment a file, directory or name means, with what of it is on the cluster."""
    cluster = cluster or connect()
    return [lookup(name, ns, cluster) for name, ns in resolve_names(target, cluster, namespace)]


def lookup(name: str, namespace: str, cluster: Optional[Cluster] = None) -> Found:
    """The experiment of that name in that namespace: one GET of its parent, one LIST per member kind."""
    found = find_experiment(cluster or connect(), name, namespace)
    return Found(name, namespace, found[0], found[1]) if found else Found(name, namespace)


def delete(target: Union[Target, list[Found]], cluster: Optional[Cluster] = None, *,
           namespace: Optional[str] = None, wait: bool = False, timeout: float = 300,
           progress: Listener = None) -> list[Key]:
    """Delete experiments (files, directories, names, or what find returned): every member, then the parent.

    Returns the (group-kind, namespace, name) of every member deleted.
    progress hears each wait for an object to go (Waiting, Gone) and each experiment deleted (Deleted).
    """
    cluster = cluster or connect()
    items: list[Found] = target if _are_found(target) else find(cast(Target, target), cluster, namespace=namespace)  # no Found
    deleted: list[Key] = []
    for f in items:
        if f.parent is not None:
            keys = delete_experiment(cluster, (f.parent, f.members), wait=wait, timeout=timeout, progress=progress)
            tell(progress, Deleted(f.name, f.namespace, keys))
            deleted += keys
    return deleted


def resolve_names(target: Target, cluster: Reader, namespace: Optional[str]) -> list[tuple[str, str]]:
    """(name, namespace) for each file, directory or bare experiment name."""
    items = _items(target)
    out = []
    for item in items:
        if isinstance(item, Experiment) or os.path.exists(str(item)):
            for loaded in load(item):
                out.append((loaded.experiment.name, namespace_for(loaded.experiment, cluster, namespace)))
        else:
            out.append((str(item), namespace or cluster.namespace))
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


def _items(target: Target) -> list[One]:
    return [target] if isinstance(target, (str, os.PathLike, Experiment, Loaded)) else list(target)


def _are_plans(target: object) -> TypeGuard[list[Plan]]:
    return _are(target, Plan)


def _are(target: object, cls: type) -> bool:
    return isinstance(target, list) and bool(target) and all(isinstance(p, cls) for p in target)


def _are_found(target: object) -> TypeGuard[list[Found]]:
    return _are(target, Found)


def _namespace(cluster: Reader, namespace: Optional[str], all_namespaces: bool) -> Optional[str]:
    return None if all_namespaces else (namespace or cluster.namespace)


def _duration(value: Union[str, dt.timedelta]) -> dt.timedelta:
    return value if isinstance(value, dt.timedelta) else parse_duration(value)


# --- checking on work: logs, top, prune, data --------------------------------------


def log_target(target: str, cluster: Optional[Reader] = None, *, namespace: Optional[str] = None,
               component: str = "job", role: Optional[str] = None, index: Optional[int] = None,
               point: Optional[str] = None, wait: bool = False, timeout: Optional[float] = None,
               on_wait: Optional[Callable[[LogTarget], None]] = None) -> LogTarget:
    """Which pod and container logs reads (Arena's rule: the chief, else worker 0).

    target: an experiment name or its file.  With wait, until that container
    has started (on_wait hears each look that found it not started yet).
    """
    cluster = cluster or connect()
    name, ns = _one_experiment(target, cluster, namespace)
    found = find_target(cluster, name, ns, component=component, role=role, index=index, point=point)
    if not found.started and wait:
        found = wait_started(cluster, name, ns, on_wait=on_wait, timeout=timeout, component=component, role=role,
                             index=index, point=point)
    return found


def logs(target: Union[str, LogTarget], cluster: Optional[Reader] = None, *, namespace: Optional[str] = None,
         component: str = "job", role: Optional[str] = None, index: Optional[int] = None,
         point: Optional[str] = None, follow: bool = False, tail: Optional[int] = None,
         since: Union[str, dt.timedelta, None] = None, timestamps: bool = False, wait: bool = False,
         on_wait: Optional[Callable[[LogTarget], None]] = None) -> LogChunks:
    """A job's log as byte chunks; with follow, until the container ends.

    Raises LogsError when the pod has not started (unless wait).
    """
    cluster = cluster or connect()
    since_seconds = int(_duration(since).total_seconds()) if since is not None else None
    found = target if isinstance(target, LogTarget) else log_target(
        target, cluster, namespace=namespace, component=component, role=role, index=index, point=point,
        wait=wait, on_wait=on_wait)
    if not found.started:
        raise LogsError(f"{found.what}: {found.reason}")
    return stream(cluster, found, follow=follow, tail=tail, since_seconds=since_seconds, timestamps=timestamps)


def _one_experiment(target: str, cluster: Reader, namespace: Optional[str]) -> tuple[str, str]:
    found = resolve_names([target], cluster, namespace)
    if len(found) != 1:
        raise LogsError(f"{target} holds {len(found)} experiments: name one of them "
                        f"({', '.join(n for n, _ in found)})")
    return found[0]


def top_nodes(cluster: Optional[Reader] = None) -> NodeReport:
    """Each node's GPUs (total, allocated, unhealthy), as `arena top node` counts them."""
    return read_nodes(cluster or connect())


def top_jobs(cluster: Optional[Reader] = None, *, namespace: Optional[str] = None,
             all_namespaces: bool = False) -> list[JobGPUs]:
    """Per job of every experiment: status, GPUs requested and allocated, nodes, age."""
    cluster = cluster or connect()
    return read_jobs(cluster, _namespace(cluster, namespace, all_namespaces))


def prunable(since: Union[str, dt.timedelta], cluster: Optional[Reader] = None, *,
             namespace: Optional[str] = None, all_namespaces: bool = False) -> list[Candidate]:
    """Experiments whose jobs all finished longer ago than since ("7d"), nothing running or pending."""
    cluster = cluster or connect()
    return read_prunable(cluster, _namespace(cluster, namespace, all_namespaces), _duration(since))


def prune(since: Union[str, dt.timedelta, list[Candidate]], cluster: Optional[Cluster] = None, *,
          namespace: Optional[str] = None, all_namespaces: bool = False) -> list[Candidate]:
    """Delete what prunable finds (or the candidates given); returns those deleted."""
    cluster = cluster or connect()
    candidates = since if isinstance(since, list) else prunable(
        since, cluster, namespace=namespace, all_namespaces=all_namespaces)
    done = []
    for c in candidates:
        found = lookup(c.name, c.namespace, cluster)
        if found.exists:
            delete([found], cluster)
            done.append(c)
    return done


def data(cluster: Optional[Reader] = None, *, namespace: Optional[str] = None,
         all_namespaces: bool = False) -> list[Claim]:
    """The namespace's PVCs: capacity, access modes, status, and the experiments that mount them."""
    cluster = cluster or connect()
    return read_claims(cluster, _namespace(cluster, namespace, all_namespaces))


# --- the local target (`--local`) ---------------------------------------------------------
#
# The same files, the same planner: the local state is read as live objects
# (arena_run.local.view), so plan, status, logs and top are the cluster's
# code; only carrying out a plan differs (arena_run.apply.local).

LOCAL_NAMESPACE = "local"


def local_view(state_dir: Optional[str] = None) -> LocalView:
    """This machine's experiments as a cluster-like view: a Reader (get, list, logs), which
    status, log_target, logs, top_nodes and top_jobs take in place of a Cluster."""
    from .local.state import Store
    from .local.view import LocalView

    return LocalView(Store(state_dir))


def plan_local(target: Target, *, rerun: bool = False, state_dir: Optional[str] = None) -> list[Plan]:
    """What apply --local would do; reads $XDG_STATE_HOME/arena-run, starts nothing."""
    loaded = load(target)
    view = local_view(state_dir)
    ns = LOCAL_NAMESPACE
    wanted = [(item, members(item.experiment, ns)) for item in loaded]
    lives = read_many(view, [(item.experiment.name, ns, desired) for item, desired in wanted])
    plans = []
    for item, desired in wanted:
        source = os.path.abspath(item.file) if item.file != "<python>" else ""
        p = make_plan(item.experiment, ns, lives[(ns, item.experiment.name)], source=source, rerun=rerun,
                      desired=desired)
        p.problems += local_problems(p)
        plans.append(p)
    return plans


def local_problems(p: Plan) -> list[str]:
    """What this machine cannot run: KServe, more GPUs than it has, no namespaces for replicas."""
    from .local import gpus as local_gpus
    from .local.runner import check_namespaces
    from .local.state import LocalError
    from .local.distributed import pod_gpus, replica_specs

    out = []
    starting = [a for a in p.actions if a.op in ("create", "replace", "update") and a.desired is not None]
    inventory = None
    for a in starting:
        desired = a.desired
        assert desired is not None  # starting holds only actions with something to start
        if desired["kind"] not in ("TFJob", "PyTorchJob", "Deployment", "Service", "InferenceService"):
            out.append(f"{desired['kind']} {a.name}: --local runs TFJob and PyTorchJob jobs (and TensorBoard, "
                       f"tf-serving); {desired['kind']} is cluster-only for now")
        if desired["kind"] == "InferenceService":
            out.append(f"{p.experiment}: serve.type = \"kserve\" is cluster-only; locally, serve with "
                       "type = \"tf-serving\"")
        if desired["kind"] in ("TFJob", "PyTorchJob") and a.op != "update":
            need = sum(int(s.get("replicas", 1)) * pod_gpus(s["template"]["spec"])
                       for s in replica_specs(desired).values())
            if need:
                inventory = inventory or local_gpus.detect()
                if need > len(inventory.gpus):
                    out.append(f"{desired['kind']} {a.name} needs {need} GPU{'s' if need != 1 else ''} at once "
                               f"and this machine has {len(inventory.gpus)}"
                               + (f" ({inventory.note})" if inventory.note else "")
                               + "; it would never start (a GPU job never runs on CPU)")
    if any((a.desired or {}).get("kind") in ("TFJob", "PyTorchJob", "Deployment") for a in starting):
        try:
            check_namespaces()
        except LocalError as exc:
            out.append(str(exc))
    return out


def apply_local(target: Union[Target, list[Plan]], *, rerun: bool = False, wait: bool = False,
                timeout: float = 600, volumes: Optional[dict[str, Any]] = None, state_dir: Optional[str] = None) -> list[Result]:
    """Run the files' experiments on this machine; a second call starts nothing.

    volumes maps a PVC's claim name to a directory (default
    $XDG_DATA_HOME/arena-run/volumes/<claim>).  Returns once the processes
    are started; wait=True waits for the jobs to end (ApplyError if one failed).
    """
    from .apply.local import apply_local as run_plan, wait_local
    from .local.state import Store

    plans: list[Plan] = target if _are_plans(target) else plan_local(cast(Target, target), rerun=rerun, state_dir=state_dir)
    problems = [x for pl in plans for x in pl.problems]
    if problems:
        raise ApplyError(problems)
    store = Store(state_dir)
    volumes = {k: os.path.abspath(v) for k, v in (volumes or {}).items()}
    results = [run_plan(store, p, volumes=volumes) for p in plans if p.has_changes]
    if wait:
        wait_local(store, plans, timeout=timeout)
    return results


def status_local(target: Optional[Target] = None, *, state_dir: Optional[str] = None) -> list[ExperimentStatus]:
    """Local experiments (all, or those a file/directory/name names), as status shows them."""
    view = local_view(state_dir)
    names, files = None, {}
    if target is not None:
        names = set()
        for item in _items(target):
            if isinstance(item, Experiment) or os.path.exists(str(item)):
                for loaded in load(item):
                    files[loaded.experiment.name] = loaded.experiment
                    names.add(loaded.experiment.name)
            else:
                names.add(str(item))
    items = collect(view, LOCAL_NAMESPACE, names=names, files=files)
    for st in items:
        for attr in ("tensorboard", "serving"):
            ep = getattr(st, attr)
            found = view.endpoint(ep.name) if ep is not None else None
            if found:
                ep.url, ep.available, ep.hint = found
    return items


def delete_local(target: Target, *, state_dir: Optional[str] = None) -> list[str]:
    """Stop and forget local experiments (files, directories or names); the names deleted."""
    from .apply.local import delete_local as remove
    from .local.state import Store

    store = Store(state_dir)
    items = _items(target)
    names = []
    for item in items:
        if isinstance(item, Experiment) or os.path.exists(str(item)):
            names += [loaded.experiment.name for loaded in load(item)]
        else:
            names.append(str(item))
    return [n for n in names if remove(store, n)]


def wait_local(plans: list[Plan], *, timeout: float = 600, state_dir: Optional[str] = None,
               progress: Optional[Callable[[LocalStates], None]] = None) -> LocalStates:
    """Until every job of the plans has finished (and every server runs); ApplyError if one failed."""
    from .apply.local import wait_local as wait_for
    from .local.state import Store

    return wait_for(Store(state_dir), plans, timeout=timeout, progress=progress)
