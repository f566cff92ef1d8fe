"""`top queue`: the namespace's Kueue LocalQueues and the ClusterQueues behind them, as `kueuectl list` shows.

One round trip: the namespace's LocalQueues (their pending, reserving and
admitted counts, and their own usage) and the ClusterQueues (cluster-scoped:
quota per flavor and resource, usage, borrowing), side by side.  A user who
may read the LocalQueues of a namespace but not the cluster's ClusterQueues
(a namespace-bound Role, as is common) still gets the LocalQueues, and a note
saying what is missing and why, never an error.  Figures are Kueue's own,
from the objects' status; arena-run counts nothing itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from ..cluster import ClusterError
from ..objects.gpus import GPU, gpu_count
from ..objects.kueue import CLUSTER_QUEUE, LOCAL_QUEUE
from ..objects.live import side_by_side
from ..objects.reader import Reader


@dataclass
class Resource:
    """One resource of one flavor: the quota, what admitted workloads use, what is borrowed from the cohort."""

    flavor: str
    resource: str
    nominal: str = "-"  # the ClusterQueue's nominalQuota ("-": not readable, or a LocalQueue's row)
    used: str = "0"
    borrowed: str = "0"
    borrowing_limit: Optional[str] = None


@dataclass
class ClusterQueueReport:
    name: str
    cohort: str
    active: str  # "True", or Kueue's reason for not being active
    pending: int
    reserving: int
    admitted: int
    resources: list[Resource] = field(default_factory=list)  # GPUs first


@dataclass
class LocalQueueReport:
    namespace: str
    name: str
    cluster_queue: str
    active: str
    pending: int
    reserving: int
    admitted: int
    usage: list[Resource] = field(default_factory=list)  # this LocalQueue's own workloads' usage, GPUs first


@dataclass
class QueueReport:
    local_queues: list[LocalQueueReport] = field(default_factory=list)
    cluster_queues: list[ClusterQueueReport] = field(default_factory=list)  # those the LocalQueues point at
    notes: list[str] = field(default_factory=list)  # what could not be read, and why

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def gpus(self, cluster_queue: str) -> Optional[Resource]:
        """The ClusterQueue's GPU row summed over its flavors, or None where it is not known."""
        found = next((c for c in self.cluster_queues if c.name == cluster_queue), None)
        rows = [r for r in (found.resources if found else []) if r.resource == GPU]
        if not rows:
            return None
        return Resource("*", GPU, nominal=_sum(r.nominal for r in rows), used=_sum(r.used for r in rows),
                        borrowed=_sum(r.borrowed for r in rows))


def _sum(values: Any) -> str:
    items = list(values)
    if any(v == "-" for v in items):
        return "-"
    return str(sum(gpu_count(v) for v in items))


def _active(obj: dict[str, Any]) -> str:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Active":
            return "True" if str(c.get("status")) == "True" else str(c.get("reason") or "False")
    return "Unknown"


def _gpus_first(rows: list[Resource]) -> list[Resource]:
    return sorted(rows, key=lambda r: (r.resource != GPU, r.flavor, r.resource))


def _usage(status: dict[str, Any], key: str = "flavorsUsage") -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(f.get("name")), str(r.get("name"))): r
            for f in status.get(key) or [] for r in f.get("resources") or []}


def cluster_queue_report(cq: dict[str, Any]) -> ClusterQueueReport:
    spec, status = cq.get("spec") or {}, cq.get("status") or {}
    used = _usage(status)
    rows = []
    for group in spec.get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                u = used.get((str(flavor.get("name")), str(res.get("name")))) or {}
                rows.append(Resource(str(flavor.get("name")), str(res.get("name")), str(res.get("nominalQuota", "0")),
                                     str(u.get("total", "0")), str(u.get("borrowed", "0")),
                                     None if res.get("borrowingLimit") is None else str(res["borrowingLimit"])))
    return ClusterQueueReport(cq["metadata"]["name"], str(spec.get("cohortName") or spec.get("cohort") or ""),
                              _active(cq), int(status.get("pendingWorkloads") or 0),
                              int(status.get("reservingWorkloads") or 0), int(status.get("admittedWorkloads") or 0),
                              _gpus_first(rows))


def local_queue_report(lq: dict[str, Any]) -> LocalQueueReport:
    status = lq.get("status") or {}
    usage = [Resource(flavor, resource, used=str(r.get("total", "0")))
             for (flavor, resource), r in _usage(status).items()]
    return LocalQueueReport(str(lq["metadata"].get("namespace")), lq["metadata"]["name"],
                            str((lq.get("spec") or {}).get("clusterQueue") or ""), _active(lq),
                            int(status.get("pendingWorkloads") or 0), int(status.get("reservingWorkloads") or 0),
                            int(status.get("admittedWorkloads") or 0), _gpus_first(usage))


def top_queues(local_queues: list[dict[str, Any]], cluster_queues: Optional[list[dict[str, Any]]]) -> QueueReport:
    """The report from the objects as listed (cluster_queues None: not readable)."""
    report = QueueReport([local_queue_report(q) for q in sorted(
        local_queues, key=lambda q: (q["metadata"].get("namespace"), q["metadata"]["name"]))])
    wanted = {q.cluster_queue for q in report.local_queues}
    if cluster_queues is not None:
        report.cluster_queues = [cluster_queue_report(c) for c in sorted(cluster_queues, key=lambda c: c["metadata"]["name"])
                                 if c["metadata"]["name"] in wanted]
        missing = sorted(wanted - {c.name for c in report.cluster_queues})
        if missing:
            report.notes.append(f"ClusterQueue {', '.join(missing)} does not exist: its LocalQueues admit nothing")
    return report


def read_queues(reader: Reader, namespace: Optional[str]) -> QueueReport:
    """`top queue`: the namespace's LocalQueues (None: every namespace's) and their ClusterQueues, one round trip."""
    def local() -> Any:
        try:
            return reader.list(LOCAL_QUEUE, namespace)
        except ClusterError as exc:
            return exc

    def clusterwide() -> Any:
        try:
            return reader.list(CLUSTER_QUEUE, None)
        except ClusterError as exc:
            return exc

    calls: list[Callable[[], Any]] = [local, clusterwide]
    lqs, cqs = side_by_side(reader, calls)
    if isinstance(lqs, ClusterError):
        if lqs.status == 404 and lqs.reason != "NotFound-namespace":
            return QueueReport(notes=["this cluster serves no Kueue LocalQueues (kueue.x-k8s.io/v1beta2): is Kueue "
                                      "installed?"])
        if lqs.status == 403:
            return QueueReport(notes=[f"LocalQueues of {namespace or 'the cluster'} are not readable by this user "
                                      f"(forbidden): {lqs}"])
        raise lqs
    readable = None if isinstance(cqs, ClusterError) else cqs
    if isinstance(cqs, ClusterError) and cqs.status not in (403, 404):
        raise cqs
    report = top_queues(lqs, readable)
    if readable is None and report.local_queues:
        report.notes.append("ClusterQueues are cluster-scoped and not readable by this user (forbidden): their quota "
                            "is not shown; the LocalQueues' own counts and usage are (a ClusterRole that may get "
                            "and list clusterqueues.kueue.x-k8s.io shows it)")
    return report
