"""The state of experiments (`arena-run status`): returns data, never prints.

One LIST per kind, whatever the number of experiments: parents, jobs,
Deployments, Services, InferenceServices and pods are listed once (by the
managed-by label) and grouped by experiment here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from ..objects.applyset import EXPERIMENT_KEY, PART_OF, SOURCE, SPEC_HASH, applyset_id, parent_name
from ..objects.gpus import holds_gpus, pod_gpus
from ..objects.jobs import pod_job, pod_role, replica_specs
from ..objects.keys import Live, key_of
from ..objects.kinds import JOB_GROUP_KINDS
from ..objects.kueue import Queueing
from ..objects.live import side_by_side
from ..objects.labels import COMPONENT, EXPERIMENT, MANAGED, RUNNER, SWEEP_PARAMS
from ..objects.phase import finished, shown_phase
from ..objects.reader import Reader
from ..objects.times import age, parse_time
from ..plan import Action, desired_members, experiment_hash, make_plan
from ..spec.model import Experiment
from . import queues
from .top import list_kind


@dataclass
class JobStatus:
    name: str
    kind: str
    phase: str
    replicas: dict[str, Any]  # role -> "ready/total"
    gpus_requested: int
    gpus_allocated: int
    age: str
    duration: Optional[str] = None
    params: Optional[str] = None  # a sweep point's values
    nodes: list[str] = field(default_factory=list)
    age_seconds: Optional[int] = None  # what `age` says, to compare: "1d2h" is older than "9m"
    message: str = ""  # why it failed, why a replica waits, or why Kueue holds it back
    queue: Optional[Queueing] = None  # Kueue's word on a job with [job] queue: its queues, state, reason, place


@dataclass
class Endpoint:
    name: str
    url: str
    available: str  # e.g. "1/1", "ready"
    hint: str = ""


@dataclass
class ExperimentStatus:
    name: str
    namespace: str
    sync: str  # in sync, drifted, changed (not applied), not applied
    source: str = ""
    jobs: list[JobStatus] = field(default_factory=list)
    tensorboard: Optional[Endpoint] = None
    serving: Optional[Endpoint] = None
    sync_detail: list[str] = field(default_factory=list)

    @property
    def phase(self) -> str:
        phases = [j.phase for j in self.jobs]
        for p in ("Failed", "Pending", "Queued", "Restarting", "Running", "Suspended", "Succeeded"):
            if p in phases:
                return p
        return "-"

    @property
    def age(self) -> str:
        """Time since the experiment's oldest job was created (one job: its age)."""
        if len(self.jobs) == 1:
            return self.jobs[0].age
        aged = [(j.age_seconds, j) for j in self.jobs if j.age_seconds is not None]
        return max(aged, key=lambda a: a[0])[1].age if aged else "-"

    @property
    def duration(self) -> Optional[str]:
        """How long its job ran, once finished (one job only: a sweep's jobs each have their own)."""
        return self.jobs[0].duration if len(self.jobs) == 1 else None

    def __repr__(self) -> str:
        return f"<ExperimentStatus {self.name} in {self.namespace}: {self.phase}, age {self.age}, {self.sync}>"

    def _repr_html_(self) -> str:
        from ..objects.html import table
        from .table import status_rows

        return table(*status_rows([self]))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["phase"] = self.phase
        out["age"] = self.age
        out["duration"] = self.duration
        return out


