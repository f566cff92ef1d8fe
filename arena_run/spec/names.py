"""Names of everything an experiment creates, derived in one place.

Validation uses these to prove every name fits Kubernetes' 63-character
limit before anything is rendered; the renderer uses the same functions, so
the two can never disagree.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from .model import Experiment, Job, Role
from .sweep import Point, points

MAX_NAME = 63

# Label keys arena-run writes; a file may not set them itself.
MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PREFIX = "arena-run.io/"
# Kueue's labels on a job (from [job] queue and queue_priority): a job joins a
# LocalQueue by the first; the second names its WorkloadPriorityClass.
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
QUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
KUEUE_LABELS = {QUEUE_LABEL: "job.queue", QUEUE_PRIORITY_LABEL: "job.queue_priority"}


def repo_name(url: str) -> str:
    """The directory a git clone lands in: the last path segment of its URL without .git."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail[:-4] if tail.endswith(".git") else tail


class Replica(NamedTuple):
    """One role of a training job as the training operator knows it."""

    role: str  # the operator's replica type: Worker, PS, Chief, Evaluator, Master, Launcher; Node (TrainJob)
    key: str  # its key under [job.roles]
    replicas: int  # not `count`: that would hide tuple.count (mypy rightly refuses the override)
    override: Optional[Role]


def replicas(job: Job) -> list[Replica]:
    """The job's roles in the operator's order, with their replica counts."""
    r = job.roles
    if job.type == "pytorch" and job.engine == "trainer":
        # A TrainJob's nodes are all alike: no master, no per-role overrides.
        return [Replica("Node", "node", job.workers, None)]
    if job.type == "mpi":
        return [Replica("Launcher", "launcher", 1, r.launcher), Replica("Worker", "worker", job.workers, r.worker)]
    if job.type == "pytorch":
        # Arena's rule: `workers` counts the master, so workers = 1 is a lone master.
        out = [Replica("Master", "master", 1, r.master)]
        if job.workers > 1:
            out.append(Replica("Worker", "worker", job.workers - 1, r.worker))
        return out
    out = []
    if job.chief:
        out.append(Replica("Chief", "chief", 1, r.chief))
    if job.ps:
        out.append(Replica("PS", "ps", job.ps, r.ps))
    out.append(Replica("Worker", "worker", job.workers, r.worker))
    if job.evaluator:
        out.append(Replica("Evaluator", "evaluator", 1, r.evaluator))
    return out


def job_name(exp: Experiment, point: Optional[Point]) -> str:
    return f"{exp.name}-{point.suffix}" if point else exp.name


def tensorboard_name(exp: Experiment) -> str:
    return f"{exp.name}-tensorboard"


def serving_name(exp: Experiment) -> str:
    """The tf-serving Deployment and Service, or the InferenceService."""
    assert exp.serve is not None
    return exp.name if exp.serve.type == "kserve" else f"{exp.name}-serving"


def job_points(exp: Experiment) -> list[Optional[Point]]:
    """One entry per job: the sweep's points, or a single None without a sweep."""
    return list(points(exp.sweep)) or [None]


def _pod_names(spec: Job, job: str) -> list[str]:
    if spec.type == "pytorch" and spec.engine == "trainer":
        # Trainer makes a JobSet <job> whose replicated job `node` is the Job
        # <job>-node-0; its pods' hostnames are <job>-node-0-<index>.
        return [f"{job}-node-0-{spec.workers - 1}"]
    if spec.type == "mpi":
        # The mpi-operator's launcher Job <job>-launcher, worker pods
        # <job>-worker-<index>, ConfigMap <job>-config and Secret <job>-ssh.
        return [f"{job}-launcher", f"{job}-worker-{spec.workers - 1}", f"{job}-config"]
    # The training operator names each pod and its headless Service
    # <job>-<role>-<index>; the longest index is the last one.
    return [f"{job}-{r.role.lower()}-{r.replicas - 1}" for r in replicas(spec)]


def derived_names(exp: Experiment) -> list[str]:
    """Every object and pod name the experiment leads to, longest first."""
    names: list[str] = []
    if exp.job:
        for point in job_points(exp):
            job = job_name(exp, point)
            names.append(job)
            names += _pod_names(exp.job, job)
    if exp.tensorboard:
        names.append(tensorboard_name(exp))
    if exp.serve:
        name = serving_name(exp)
        # KServe derives <name>-predictor Deployments and Services.
        # (tf-serving and custom: the Deployment and Service <name>-serving.)
        names.append(f"{name}-predictor" if exp.serve.type == "kserve" else name)
    return sorted(set(names), key=lambda n: (-len(n), n))
