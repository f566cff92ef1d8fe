"""A training job's phase, read from its conditions as Arena reads them, and when it finished."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from .jobs import JOB_KIND_NAMES
from .kueue import held_by_kueue
from .times import parse_time

# The phases a job ends in; every other phase (Pending, Queued, Suspended, Running, Restarting) is unfinished.
FINISHED_PHASES = ("Succeeded", "Failed")
# A pod's own phases (not a job's) in which all its containers have ended.
ENDED_POD_PHASES = ("Succeeded", "Failed")
# A pod's status.reason on this machine (--local) for a server whose binary is not installed: it never
# starts until an apply finds it, so nothing waits for it.
UNAVAILABLE = "Unavailable"


def job_phase(job: Optional[dict[str, Any]]) -> str:
    """Succeeded > Failed > Running > Created/Queuing/Restarting > Pending.

    A TrainJob says Complete for Succeeded and has no Running condition: it
    runs while its JobSet's jobs have active pods (jobsStatus)."""
    if not job:
        return "Pending"
    status = job.get("status") or {}
    conditions = status.get("conditions") or []
    true = {c.get("type") for c in conditions if str(c.get("status")) == "True"}
    if job.get("kind") == "TrainJob":
        if "Complete" in true:
            return "Succeeded"
        if "Failed" in true:
            return "Failed"
        if "Suspended" in true:
            return "Suspended"
        busy = any((j.get("active") or 0) + (j.get("ready") or 0) for j in status.get("jobsStatus") or [])
        return "Running" if busy else "Pending"
    for phase in ("Succeeded", "Failed", "Running"):
        if phase in true:
            return phase
    if "Restarting" in true:
        return "Restarting"
    if "Suspended" in true:
        return "Suspended"
    return "Pending"


def shown_phase(job: dict[str, Any], pods: list[dict[str, Any]], queue_state: Optional[str] = None) -> str:
    """The phase status and top show for a job: its own (job_phase); Pending while a pod of it waits
    (Arena's rule: not running until every replica is); Queued while Kueue holds it back, that is its
    Workload not admitted (queue_state "queued") or, where no Workload was read (queue_state None, or
    "no workload"), the job suspended under a queue label."""
    phase = job_phase(job)
    if phase == "Running" and any((p.get("status") or {}).get("phase") == "Pending" for p in pods):
        phase = "Pending"
    if phase in ("Pending", "Suspended") and (
            queue_state == "queued" or (queue_state in (None, "no workload") and held_by_kueue(job))):
        phase = "Queued"
    return phase


def finished(job: Optional[dict[str, Any]]) -> bool:
    return job_phase(job) in FINISHED_PHASES


def finished_at(job: Optional[dict[str, Any]]) -> Optional[dt.datetime]:
    """When a finished job finished: completionTime, else (a TrainJob has none) when its final
    condition became true; None when neither says."""
    status = (job or {}).get("status") or {}
    if status.get("completionTime"):
        return parse_time(str(status["completionTime"]))
    parsed = [parse_time(c.get("lastTransitionTime")) for c in status.get("conditions") or []
              if c.get("type") in ("Succeeded", "Complete", "Failed") and str(c.get("status")) == "True"]
    return max((t for t in parsed if t), default=None)


def ready(obj: Optional[dict[str, Any]]) -> tuple[bool, str]:
    """Whether an object is where `apply --wait` wants it, and what it is doing."""
    if obj is None:
        return False, "not found"
    kind, status = obj.get("kind"), obj.get("status") or {}
    if kind in JOB_KIND_NAMES:
        phase = job_phase(obj)
        return phase in ("Running", "Succeeded"), phase
    if kind == "Deployment":
        return _rollout(obj)
    if kind == "InferenceService":
        # A Ready condition of an older generation says nothing of this one.
        if not _observed(obj):
            return False, "waiting for the new generation to be observed"
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        return conditions.get("Ready") == "True", "ready" if conditions.get("Ready") == "True" else "not ready"
    return True, "ok"


def _observed(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return (status.get("observedGeneration") or 0) >= (obj["metadata"].get("generation") or 0)


def _rollout(deploy: dict[str, Any]) -> tuple[bool, str]:
    """Deployment readiness as `kubectl rollout status` decides it: the new
    generation observed, every replica updated, no old one left, all available."""
    if not _observed(deploy):
        return False, "waiting for the new generation to be observed"
    status = deploy.get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            return False, "rollout exceeded its progress deadline"
    want = (deploy.get("spec") or {}).get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < want:
        return False, f"{updated} of {want} new replicas updated"
    if total > updated:
        return False, f"{total - updated} old replicas pending termination"
    if available < updated:
        return False, f"{available} of {updated} updated replicas available"
    return True, f"{available}/{want} available"