def collect(cluster: Reader, namespace: Optional[str], *, names: Optional[set[str]] = None,
            files: Optional[dict[str, Any]] = None, now: Optional[dt.datetime] = None,
            runner: Optional[str] = None) -> list[ExperimentStatus]:
    """Status of every experiment in namespace (None: all namespaces), or of those named.

    files maps experiment name -> Experiment read from a file; those are
    compared with what was applied, the rest with what their parent recorded.
    runner: this machine's (local.runners), which a file's jobs are to run in
    as plan would apply them; None on a cluster.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    files = files or {}
    kinds = ("ConfigMap", *JOB_GROUP_KINDS, "Deployment.apps", "Service", "InferenceService.serving.kserve.io", "Pod")
    # One round trip: every kind's LIST, Kueue's Workloads and LocalQueues beside them.
    answers: list[Any] = side_by_side(cluster, [*(_list(cluster, gk, namespace) for gk in kinds),
                                                *queues.reads(cluster, namespace)])
    lists: dict[str, list[dict[str, Any]]] = dict(zip(kinds, answers))
    workloads, local_queues = answers[len(kinds):]
    kueue = queues.Kueue(workloads, local_queues)
    queued: list[tuple[str, Queueing, dict[str, Any]]] = []
    parents = {(o["metadata"]["namespace"], o["metadata"]["labels"].get(EXPERIMENT)): o for o in lists["ConfigMap"]
               if o["metadata"]["name"] == parent_name(o["metadata"]["labels"].get(EXPERIMENT, ""))}
    wanted = set(parents)
    for name, exp in files.items():
        wanted.add((namespace or exp.namespace or cluster.namespace, name))
    if names is not None:
        wanted = {w for w in wanted if w[1] in names}
    # Group once, by applyset id and by experiment: looking each experiment's
    # objects up in every list would make status quadratic in experiments.
    members: dict[tuple[Optional[str], Optional[str]], dict[str, list[dict[str, Any]]]] = {}
    for gk, items in lists.items():
        if gk in ("ConfigMap", "Pod"):
            continue
        for o in items:
            meta = o["metadata"]
            owner = (meta.get("namespace"), (meta.get("labels") or {}).get(PART_OF))
            members.setdefault(owner, {}).setdefault(gk, []).append(o)
    pods_of: dict[tuple[Optional[str], Optional[str]], list[dict[str, Any]]] = {}
    for p in lists["Pod"]:
        meta = p["metadata"]
        pods_of.setdefault((meta.get("namespace"), (meta.get("labels") or {}).get(EXPERIMENT)), []).append(p)
    nodes = None
    out = []
    for ns, name in sorted(wanted):
        parent = parents.get((ns, name))
        set_id = applyset_id(parent_name(name), ns)
        mine = members.get((ns, set_id), {})
        objs = {gk: mine.get(gk, []) for gk in lists if gk not in ("ConfigMap", "Pod")}
        pods = pods_of.get((ns, name), [])
        st = ExperimentStatus(name, ns, "not applied")
        if parent is not None:
            st.source = (parent["metadata"].get("annotations") or {}).get(SOURCE, "")
            st.sync, st.sync_detail = _sync(parent, objs, files.get(name), ns, runner)
        elif name in files:
            st.sync = "not applied"
        by_job: dict[Optional[str], list[dict[str, Any]]] = {}  # a sweep's points each have their pods
        for p in pods:
            by_job.setdefault(pod_job(p), []).append(p)
        for job in [j for gk in JOB_GROUP_KINDS for j in objs[gk]]:
            st.jobs.append(_job_status(job, by_job.get(job["metadata"]["name"], []), now, kueue.queueing(job)))
            if st.jobs[-1].phase == "Queued" and st.jobs[-1].queue is not None:
                queued.append((ns, st.jobs[-1].queue, job))
        for svc in objs["Service"]:
            component = svc["metadata"]["labels"].get(COMPONENT)
            if component in ("tensorboard", "serving"):
                if svc["spec"].get("type") == "NodePort" and nodes is None:
                    nodes = list_kind(cluster, "Node", None, None)
                endpoint = _endpoint(svc, objs["Deployment.apps"], nodes or [])
                setattr(st, component, endpoint)
        for isvc in objs["InferenceService.serving.kserve.io"]:
            st.serving = _kserve(isvc)
        out.append(st)
    if queued:
        queues.add_positions(cluster, queued)  # a second round trip, only while something is queued
        for st in out:
            for j in st.jobs:
                if j.phase == "Queued" and j.queue is not None:
                    j.message = queues.describe(j.queue)
    return out


def _list(cluster: Reader, gk: str, namespace: Optional[str]) -> Callable[[], list[dict[str, Any]]]:
    return lambda: list_kind(cluster, gk, namespace, _selector(gk))


def _selector(gk: str) -> Optional[str]:
    if gk == "Node":
        return None
    return f"{MANAGED},{EXPERIMENT}" if gk == "ConfigMap" else MANAGED


def _sync(parent: dict[str, Any], objs: dict[str, list[dict[str, Any]]], from_file: Optional[Experiment],
          namespace: str, runner: Optional[str] = None) -> tuple[str, list[str]]:
    """`in sync` exactly when `plan --detailed-exitcode` of the same file would exit 0 (the same
    make_plan decides both); otherwise what is pending, the file's change first.

    runner (this machine only): the runner a file's jobs would be applied in; what is recorded is
    compared with its own runner."""
    recorded = (parent.get("data") or {}).get(EXPERIMENT_KEY)
    exp = from_file
    if exp is None and recorded:
        try:
            exp = Experiment.from_json(recorded)
        except ValueError:
            return "unknown", ["recorded by another arena-run version"]
    if exp is None:
        return "unknown", []
    members = {key_of(o): o for items in objs.values() for o in items}
    desired = None
    if runner is not None:
        from ..local import runners

        desired = [runners.stamp(o, runner if from_file is not None else
                                 runners.runner_in(members.get(key_of(o), {})) or "process")
                   for o in desired_members(exp, namespace)]
    plan = make_plan(exp, namespace, Live(parent, members, {}), desired=desired)
    if not plan.to_review:
        return "in sync", []
    detail = [_pending(a) for a in plan.changes + plan.deferred]
    if plan.problems:
        return "unknown", plan.problems
    applied = (parent["metadata"].get("annotations") or {}).get(SPEC_HASH)
    changes = [a for a in plan.changes if not a.tool_caused]
    if changes and all(_runner_switch(a) for a in changes):
        return "changed (not applied)", ["applied in the other runner (with --container or without it)", *detail]
    if from_file is not None and applied != experiment_hash(from_file) and \
            (changes or not (plan.changes or plan.deferred)):
        return "changed (not applied)", ["the file differs from what was applied", *detail]
    if changes or any(a.drift for a in plan.changes):
        return "drifted", detail
    if any(a.tool_caused for a in plan.changes):
        return "render changed", detail
    if plan.deferred:
        return "deferred until the job ends", detail
    return "changed (not applied)", ["the record differs from what was applied", *detail]


def _runner_switch(action: Action) -> bool:
    """Whether the action only moves a job or server to the other local runner (local.runners)."""
    return bool(action.changes) and all(RUNNER in c.path for c in action.changes)


def _pending(action: Action) -> str:
    drift = sorted({m for c in action.changes for m in c.changed_by})
    why = f"changed by {', '.join(drift)}" if drift else action.reason
    return f"{action.kind} {action.name}: {action.op}" + (f" ({why})" if why else "")


def _job_status(job: dict[str, Any], pods: list[dict[str, Any]], now: dt.datetime,
                queue: Optional[Queueing] = None) -> JobStatus:
    name = job["metadata"]["name"]
    mine = [p for p in pods if pod_job(p) == name]
    # Kueue holds a queued job (suspended) until its Workload is admitted; locally, the ledger does.
    phase = shown_phase(job, mine, queue.state if queue is not None else None)
    specs = replica_specs(job)
    replicas, requested = {}, 0
    for role, spec in specs.items():
        total = spec.get("replicas", 1)
        ready = sum(1 for p in mine if pod_role(p) == role.lower() and _pod_ready(p))
        replicas[role] = f"{ready}/{total}"
        requested += total * pod_gpus(spec.get("template", {}).get("spec", {}))
    allocated = sum(pod_gpus(p.get("spec", {})) for p in mine if holds_gpus(p))
    status = job.get("status") or {}
    created = parse_time(job["metadata"].get("creationTimestamp"))
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    params = (job["metadata"].get("annotations") or {}).get(SWEEP_PARAMS)
    return JobStatus(
        name, job["kind"], phase, replicas, requested, allocated,
        age=age(created, now), duration=age(start, end) if finished(job) and start and end else None,
        params=params, nodes=sorted({p["spec"]["nodeName"] for p in mine if p.get("spec", {}).get("nodeName")}),
        age_seconds=max(0, int((now - created).total_seconds())) if created else None,
        message=queues.describe(queue) if phase == "Queued" and queue is not None else
        _why(phase, status, mine) or (queues.admitted(queue) if queue is not None else ""),
        queue=queue,
    )


def _why(phase: str, status: dict[str, Any], pods: list[dict[str, Any]]) -> str:
    """The operator's message for a failed job; the scheduler's for a replica that waits."""
    if phase == "Failed":
        for c in status.get("conditions") or []:
            if c.get("type") == "Failed" and str(c.get("status")) == "True":
                return ": ".join(x for x in (c.get("reason"), c.get("message")) if x)
    if phase == "Pending":
        for p in pods:
            for c in (p.get("status") or {}).get("conditions") or []:
                if c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("message"):
                    return f"{c.get('reason') or 'Unschedulable'}: {c['message']}"
    return ""


def _pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") == "Succeeded":
        return True
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _endpoint(svc: dict[str, Any], deployments: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> Endpoint:
    meta, spec = svc["metadata"], svc["spec"]
    name, ns = meta["name"], meta["namespace"]
    deploy = next((d for d in deployments if d["metadata"]["name"] == name), None)
    available = "-"
    if deploy is not None:
        want = deploy["spec"].get("replicas", 1)
        available = f"{(deploy.get('status') or {}).get('availableReplicas') or 0}/{want}"
    ports = spec.get("ports") or []
    if spec.get("type") == "NodePort":
        address = _node_address(nodes)
        urls = [f"http://{address}:{p['nodePort']}" if p.get("name") == "http" else f"{address}:{p['nodePort']}"
                for p in ports if p.get("nodePort")]
        return Endpoint(name, " ".join(urls) if address else "(no ready node)", available)
    port = next((p["port"] for p in ports if p.get("name") == "http"), ports[0]["port"] if ports else 80)
    others = [str(p["port"]) for p in ports if p["port"] != port]
    url = f"http://{name}.{ns}.svc:{port}" + (f" (grpc :{','.join(others)})" if others else "")
    return Endpoint(name, url, available, hint=f"kubectl port-forward -n {ns} svc/{name} {port}:{port}")


def _node_address(nodes: list[dict[str, Any]]) -> Optional[str]:
    for node in nodes:
        status = node.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if ready:
            for addr in status.get("addresses") or []:
                if addr.get("type") == "InternalIP":
                    address = addr.get("address")
                    return str(address) if address is not None else None
    return None


def _kserve(isvc: dict[str, Any]) -> Endpoint:
    status = isvc.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return Endpoint(isvc["metadata"]["name"], status.get("url") or "(no URL yet)", "ready" if ready else "not ready")
