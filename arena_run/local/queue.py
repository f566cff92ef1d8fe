"""This machine's one implicit queue, spoken as Kueue speaks (`[job] queue` with `--local`).

A cluster's Kueue holds a queued job until its ClusterQueue has quota; here the
ledger of GPUs and cores (resources.py) holds a run until what it needs is
free.  For a job whose file names a `queue`, LocalView answers as a cluster
with Kueue would: a Workload per such job, owner-referenced to it, whose
conditions say waiting (QuotaReserved False, with the ledger's reason: "needs
1 core, 0 free of 2"), admitted (holding what it needs) or finished; and one
active LocalQueue of each name the jobs use, all in front of the machine's
one ClusterQueue, `local`.  So `status --local` says `Queued` with the reason
in the same words as on a cluster, from the same code.  There are no places:
each waiting run asks the ledger again on its own, first come is not first
served, so no position is given.  A job without `queue` waits as before, as
`Pending` with the reason (a cluster's pod that waits for the scheduler).
"""

from __future__ import annotations

from typing import Any

from ..objects.kueue import CLUSTER_QUEUE as CLUSTER_QUEUE_KIND, LOCAL_QUEUE, WORKLOAD, queue_of

CLUSTER_QUEUE = "local"  # the machine's one: every local LocalQueue points at it


def workload(job: dict[str, Any], phase: str, reason: str, message: str) -> dict[str, Any]:
    """The Workload a cluster's Kueue would hold for the local job (a member as LocalView shows it)."""
    meta = job["metadata"]
    since = meta.get("creationTimestamp")
    if phase == "Pending":
        conditions = [{"type": "QuotaReserved", "status": "False", "reason": "Pending",
                       "message": message or "waiting for the supervisor", "lastTransitionTime": since}]
    else:
        started = (job.get("status") or {}).get("startTime") or since
        conditions = [{"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved",
                       "message": f"Quota reserved in ClusterQueue {CLUSTER_QUEUE}", "lastTransitionTime": started},
                      {"type": "Admitted", "status": "True", "reason": "Admitted",
                       "message": "The workload is admitted", "lastTransitionTime": started}]
        if phase in ("Succeeded", "Failed"):
            conditions.append({"type": "Finished", "status": "True", "reason": phase, "message": reason or phase,
                               "lastTransitionTime": (job.get("status") or {}).get("completionTime") or started})
    status: dict[str, Any] = {"conditions": conditions}
    if phase != "Pending":
        status["admission"] = {"clusterQueue": CLUSTER_QUEUE}
    return {
        "apiVersion": WORKLOAD.api_version, "kind": WORKLOAD.kind,
        "metadata": {"name": f"{job['kind'].lower()}-{meta['name']}", "namespace": meta.get("namespace"),
                     "creationTimestamp": since, "labels": {"kueue.x-k8s.io/job-uid": meta.get("uid")},
                     "ownerReferences": [{"apiVersion": job.get("apiVersion"), "kind": job["kind"], "name": meta["name"],
                                          "uid": meta.get("uid"), "controller": True}]},
        "spec": {"queueName": queue_of(job), "active": True},
        "status": status,
    }


def _counts(workloads: list[dict[str, Any]]) -> dict[str, int]:
    """Kueue's counts of these Workloads: pending (waiting), admitted (holding what they need, not finished)."""
    states = [{c["type"] for c in w["status"]["conditions"] if c["status"] == "True"} for w in workloads]
    admitted = sum(1 for s in states if "Admitted" in s and "Finished" not in s)
    return {"pendingWorkloads": sum(1 for s in states if "Admitted" not in s),
            "reservingWorkloads": admitted, "admittedWorkloads": admitted}


_ACTIVE = [{"type": "Active", "status": "True", "reason": "Ready", "message": "this machine's one queue"}]


def local_queues(workloads: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """One active LocalQueue for each queue name the local jobs use (their Workloads), before the one ClusterQueue."""
    names = sorted({str(w["spec"]["queueName"]) for w in workloads})
    return [{"apiVersion": LOCAL_QUEUE.api_version, "kind": LOCAL_QUEUE.kind,
             "metadata": {"name": name, "namespace": namespace}, "spec": {"clusterQueue": CLUSTER_QUEUE},
             "status": {"conditions": _ACTIVE, **_counts([w for w in workloads if w["spec"]["queueName"] == name])}}
            for name in names]


def cluster_queues(workloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The machine's one ClusterQueue: no quota of its own (the ledger's GPUs and cores are `top node --local`)."""
    return [{"apiVersion": CLUSTER_QUEUE_KIND.api_version, "kind": CLUSTER_QUEUE_KIND.kind,
             "metadata": {"name": CLUSTER_QUEUE}, "spec": {"resourceGroups": []},
             "status": {"conditions": _ACTIVE, **_counts(workloads)}}]
