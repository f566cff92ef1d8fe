"""What Kueue says of a queued job: its Workload, its LocalQueue, and what they mean. Pure.

Kueue (kubernetes-sigs/kueue) makes one Workload per job that carries a queue
label, owner-referenced to the job and labelled with its uid; the Workload's
conditions say whether it holds quota (QuotaReserved), was admitted, evicted
(and why: Preempted, PodsReadyTimeout, ...), requeued or finished.  arena-run
reads them and says them in its own words; it never decides anything Kueue
decides.  A job with a queue label is held (suspended) by Kueue's webhook until
its Workload is admitted: that is the phase `Queued`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from ..spec.names import QUEUE_LABEL
from .kinds import KINDS, Kind

JOB_UID = "kueue.x-k8s.io/job-uid"  # the label Kueue puts on a job's Workload: the job's uid
WORKLOAD = KINDS["Workload.kueue.x-k8s.io"]
LOCAL_QUEUE = KINDS["LocalQueue.kueue.x-k8s.io"]
CLUSTER_QUEUE = KINDS["ClusterQueue.kueue.x-k8s.io"]
# Kueue's visibility API: a LocalQueue's pending workloads, in the order it will consider them.
PENDING = Kind("PendingWorkloadsSummary", "visibility.kueue.x-k8s.io", "v1beta2", "localqueues")


@dataclass
class Queueing:
    """A queued job as Kueue sees it: in `status -o json` as the job's `queue`."""

    local_queue: str
    # queued (waiting for quota or for its queue), admitted, finished; or, where Kueue gave no
    # answer: no workload (Kueue made none: it does not manage the kind here, or not yet),
    # unknown (this user may not read Workloads, or the cluster serves no Kueue)
    state: str
    cluster_queue: str = ""
    reason: str = ""  # Kueue's own reason: Pending, Inadmissible, Preempted, PodsReadyTimeout, ...
    message: str = ""  # Kueue's message: which resource, how much is missing; which queue is absent
    since: Optional[str] = None  # when that became so (RFC 3339)
    position: Optional[int] = None  # among its LocalQueue's pending workloads, 1 first (visibility API)
    # among its ClusterQueue's, every namespace's LocalQueues that share its quota, 1 first (visibility API)
    cluster_position: Optional[int] = None
    evicted: str = ""  # the last eviction of a job queued again: "Preempted at 2026-...: message"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_of(job: dict[str, Any]) -> Optional[str]:
    """The LocalQueue a live job joins by its label, or None."""
    value = ((job.get("metadata") or {}).get("labels") or {}).get(QUEUE_LABEL)
    return str(value) if value else None


def suspended(job: dict[str, Any]) -> bool:
    """Whether the job is suspended: Kueue's webhook holds a queued job so until it is admitted."""
    spec = job.get("spec") or {}
    if job.get("kind") == "TrainJob":
        return bool(spec.get("suspend"))
    return bool((spec.get("runPolicy") or {}).get("suspend"))


def held_by_kueue(job: dict[str, Any]) -> bool:
    """A job Kueue holds back: it carries a queue label and is suspended (not admitted, or evicted)."""
    return queue_of(job) is not None and suspended(job)


def workloads_by_job(workloads: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{job uid: its Workload}, by the controller owner reference (the job-uid label where it has none).

    A job has one Workload; while Kueue replaces one (a job's pod sets changed while it held quota)
    there may be two for a moment, and the newer is the job's."""
    out: dict[str, dict[str, Any]] = {}
    for w in sorted(workloads, key=lambda w: str(w["metadata"].get("creationTimestamp") or "")):
        meta = w["metadata"]
        owners = [o.get("uid") for o in meta.get("ownerReferences") or [] if o.get("controller")]
        uid = owners[0] if owners else (meta.get("labels") or {}).get(JOB_UID)
        if uid:
            out[str(uid)] = w
    return out


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("type")): c for c in (obj.get("status") or {}).get("conditions") or []}


def _true(conditions: dict[str, dict[str, Any]], kind: str) -> Optional[dict[str, Any]]:
    c = conditions.get(kind)
    return c if c is not None and str(c.get("status")) == "True" else None


