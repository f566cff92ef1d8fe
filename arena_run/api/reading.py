"""The verbs that check on work: status, logs, top, prune, data.

They only read (prune deletes what it finds through changes.delete), so
each is the same code on a cluster and on this machine: both targets are
Readers.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Optional, Union

from ..cluster import Cluster
from ..objects.reader import LogChunks
from ..spec.model import Experiment
from ..spec.sources import Sources, experiments_or_names
from ..status.data import Claim, read_claims
from ..status.duration import parse_duration
from ..status.experiments import ExperimentStatus, collect
from ..status.logs import LogsError, PodContainer, find_container, stream, wait_started
from ..status.prune import Candidate, read_prunable
from ..status.top import JobGPUs, NodeReport, read_jobs, read_nodes
from ..status.top_queue import QueueReport, read_queues
from .changes import delete, lookup, resolve_names
from .target import Target, namespace_for, namespace_of

__all__ = ["data", "log_container", "logs", "prunable", "prune", "status", "top_jobs", "top_nodes", "top_queues"]


def status(target: Target, sources: Optional[Sources] = None, *, namespace: Optional[str] = None,
           all_namespaces: bool = False) -> list[ExperimentStatus]:
    """Experiments of a namespace (or all, or this machine's), or those files, directories or names mean.

    Each file's experiment is read from its own namespace (--namespace, else the
    file's, else the context's), as apply placed it.
    """
    # Here, a file's jobs are compared as plan would apply them: in this target's runner.
    runner = None if isinstance(target, Cluster) else target.runner
    if sources is None:
        items = collect(target, namespace_of(target, namespace, all_namespaces), runner=runner)
    else:
        # namespace (None: all) -> (names, {name: Experiment from its file})
        groups: dict[Optional[str], tuple[set[str], dict[str, Experiment]]] = {}
        for item in experiments_or_names(sources):
            if isinstance(item, str):
                groups.setdefault(namespace_of(target, namespace, all_namespaces), (set(), {}))[0].add(item)
            else:
                exp = item.experiment
                names, files = groups.setdefault(namespace_for(exp, target, namespace), (set(), {}))
                names.add(exp.name)
                files[exp.name] = exp
        items = []
        for ns, (names, files) in groups.items():
            items += collect(target, ns, names=names, files=files, runner=runner)
        items.sort(key=lambda st: (st.namespace, st.name))
    if not isinstance(target, Cluster):
        # A local server's address is the port its process took, not a Service's.
        for st in items:
            for endpoint in (st.tensorboard, st.serving):
                found = target.endpoint(endpoint.name) if endpoint is not None else None
                if endpoint is not None and found:
                    endpoint.url, endpoint.available, endpoint.hint = found
    return items


def log_container(target: Target, experiment: str, *, namespace: Optional[str] = None, component: str = "job",
                  role: Optional[str] = None, index: Optional[int] = None, point: Optional[str] = None,
                  wait: bool = False, timeout: Optional[float] = None,
                  on_wait: Optional[Callable[[PodContainer], None]] = None) -> PodContainer:
    """Which pod and container logs reads (Arena's rule: the chief, else worker 0).

    experiment: its name or its file.  With wait, until that container has
    started (on_wait hears each look that found it not started yet).
    """
    name, ns = _one_experiment(target, experiment, namespace)
    found = find_container(target, name, ns, component=component, role=role, index=index, point=point)
    if not found.started and wait:
        found = wait_started(target, name, ns, on_wait=on_wait, timeout=timeout, component=component, role=role,
                             index=index, point=point)
    return found


def logs(target: Target, experiment: Union[str, PodContainer], *, namespace: Optional[str] = None,
         component: str = "job", role: Optional[str] = None, index: Optional[int] = None,
         point: Optional[str] = None, follow: bool = False, tail: Optional[int] = None,
         since: Union[str, dt.timedelta, None] = None, timestamps: bool = False, wait: bool = False,
         on_wait: Optional[Callable[[PodContainer], None]] = None) -> LogChunks:
    """A job's log as byte chunks (of the experiment's container, or of one log_container found); with follow,
    until the container ends.

    Raises LogsError when the pod has not started (unless wait).
    """
    since_seconds = int(_duration(since).total_seconds()) if since is not None else None
    found = experiment if isinstance(experiment, PodContainer) else log_container(
        target, experiment, namespace=namespace, component=component, role=role, index=index, point=point,
        wait=wait, on_wait=on_wait)
    if not found.started:
        raise LogsError(f"{found.what}: {found.reason}")
    return stream(target, found, follow=follow, tail=tail, since_seconds=since_seconds, timestamps=timestamps)


def _one_experiment(target: Target, experiment: str, namespace: Optional[str]) -> tuple[str, str]:
    found = resolve_names(target, [experiment], namespace)
    if len(found) != 1:
        raise LogsError(f"{experiment} holds {len(found)} experiments: name one of them "
                        f"({', '.join(n for n, _ in found)})")
    return found[0]


def top_nodes(target: Target) -> NodeReport:
    """Each node's GPUs (total, allocated, unhealthy), as `arena top node` counts them (this machine: one node)."""
    return read_nodes(target)


def top_jobs(target: Target, *, namespace: Optional[str] = None, all_namespaces: bool = False) -> list[JobGPUs]:
    """Per job of every experiment: status, GPUs requested and allocated, nodes, age."""
    return read_jobs(target, namespace_of(target, namespace, all_namespaces))


def top_queues(target: Target, *, namespace: Optional[str] = None, all_namespaces: bool = False) -> QueueReport:
    """Kueue's LocalQueues of the namespace (pending, admitted, their usage) and their ClusterQueues' quota, usage
    and borrowing per flavor and resource, GPUs first; notes say what this user may not read."""
    return read_queues(target, namespace_of(target, namespace, all_namespaces))


def prunable(target: Target, since: Union[str, dt.timedelta], *, namespace: Optional[str] = None,
             all_namespaces: bool = False) -> list[Candidate]:
    """Experiments whose jobs all finished longer ago than since ("7d"), nothing running or pending."""
    return read_prunable(target, namespace_of(target, namespace, all_namespaces), _duration(since))


def prune(target: Target, since: Union[str, dt.timedelta, list[Candidate]], *, namespace: Optional[str] = None,
          all_namespaces: bool = False) -> list[Candidate]:
    """Delete what prunable finds (or the candidates given); returns those deleted."""
    candidates = since if isinstance(since, list) else prunable(
        target, since, namespace=namespace, all_namespaces=all_namespaces)
    done = []
    for c in candidates:
        found = lookup(target, c.name, c.namespace)
        if found.exists:
            delete(target, [found])
            done.append(c)
    return done


def data(target: Target, *, namespace: Optional[str] = None, all_namespaces: bool = False) -> list[Claim]:
    """The namespace's PVCs: capacity, access modes, status, and the experiments that mount them."""
    return read_claims(target, namespace_of(target, namespace, all_namespaces))


def _duration(value: Union[str, dt.timedelta]) -> dt.timedelta:
    return value if isinstance(value, dt.timedelta) else parse_duration(value)
