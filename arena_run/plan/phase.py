"""A training job's phase, read from its conditions as Arena reads them."""

from __future__ import annotations

from typing import Optional

FINISHED = ("Succeeded", "Failed")


def job_phase(job: Optional[dict]) -> str:
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


def finished(job: Optional[dict]) -> bool:
    return job_phase(job) in FINISHED


def finish_time(job: Optional[dict]) -> Optional[str]:
    """completionTime, else (a TrainJob has none) when its final condition became true."""
    status = (job or {}).get("status") or {}
    if status.get("completionTime"):
        return status["completionTime"]
    times = [c.get("lastTransitionTime") for c in status.get("conditions") or []
             if c.get("type") in ("Succeeded", "Complete", "Failed") and str(c.get("status")) == "True"]
    return max((t for t in times if t), default=None)


def ready(obj: Optional[dict]) -> tuple[bool, str]:
    """Whether an object is where `apply --wait` wants it, and what it is doing."""
    if obj is None:
        return False, "not found"
    kind, status = obj.get("kind"), obj.get("status") or {}
    if kind in ("TFJob", "PyTorchJob", "MPIJob", "TrainJob"):
        phase = job_phase(obj)
        return phase in ("Running", "Succeeded"), phase
    if kind == "Deployment":
        want = (obj.get("spec") or {}).get("replicas", 1)
        have = status.get("availableReplicas") or 0
        current = status.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
        return current and have >= want, f"{have}/{want} available"
    if kind == "InferenceService":
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        return conditions.get("Ready") == "True", "ready" if conditions.get("Ready") == "True" else "not ready"
    return True, "ok"
