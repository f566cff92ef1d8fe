"""GPU accounting for `top node` and `top job`, as Arena counts it.

Pure functions over lists of objects (plain dicts as the API returns them),
plus thin readers that make the few LISTs they need: `top node` is one LIST of
nodes and one of pods, whatever the size of the cluster.

A pod holds GPUs from the moment it is bound to a node until it ends: the
`nvidia.com/gpu` limits of pods with a nodeName that are neither Succeeded
nor Failed are a node's allocated GPUs.  Unhealthy GPUs are those the node
has but does not offer (capacity - allocatable), as the device plugin
reports a failed device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..cluster import ClusterError
from ..objects.gpus import GPU, gpu_count, holds_gpus, pod_gpus
from ..objects.jobs import pod_job, replica_specs
from ..objects.kinds import JOB_GROUP_KINDS, KINDS
from ..objects.labels import EXPERIMENT, MANAGED
from ..objects.phase import shown_phase
from ..objects.reader import Reader
from ..objects.times import age, parse_time

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
# Pods that still hold what they asked for: bound, not ended.  Filtering on the
# server keeps `top node` one LIST whose size is the running pods only.
HOLDING_PODS = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"


@dataclass
class NodeGPUs:
    name: str
    address: str
    role: str
    status: str
    gpus_total: int
    gpus_allocated: int
    gpus_unhealthy: int


@dataclass
class NodeReport:
    nodes: list[NodeGPUs] = field(default_factory=list)  # by name

    @property
    def total(self) -> int:
        return sum(n.gpus_total for n in self.nodes)

    @property
    def allocated(self) -> int:
        return sum(n.gpus_allocated for n in self.nodes)

    @property
    def unhealthy(self) -> int:
        return sum(n.gpus_unhealthy for n in self.nodes)

    @property
    def percent(self) -> float:
        return round(100.0 * self.allocated / self.total, 1) if self.total else 0.0

    @property
    def summary(self) -> str:
        return f"{self.allocated}/{self.total} ({self.percent:g}%)"

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [asdict(n) for n in self.nodes],
                "total": {"gpus_total": self.total, "gpus_allocated": self.allocated,
                          "gpus_unhealthy": self.unhealthy, "percent": self.percent}}


def top_nodes(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> NodeReport:
    allocated: dict[str, Any] = {}
    for pod in pods:
        if holds_gpus(pod):
            node = pod["spec"]["nodeName"]
            allocated[node] = allocated.get(node, 0) + pod_gpus(pod["spec"])
    out = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        meta, status = node["metadata"], node.get("status") or {}
        capacity = gpu_count((status.get("capacity") or {}).get(GPU))
        allocatable = gpu_count((status.get("allocatable") or {}).get(GPU))
        out.append(NodeGPUs(
            name=meta["name"], address=_address(status), role=_role(meta.get("labels") or {}),
            status=_node_status(node), gpus_total=capacity,
            gpus_allocated=allocated.get(meta["name"], 0), gpus_unhealthy=max(0, capacity - allocatable),
        ))
    return NodeReport(out)


def _address(status: dict[str, Any]) -> str:
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return addresses.get("InternalIP") or addresses.get("ExternalIP") or addresses.get("Hostname") or "-"


def _role(labels: dict[str, Any]) -> str:
    roles = sorted(k[len(ROLE_LABEL_PREFIX):] for k in labels if k.startswith(ROLE_LABEL_PREFIX))
    roles = [r for r in roles if r] or ([labels["kubernetes.io/role"]] if labels.get("kubernetes.io/role") else [])
    return ",".join(roles) or "<none>"


def _node_status(node: dict[str, Any]) -> str:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c.get("status") for c in conditions if c.get("type") == "Ready"), None)
    text = "Ready" if ready == "True" else ("NotReady" if ready == "False" else "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def read_nodes(cluster: Reader) -> NodeReport:
    """`top node`: one LIST of nodes, one of the pods that hold resources."""
    nodes = cluster.list(KINDS["Node"], None)
    pods = cluster.list(KINDS["Pod"], None, field_selector=HOLDING_PODS)
    return top_nodes(nodes, pods)


# --- jobs ----------------------------------------------------------------------


@dataclass
class JobGPUs:
    namespace: str
    experiment: str
    name: str
    kind: str
    phase: str  # as status says it (objects.phase.shown_phase)
    gpus_requested: int
    gpus_allocated: int
    nodes: list[str]
    age: str


def top_jobs(jobs: list[dict[str, Any]], pods: list[dict[str, Any]], now: dt.datetime) -> list[JobGPUs]:
    """Per job: phase (as status says it), GPUs requested and allocated, nodes, age."""
    by_job: dict[tuple[Optional[str], str], list[dict[str, Any]]] = {}
    for pod in pods:
        meta = pod["metadata"]
        label = pod_job(pod)
        if label:
            by_job.setdefault((meta.get("namespace"), label), []).append(pod)
    out = []
    for job in jobs:
        meta = job["metadata"]
        mine = by_job.get((meta.get("namespace"), meta["name"]), [])
        phase = shown_phase(job, mine)  # as status says it (Queued while Kueue holds it back)
        requested = sum(spec.get("replicas", 1) * pod_gpus((spec.get("template") or {}).get("spec") or {})
                        for spec in replica_specs(job).values())
        holding = [p for p in mine if holds_gpus(p)]
        out.append(JobGPUs(
            namespace=meta.get("namespace", ""), experiment=(meta.get("labels") or {}).get(EXPERIMENT, ""),
            name=meta["name"], kind=job.get("kind", ""), phase=phase, gpus_requested=requested,
            gpus_allocated=sum(pod_gpus(p["spec"]) for p in holding),
            # Every node its pods run on, as status says it (GPUs or not).
            nodes=sorted({p["spec"]["nodeName"] for p in mine if (p.get("spec") or {}).get("nodeName")}),
            age=age(parse_time(meta.get("creationTimestamp")), now),
        ))
    return sorted(out, key=lambda j: (j.namespace, j.experiment, j.name))


def list_kind(cluster: Reader, gk: str, namespace: Optional[str], selector: Optional[str] = MANAGED) -> list[dict[str, Any]]:
    """A LIST of one kind; a kind the cluster does not serve has no objects."""
    try:
        return cluster.list(KINDS[gk], namespace, selector=selector)
    except ClusterError as exc:
        if exc.status == 404 and gk not in ("Pod", "ConfigMap", "PersistentVolumeClaim"):
            return []
        raise


def list_kinds(cluster: Reader, wanted: list[tuple[str, Optional[str], Optional[str]]]) -> list[list[dict[str, Any]]]:
    """[(group-kind, namespace, selector)] -> their LISTs, side by side.

    At a thousand experiments each LIST is megabytes: while the API server
    encodes one, the client decodes another.
    """
    from concurrent.futures import ThreadPoolExecutor

    if len(wanted) == 1:
        return [list_kind(cluster, *wanted[0])]
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        return list(pool.map(lambda w: list_kind(cluster, *w), wanted))


def read_jobs(cluster: Reader, namespace: Optional[str], now: Optional[dt.datetime] = None) -> list[JobGPUs]:
    """`top job`: arena-run's jobs of a namespace (None: all), a LIST per job kind and one of pods."""
    pods, *jobs = list_kinds(cluster, [(gk, namespace, MANAGED) for gk in ("Pod", *JOB_GROUP_KINDS)])
    return top_jobs([j for items in jobs for j in items], pods, now or dt.datetime.now(dt.timezone.utc))
