"""Which pod and container `arena-run logs` reads: pure, from the jobs and pods of an experiment.

Arena's rule: a job's logs are its chief's (a PyTorchJob's master, an
MPIJob's launcher), or worker 0's when there is no chief (a TrainJob's node 0); `role`/`index` pick another replica,
`point` one job of a sweep (its job name or its sweep-point label),
`component` the TensorBoard or serving pod instead.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..cluster import ClusterError
from ..objects.jobs import default_role, pod_index, pod_job, pod_role, replica_specs
from ..objects.kinds import JOB_GROUP_KINDS, KINDS
from ..objects.labels import COMPONENT, EXPERIMENT, SWEEP_POINT
from ..objects.phase import ENDED_POD_PHASES, FINISHED_PHASES, UNAVAILABLE, job_phase
from ..objects.reader import LogChunks, Reader
from ..spec.errors import UserError
from .top import list_kind

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
MAIN_CONTAINERS = ("tensorflow", "pytorch", "mpi-launcher", "mpi-worker", "node", "tensorboard", "serving",
                   "kserve-container")
COMPONENTS = ("job", "tensorboard", "serving")


class LogsError(UserError):
    pass


@dataclass
class PodContainer:
    """The container whose log `logs` reads: which pod, and whether it has started."""

    namespace: str
    what: str  # e.g. "TFJob mnist, chief 0", for messages
    pod: Optional[str]  # None: not created yet
    container: Optional[str]
    started: bool  # a container has run, so there are logs to read
    reason: str = ""  # why not started
    never: bool = False  # it cannot start as things are (a local server not installed): waiting is pointless


def _labels(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["metadata"].get("labels") or {}


def again(verb: str, experiment: str, namespace: str, local: bool) -> str:
    """The command that looks further, on the same target: `arena-run status -n ns x`, or `--local`."""
    return f"arena-run {verb} {'--local' if local else '-n ' + namespace} {experiment}"


def resolve(experiment: str, namespace: str, jobs: list[dict[str, Any]], pods: list[dict[str, Any]], *, component: str = "job",
            role: Optional[str] = None, index: Optional[int] = None, point: Optional[str] = None,
            local: bool = False) -> PodContainer:
    """local: the experiment is this machine's (hints say --local, not -n)."""
    if component not in COMPONENTS:
        raise LogsError(f"--component must be one of {', '.join(COMPONENTS)}, not {component!r}")
    mine = [p for p in pods if _labels(p).get(EXPERIMENT) == experiment]
    if component != "job":
        if role or index is not None or point:
            raise LogsError("--role, --index and --point choose a job's replica; not with --component " + component)
        candidates = [p for p in mine if _labels(p).get(COMPONENT) == component
                      and not p["metadata"].get("deletionTimestamp")]
        if not candidates:
            raise LogsError(f"experiment {experiment} in {namespace} has no {component} pod")
        # The newest running pod (a rollout may leave an old one terminating), else the newest.
        candidates.sort(key=lambda p: (_started(p), p["metadata"].get("creationTimestamp", "")), reverse=True)
        return _container(namespace, f"{component} of {experiment}", candidates[0])

    jobs = [j for j in jobs if _labels(j).get(EXPERIMENT) == experiment]
    if not jobs:
        raise LogsError(f"experiment {experiment} in {namespace} has no job ({again('status', experiment, namespace, local)})")
    if point:
        chosen = [j for j in jobs if point in (j["metadata"]["name"], _labels(j).get(SWEEP_POINT))]
        if not chosen:
            raise LogsError(f"no sweep point {point!r} in {experiment}: one of {_names(jobs)}")
        job = chosen[0]
    elif len(jobs) > 1:
        raise LogsError(f"{experiment} is a sweep of {len(jobs)} jobs: choose one with --point ({_names(jobs)})")
    else:
        job = jobs[0]
    name = job["metadata"]["name"]
    specs = replica_specs(job)
    roles = {r.lower(): r for r in specs}
    want = (role or default_role(list(specs))).lower()
    if want not in roles:
        raise LogsError(f"{job.get('kind', 'job')} {name} has no {want} replicas (it has: {', '.join(sorted(roles)) or 'none'})")
    total = int(specs[roles[want]].get("replicas", 1))
    idx = 0 if index is None else index
    if not 0 <= idx < total:
        raise LogsError(f"{job.get('kind', 'job')} {name} has {total} {want} replica(s): --index 0..{total - 1}")
    what = f"{job.get('kind', 'job')} {name}, {want} {idx}"
    for pod in pods:
        if (pod_job(pod) == name and pod_role(pod) == want and pod_index(pod) == str(idx)
                and not pod["metadata"].get("deletionTimestamp")):
            return _container(namespace, what, pod)
    phase = job_phase(job)
    reason = "its pod is not created yet" if phase not in FINISHED_PHASES else \
        f"the job has {phase.lower()} and its pod is gone (clean_pod_policy)"
    return PodContainer(namespace, what, None, None, False, reason)


def _names(jobs: list[dict[str, Any]]) -> str:
    return ", ".join(sorted(j["metadata"]["name"] for j in jobs))


