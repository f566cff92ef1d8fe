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


class Replica(NamedTuple):
    """One role of a training job as the training operator knows it."""

    role: str  # the operator's replica type: Worker, PS, Chief, Evaluator, Master
    key: str  # its key under [job.roles]
    count: int
    override: Optional[Role]


def replicas(job: Job) -> list[Replica]:
    """The job's roles in the operator's order, with their replica counts."""
    r = job.roles
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


def derived_names(exp: Experiment) -> list[str]:
    """Every object and pod name the experiment leads to, longest first."""
    names: list[str] = []
    if exp.job:
        for point in job_points(exp):
            job = job_name(exp, point)
            names.append(job)
            # The operator names each pod and its headless Service
            # <job>-<role>-<index>; the longest index is the last one.
            names += [f"{job}-{r.role.lower()}-{r.count - 1}" for r in replicas(exp.job)]
    if exp.tensorboard:
        names.append(tensorboard_name(exp))
    if exp.serve:
        name = serving_name(exp)
        # KServe derives <name>-predictor Deployments and Services.
        names.append(f"{name}-predictor" if exp.serve.type == "kserve" else name)
    return sorted(set(names), key=lambda n: (-len(n), n))