def workload_queueing(job: dict[str, Any], workload: Optional[dict[str, Any]]) -> Queueing:
    """What Kueue says of the job, from its Workload (None: Kueue made none)."""
    local_queue = queue_of(job) or ""
    if workload is None:
        return Queueing(local_queue, "no workload", message=(
            f"Kueue made no Workload for {job.get('kind')} {job['metadata']['name']}: it is held but not yet "
            "seen by Kueue" if suspended(job) else
            f"Kueue made no Workload for {job.get('kind')} {job['metadata']['name']}: Kueue does not manage "
            f"{job.get('kind')} on this cluster (its integrations.frameworks), so the queue label has no effect"))
    status = workload.get("status") or {}
    conditions = _conditions(workload)
    cluster_queue = str((status.get("admission") or {}).get("clusterQueue") or "")
    evicted = ""
    last = _true(conditions, "Evicted")  # an eviction (preemption, a timeout) before this wait
    # Waiting since its Workload was made, or since its last eviction sent it back (Kueue rewrites
    # QuotaReserved's time each time it tries again, so that time says nothing of the wait).
    queued_since = workload["metadata"].get("creationTimestamp")
    if last is not None:
        evicted = f"{last.get('reason') or 'Evicted'} at {last.get('lastTransitionTime')}: {last.get('message') or ''}"
        evicted = evicted.rstrip(": ")
        queued_since = last.get("lastTransitionTime") or queued_since
    finished = _true(conditions, "Finished")
    if finished is not None:
        return Queueing(local_queue, "finished", cluster_queue, str(finished.get("reason") or ""),
                        str(finished.get("message") or ""), finished.get("lastTransitionTime"))
    admitted = _true(conditions, "Admitted")
    if admitted is not None:  # an eviction takes Admitted away; a later admission gives it back
        return Queueing(local_queue, "admitted", cluster_queue, str(admitted.get("reason") or "Admitted"),
                        str(admitted.get("message") or ""), admitted.get("lastTransitionTime"))
    if (workload.get("spec") or {}).get("active") is False:
        deactivated = conditions.get("Evicted") or {}
        return Queueing(local_queue, "queued", cluster_queue, "Deactivated",
                        "Kueue deactivated its Workload (spec.active is false): it is not admitted again until "
                        "reactivated" + (f"; {deactivated.get('message')}" if deactivated.get("message") else ""),
                        queued_since, evicted=evicted)
    reserved = conditions.get("QuotaReserved")
    if reserved is not None and str(reserved.get("status")) == "True":
        return Queueing(local_queue, "queued", cluster_queue, "QuotaReserved",
                        f"{reserved.get('message') or 'quota reserved'}; waiting for its admission checks",
                        queued_since, evicted=evicted)
    if reserved is not None:
        return Queueing(local_queue, "queued", cluster_queue, str(reserved.get("reason") or "Pending"),
                        str(reserved.get("message") or ""), queued_since, evicted=evicted)
    return Queueing(local_queue, "queued", cluster_queue, "Pending", "waiting for Kueue to consider it",
                    queued_since, evicted=evicted)


def queue_problem(namespace: str, name: str, local_queue: Optional[dict[str, Any]]) -> Optional[str]:
    """Why a job in LocalQueue `name` would wait however long it waits: the queue does not exist, or
    Kueue marks it inactive (its ClusterQueue is missing or stopped).  None when it is active."""
    if local_queue is None:
        return (f"LocalQueue {namespace}/{name} does not exist: Kueue holds the job until it does "
                f"(kubectl get localqueues -n {namespace})")
    active = _conditions(local_queue).get("Active")
    if active is not None and str(active.get("status")) != "True":
        why = ": ".join(str(x) for x in (active.get("reason"), active.get("message")) if x)
        cq = (local_queue.get("spec") or {}).get("clusterQueue") or "?"
        return (f"LocalQueue {namespace}/{name} (ClusterQueue {cq}) is inactive ({why}): Kueue admits nothing "
                "from it until it is active")
    return None