def _started(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") in ("Running", *ENDED_POD_PHASES):
        return True
    return any("running" in (c.get("state") or {}) or "terminated" in (c.get("state") or {})
               for c in status.get("containerStatuses") or [])


def main_container(pod: dict[str, Any]) -> Optional[str]:
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    preferred = (pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER)
    if preferred in names:
        return preferred
    for name in MAIN_CONTAINERS:
        if name in names:
            return name
    return names[0] if names else None


def _waiting_reason(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (c.get("state") or {}).get("waiting")
        if waiting:
            return str(waiting.get("reason", "")) + (f": {waiting['message']}" if waiting.get("message") else "")
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            return (c.get("reason") or "Unschedulable") + (f": {c['message']}" if c.get("message") else "")
    return status.get("phase") or "Pending"


def _container(namespace: str, what: str, pod: dict[str, Any]) -> PodContainer:
    started = _started(pod)
    return PodContainer(namespace, what, pod["metadata"]["name"], main_container(pod), started,
                        "" if started else f"pod {pod['metadata']['name']} has not started yet ({_waiting_reason(pod)})",
                        never=not started and (pod.get("status") or {}).get("reason") == UNAVAILABLE)


# --- I/O --------------------------------------------------------------------------


def find_container(cluster: Reader, experiment: str, namespace: str, *, component: str = "job", role: Optional[str] = None,
                index: Optional[int] = None, point: Optional[str] = None) -> PodContainer:
    """A LIST per job kind and one of the experiment's pods, then resolve.

    A sweep point's job name (`<experiment>-<8 hex digits>`, as `apply --wait`
    names a failed job) is taken for its experiment and --point.
    """
    def read(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        selector = f"{EXPERIMENT}={name}"
        jobs = [j for gk in JOB_GROUP_KINDS for j in list_kind(cluster, gk, namespace, selector)]
        return jobs, list_kind(cluster, "Pod", namespace, selector)

    from ..local.view import LocalView  # the hints name the target: a cluster's namespace, or --local

    local = isinstance(cluster, LocalView)
    jobs, pods = read(experiment)
    point_job = _POINT_JOB.fullmatch(experiment)
    if not jobs and not pods and point_job and not point and component == "job":
        parent_jobs, parent_pods = read(point_job.group(1))
        if any(j["metadata"]["name"] == experiment for j in parent_jobs):
            return resolve(point_job.group(1), namespace, parent_jobs, parent_pods, component=component, role=role,
                           index=index, point=experiment, local=local)
    return resolve(experiment, namespace, jobs, pods, component=component, role=role, index=index, point=point,
                   local=local)


_POINT_JOB = re.compile(r"(.+)-[0-9a-f]{8}")


def wait_started(cluster: Reader, experiment: str, namespace: str, *, interval: float = 1.0,
                 timeout: Optional[float] = None, on_wait: Optional[Callable[[PodContainer], None]] = None,
                 component: str = "job", role: Optional[str] = None, index: Optional[int] = None,
                 point: Optional[str] = None) -> PodContainer:
    """Resolve again until the chosen replica's container has started."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        chosen = find_container(cluster, experiment, namespace, component=component, role=role, index=index, point=point)
        if chosen.started:
            return chosen
        if chosen.never:
            raise LogsError(f"{chosen.what}: {chosen.reason}")
        if on_wait:
            on_wait(chosen)
        if deadline is not None and time.monotonic() > deadline:
            raise LogsError(f"{chosen.what}: {chosen.reason}, still after {timeout:.0f}s")
        time.sleep(interval)


# While following: how often the pod is looked at, and how long the log must
# have been quiet after the pod ended before the stream is closed.
ENDED_POLL = 2.0
ENDED_GRACE = 1.0


def stream(cluster: Reader, chosen: PodContainer, *, follow: bool = False, tail: Optional[int] = None,
           since_seconds: Optional[int] = None, timestamps: bool = False) -> LogChunks:
    """The log as byte chunks; with follow, until the container ends or the caller stops.

    A kubelet ends a followed log itself when the container exits; in case
    the stream outlives it (a node that does not, a connection left open),
    a thread looks at the pod every ENDED_POLL seconds and ends the stream
    once the container has ended and the log has been quiet for ENDED_GRACE.
    """
    if not chosen.pod:
        raise LogsError(f"{chosen.what}: {chosen.reason}")
    logs = cluster.logs(chosen.namespace, chosen.pod, container=chosen.container, follow=follow, tail=tail,
                        since_seconds=since_seconds, timestamps=timestamps)
    if follow:
        threading.Thread(target=_stop_when_ended, args=(cluster, chosen, logs), daemon=True,
                         name=f"logs-{chosen.pod}").start()
    return logs


def ended(pod: Optional[dict[str, Any]], container: Optional[str]) -> bool:
    """Whether the pod's container can write no more to this log: the pod is gone or finished, or it exited."""
    if pod is None:
        return True
    status = pod.get("status") or {}
    if status.get("phase") in ENDED_POD_PHASES:
        return True
    for cs in status.get("containerStatuses") or []:
        if container in (None, cs.get("name")) and (cs.get("state") or {}).get("terminated"):
            return True
    return False


def _stop_when_ended(cluster: Reader, chosen: PodContainer, logs: LogChunks) -> None:
    while not logs.finished.wait(ENDED_POLL):
        try:
            pod = cluster.get(KINDS["Pod"], chosen.namespace, chosen.pod or "")
        except ClusterError:
            continue  # the stream itself is unaffected; look again later
        if ended(pod, chosen.container):
            while not logs.finished.is_set() and time.monotonic() - logs.last_chunk < ENDED_GRACE:
                logs.finished.wait(ENDED_GRACE)
            logs.stop()
            return
