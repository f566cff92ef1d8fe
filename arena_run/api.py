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

Every file is validated before anything is read from or written to the
cluster; errors are raised as SpecError (bad files), ClusterError (the
cluster said no), or ApplyError (the plan was refused or failed).
"""

from __future__ import annotations

import os
from typing import Iterable, Optional, Union

from .apply import ApplyError, Result, apply_plan, delete_experiment, find_experiment, wait_ready
from .cluster import Cluster, ClusterError, connect
from .cluster.live import read_many
from .plan import Plan, make_plan, members
from .spec.errors import SpecError
from .spec.load import Loaded, load_all, load_text
from .spec.model import Experiment
from .status.experiments import ExperimentStatus, collect

EXPERIMENTS_AT_ONCE = 4  # each also writes its own objects concurrently

Target = Union[str, Experiment, Iterable[Union[str, Experiment]]]

__all__ = [
    "ApplyError", "Cluster", "ClusterError", "Experiment", "ExperimentStatus", "Plan", "Result", "SpecError",
    "apply", "connect", "delete", "load", "load_text", "plan", "status",
]


def load(target: Target) -> list[Loaded]:
    """Files and directories (every arena.toml/arena.yaml below) to validated experiments."""
    if isinstance(target, (str, os.PathLike, Experiment, Loaded)):
        target = [target]
    paths, ready = [], []
    for item in target:  # type: ignore[union-attr]
        if isinstance(item, Loaded):
            ready.append(item)
        elif isinstance(item, Experiment):
            ready.append(Loaded("<python>", item))
        else:
            paths.append(str(item))
    return ready + (load_all(paths) if paths else [])


def namespace_for(exp: Experiment, cluster: Cluster, namespace: Optional[str] = None) -> str:
    """--namespace, else the file's, else the kube context's, else default."""
    return namespace or exp.namespace or cluster.namespace or "default"


def plan(target: Target, cluster: Optional[Cluster] = None, *, namespace: Optional[str] = None,
         adopt: bool = False, rerun: bool = False) -> list[Plan]:
    """What apply would do for each experiment; reads the cluster, writes nothing."""
    loaded = load(target)
    cluster = cluster or connect()
    wanted = []
    for item in loaded:
        ns = namespace_for(item.experiment, cluster, namespace)
        wanted.append((item, ns, members(item.experiment, ns)))
    lives = read_many(cluster, [(item.experiment.name, ns, desired) for item, ns, desired in wanted])
    plans = []
    for item, ns, desired in wanted:
        source = os.path.abspath(item.file) if item.file != "<python>" else ""
        live = lives[(ns, item.experiment.name)]
        plans.append(make_plan(item.experiment, ns, live, source=source, adopt=adopt, rerun=rerun, desired=desired))
    return plans


def apply(target: Union[Target, list[Plan]], cluster: Optional[Cluster] = None, *,
          namespace: Optional[str] = None, adopt: bool = False, rerun: bool = False,
          wait: bool = False, timeout: float = 600) -> list[Result]:
    """Make the cluster match the files; a second call changes nothing.

    Refuses (ApplyError) before writing anything if any plan has a problem.
    """
    cluster = cluster or connect()
    plans = target if _are_plans(target) else plan(target, cluster, namespace=namespace, adopt=adopt, rerun=rerun)
    problems = [p for pl in plans for p in pl.problems]
    if problems:
        raise ApplyError(problems)
    results = apply_plans(cluster, plans)
    if wait:
        wait_ready(cluster, plans, timeout=timeout)
    return results


def apply_plans(cluster: Cluster, plans: list[Plan], progress=None) -> list[Result]:
    """Apply the plans that change something, experiments side by side.

    Each experiment keeps its own ApplySet order; a failure in one does not
    stop the others, and the failures are raised together afterwards.
    """
    from concurrent.futures import ThreadPoolExecutor

    todo = [p for p in plans if p.has_changes]

    def one(p: Plan):
        try:
            result: Union[Result, ApplyError] = apply_plan(cluster, p)
        except ApplyError as exc:
            result = exc
        except ClusterError as exc:  # the parent could not be written: nothing of it was applied
            result = ApplyError([f"{p.experiment}: {exc}"])
        if progress:
            progress(p, result)
        return result

    with ThreadPoolExecutor(max_workers=EXPERIMENTS_AT_ONCE) as pool:
        results = list(pool.map(one, todo))
    failed = [r for r in results if isinstance(r, ApplyError)]
    if failed:
        raise ApplyError([line for exc in failed for line in exc.problems])
    return results


def status(cluster: Optional[Cluster] = None, target: Optional[Target] = None, *,
           namespace: Optional[str] = None, all_namespaces: bool = False) -> list[ExperimentStatus]:
    """Experiments of a namespace (or all), or those a file/directory/name names."""
    cluster = cluster or connect()
    names, files = None, {}
    if target is not None:
        names = set()
        for item in [target] if isinstance(target, (str, Experiment)) else list(target):
            if isinstance(item, Experiment) or os.path.exists(str(item)):
                for loaded in load(item):
                    files[loaded.experiment.name] = loaded.experiment
                    names.add(loaded.experiment.name)
            else:
                names.add(str(item))
    ns = None if all_namespaces else (namespace or _file_namespace(files) or cluster.namespace)
    return collect(cluster, ns, names=names, files=files)


def delete(target: Target, cluster: Optional[Cluster] = None, *, namespace: Optional[str] = None,
           wait: bool = False, timeout: float = 300) -> list:
    """Delete experiments (files, directories or names): every member, then the parent."""
    cluster = cluster or connect()
    deleted = []
    for name, ns in resolve_names(target, cluster, namespace):
        found = find_experiment(cluster, name, ns)
        if found:
            deleted += delete_experiment(cluster, found, wait=wait, timeout=timeout)
    return deleted


def resolve_names(target: Target, cluster: Cluster, namespace: Optional[str]) -> list[tuple]:
    """(name, namespace) for each file, directory or bare experiment name."""
    items = [target] if isinstance(target, (str, Experiment)) else list(target)
    out = []
    for item in items:
        if isinstance(item, Experiment) or os.path.exists(str(item)):
            for loaded in load(item):
                out.append((loaded.experiment.name, namespace_for(loaded.experiment, cluster, namespace)))
        else:
            out.append((str(item), namespace or cluster.namespace))
    return out


def _file_namespace(files: dict) -> Optional[str]:
    spaces = {e.namespace for e in files.values() if e.namespace}
    return spaces.pop() if len(spaces) == 1 else None


def _are_plans(target) -> bool:
    return isinstance(target, list) and bool(target) and all(isinstance(p, Plan) for p in target)
