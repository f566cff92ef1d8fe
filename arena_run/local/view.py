"""Local state as the Kubernetes objects a cluster would hold, read through the same few calls.

The planner (via arena_run.objects.live.read_many), `status`, `logs` and
`top` read a cluster with `get`, `list` (label and field selectors) and
`logs`.  LocalView answers those calls from $XDG_STATE_HOME/arena-run: the
ApplySet parent the planner recorded, each member as applied with the
status its run has (TFJob/PyTorchJob conditions as the operator writes
them, a TrainJob's as Trainer does, Deployments' available replicas), a pod
per replica (Pending with the reason while it waits for GPUs or cores,
Running, Succeeded, Failed; on node `localhost`), and this machine as one
node with its GPUs.  So the one planner and the cluster's status code serve
both targets.

A run that is not finished while its supervisor is gone is shown Failed
(SupervisorLost), never Running: its replicas died with the supervisor.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from typing import Any, Iterator, Optional

from ..objects.gpus import GPU
from ..objects.jobs import TRAINER_NODE, pod_hostname, pod_labels, replica_specs
from ..objects.kinds import Kind
from ..objects.kueue import queue_of
from ..objects.phase import FINISHED_PHASES, UNAVAILABLE
from . import gpus as gpu_inventory, runners
from . import queue as local_queue
from .distributed import LOCAL_JOB_KIND_NAMES
from .fields import managed_fields
from .paths import NotRegular, open_regular
from .state import Damaged, LocalError, Store

NAMESPACE = "local"
NODE = "localhost"

Objects = list[dict[str, Any]]  # spelled here: inside LocalView, `list` is its method


REWRITE_WAIT = 2.0  # seconds a live supervisor, woken, has to rewrite a damaged status.json


def read_status(store: Store, experiment: str, uid: str) -> Optional[dict[str, Any]]:
    """A run's status.json as its supervisor wrote it; None before it wrote one.

    A damaged one (cut short by hand) is not taken for "Pending": its live
    supervisor, woken, rewrites it from what it knows, and it is read again;
    with no supervisor alive the run is lost, and shown so (run_phase), with
    the file named.  A supervisor that does not rewrite it in time: one line.
    """
    try:
        return store.run_status(experiment, uid)
    except Damaged as exc:
        damaged = exc
    if store.wake_supervisor(experiment):
        deadline = time.monotonic() + REWRITE_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.05)  # a file has no change to wait on; the supervisor writes it whole
            try:
                return store.run_status(experiment, uid)
            except Damaged:
                continue
        raise damaged
    return {"phase": "Pending", "reason": "StatusDamaged", "message": str(damaged)}


def run_phase(store: Store, experiment: str, status: Optional[dict[str, Any]]) -> tuple[str, str, str]:
    """(phase, reason, message) of a run, with a dead supervisor taken into account."""
    if status is None:
        status = {"phase": "Pending", "reason": "", "message": "waiting for the supervisor"}
    phase: str = status.get("phase", "Pending")
    if phase not in ("Succeeded", "Failed", "Unavailable") and not store.supervisor_alive(experiment):
        return "Failed", "SupervisorLost", (f"the supervisor of {experiment} is gone (see "
                                            f"{store.dir(experiment)}/supervisor.log); apply --rerun runs it again")
    reason: str = status.get("reason", "")
    message: str = status.get("message", "")
    return phase, reason, message


class LocalView:
    """A Reader (arena_run.objects.reader) of this machine's experiments."""

    namespace = NAMESPACE

    def __init__(self, store: Optional[Store] = None, runner: str = "process") -> None:
        self.store = store or Store()
        self.runner = runner  # what a run applied to this view starts in: process, or container (its image)
        # A damaged record (parent.json cut short, edited by hand) reads as absent, so that a plan with
        # --adopt takes the members over and writes the record again; every other reader is told.
        self.past_damaged_records = False

    def adopting(self) -> LocalView:
        """This view, for a plan with --adopt: a damaged record is no record, its members are found by name."""
        view = LocalView(self.store, self.runner)
        view.past_damaged_records = True
        return view

    # --- the calls the cluster client answers -------------------------------------------
    def get(self, kind: Kind, namespace: Optional[str], name: str) -> Optional[dict[str, Any]]:
        for obj in self._objects(kind.kind):
            if obj["metadata"]["name"] == name:
                return obj
        return None

    def list(self, kind: Kind, namespace: Optional[str] = None, *, selector: Optional[str] = None,
             metadata_only: bool = False, field_selector: Optional[str] = None) -> Objects:
        out = []
        for obj in self._objects(kind.kind):
            if namespace not in (None, NAMESPACE):
                continue
            if selector and not _labels_match(obj["metadata"].get("labels") or {}, selector):
                continue
            if field_selector and not _fields_match(obj, field_selector):
                continue
            out.append({"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                        "metadata": obj["metadata"]} if metadata_only else obj)
        return out

    def logs(self, namespace: str, pod: str, *, container: Optional[str] = None, follow: bool = False,
             tail: Optional[int] = None, since_seconds: Optional[int] = None,
             timestamps: bool = False) -> "LocalLogStream":
        found = self._pod_log(pod)
        if found is None:
            return LocalLogStream(self.store, "", "", "", pod, False, tail)
        experiment, uid, path = found
        return LocalLogStream(self.store, experiment, uid, path, pod, follow, tail)

    # --- building the objects ---------------------------------------------------------------
    def _objects(self, kind: str) -> Objects:
        if kind == "Node":
            return [self._node()]
        if kind in ("Workload", "LocalQueue", "ClusterQueue"):
            return self._queued(kind)
        out = []
        for experiment in self.store.names():
            if kind == "ConfigMap":
                try:
                    parent = self.store.parent(experiment)
                except Damaged:
                    if not self.past_damaged_records:
                        raise
                    parent = None
                if parent:
                    out.append(parent)
                continue
            for entry in self.store.objects(experiment):
                obj = entry["object"]
                if kind == "Pod":
                    out += self._pods(experiment, entry)
                elif obj["kind"] == kind:
                    out.append(self._member(experiment, entry))
        return out

    def _status(self, experiment: str, entry: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, str, str]]:
        status = read_status(self.store, experiment, entry["uid"])
        return status or {}, run_phase(self.store, experiment, status)

    def _member(self, experiment: str, entry: dict[str, Any]) -> dict[str, Any]:
        # Shown with the runner it was started in, as the planner's desired members name theirs.
        obj: dict[str, Any] = runners.stamp(copy.deepcopy(entry["object"]), runners.recorded(entry))
        meta = obj["metadata"]
        meta["creationTimestamp"] = entry["created"]
        meta["uid"] = entry["uid"]
        meta["generation"] = 1
        meta["managedFields"] = managed_fields(obj, entry["created"])
        status, (phase, reason, message) = self._status(experiment, entry)
        if obj["kind"] in LOCAL_JOB_KIND_NAMES:
            obj["status"] = _job_status(obj, status, phase, reason, message)
        elif obj["kind"] == "Deployment":
            up = 1 if phase == "Running" else 0
            obj["status"] = {"observedGeneration": 1, "replicas": 1, "availableReplicas": up,
                             "readyReplicas": up}
            if phase == "Unavailable":
                obj["status"]["conditions"] = [{"type": "Available", "status": "False", "reason": reason,
                                                "message": message}]
        return obj

    def _queued(self, kind: str) -> Objects:
        """The machine's one implicit queue as Kueue's objects (local/queue.py): for jobs with `queue`."""
        jobs = []
        for experiment in self.store.names():
            for entry in self.store.objects(experiment):
                if entry["object"]["kind"] in LOCAL_JOB_KIND_NAMES and queue_of(entry["object"]):
                    jobs.append((experiment, entry))
        out = []
        for experiment, entry in jobs:
            member = self._member(experiment, entry)
            _, (phase, reason, message) = self._status(experiment, entry)
            out.append(local_queue.workload(member, phase, reason, message))
        if kind == "LocalQueue":
            return local_queue.local_queues(out, NAMESPACE)
        return local_queue.cluster_queues(out) if kind == "ClusterQueue" else out

    def _pods(self, experiment: str, entry: dict[str, Any]) -> Objects:
        obj = entry["object"]
        status, (phase, reason, message) = self._status(experiment, entry)
        if obj["kind"] in LOCAL_JOB_KIND_NAMES:
            specs = replica_specs(obj)
            started = {(r["role"], r["index"]): r for r in status.get("replicas") or []}
            pods = []
            for role, spec in specs.items():
                for i in range(int(spec.get("replicas", 1))):
                    labels = {**(spec["template"].get("metadata", {}).get("labels") or {}), **pod_labels(obj, role, i)}
                    pods.append(_pod(pod_hostname(obj, role, i), labels, spec["template"]["spec"], entry,
                                     started.get((role, i)), phase, reason, message))
            return pods
        if obj["kind"] == "Deployment":
            template = obj["spec"]["template"]
            rep = (status.get("replicas") or [None])[0]
            return [_pod(obj["metadata"]["name"], dict(template["metadata"].get("labels") or {}), template["spec"],
                         entry, rep, phase, reason, message)]
        return []

    def _pod_log(self, pod: str) -> Optional[tuple[str, str, str]]:
        for experiment in self.store.names():
            for entry in self.store.objects(experiment):
                status = read_status(self.store, experiment, entry["uid"]) or {}
                for r in status.get("replicas") or []:
                    if r.get("pod") == pod:
                        base = f"{r['role'].lower()}-{r['index']}"
                        return experiment, entry["uid"], self.store.log_path(experiment, entry["uid"], base)
        return None

    def _node(self) -> dict[str, Any]:
        inventory = gpu_inventory.detect()
        count = str(len(inventory.gpus))
        return {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
            "status": {
                "capacity": {GPU: count}, "allocatable": {GPU: count},
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            },
        }

    def running(self, experiment: str) -> bool:
        """Whether something of the experiment runs here now, so that deleting it stops work: its
        supervisor lives and a run of it is not finished (Pending for admission counts; damaged state
        counts too, rather than guessed at)."""
        if not self.store.supervisor_alive(experiment):
            return False  # its replicas die with it
        try:
            for entry in self.store.objects(experiment):
                status = self.store.run_status(experiment, entry["uid"])
                if status is None or status.get("phase") not in FINISHED_PHASES + ("Unavailable",):
                    return True
        except LocalError:
            return True
        return False

    def endpoint(self, name: str) -> Optional[tuple[str, str, str]]:
        """(url, available, hint) of a local TensorBoard or server, by its Deployment's name."""
        for experiment in self.store.names():
            for entry in self.store.objects(experiment):
                if entry["object"]["kind"] == "Deployment" and entry["object"]["metadata"]["name"] == name:
                    status, (phase, reason, message) = self._status(experiment, entry)
                    urls = status.get("urls") or {}
                    url = urls.get("http") or next(iter(urls.values()), "-")
                    if phase == "Unavailable":
                        return "-", "not available locally", message
                    # TF Serving's gRPC beside its REST port; a server of one port is that port alone.
                    others = [f"{k} {u}" for k, u in urls.items() if u != url]
                    return url + (f" ({', '.join(others)})" if others else ""), \
                        "1/1" if phase == "Running" else "0/1", message if phase != "Running" else ""
        return None


def _job_status(obj: dict[str, Any], status: dict[str, Any], phase: str, reason: str, message: str) -> dict[str, Any]:
    if obj["kind"] == "TrainJob":
        return _trainjob_status(status, phase, reason, message)
    kind = obj["kind"]
    name = obj["metadata"]["name"]
    created = obj["metadata"]["creationTimestamp"]
    conditions = [{"type": "Created", "status": "True", "reason": f"{kind}Created",
                   "message": f"{kind} {name} is created.", "lastTransitionTime": created}]
    if phase in ("Running", "Restarting", "Succeeded", "Failed") and status.get("startTime"):
        conditions.append({"type": "Running", "status": "True" if phase == "Running" else "False",
                           "reason": f"{kind}Running", "lastTransitionTime": status["startTime"]})
    if phase == "Restarting":
        conditions.append({"type": "Restarting", "status": "True", "reason": f"{kind}Restarting"})
    if phase in FINISHED_PHASES:
        conditions.append({"type": phase, "status": "True", "reason": reason or f"{kind}{phase}",
                           "message": message, "lastTransitionTime": status.get("completionTime")})
    out: dict[str, Any] = {"conditions": conditions}
    if status.get("startTime"):
        out["startTime"] = status["startTime"]
    if status.get("completionTime") or (phase == "Failed" and reason == "SupervisorLost"):
        out["completionTime"] = status.get("completionTime")
    return out


def _trainjob_status(status: dict[str, Any], phase: str, reason: str, message: str) -> dict[str, Any]:
    """A TrainJob's status as Trainer writes it from its JobSet's: a Complete or Failed condition once
    it ends, and per replicated job (the one, `node`) how many of its Jobs are active, ready,
    succeeded and failed (a Job: all of the TrainJob's nodes).  No Running condition and no start or
    completion time: a TrainJob has none (objects.phase.job_phase reads it so)."""
    nodes = status.get("replicas") or []
    running = phase in ("Running", "Restarting")
    ready = running and bool(nodes) and all(r.get("state") in ("running", "succeeded") for r in nodes)
    out: dict[str, Any] = {"jobsStatus": [{
        "name": TRAINER_NODE, "active": int(running), "ready": int(ready), "succeeded": int(phase == "Succeeded"),
        "failed": int(phase == "Failed"), "suspended": 0}]}
    if phase in FINISHED_PHASES:
        # JobSet's reasons for its own Completed and Failed conditions, which Trainer copies; the local
        # controller's reason where it has its own (BackoffLimitExceeded, DeadlineExceeded, SupervisorLost...).
        default = "AllJobsCompleted" if phase == "Succeeded" else "FailedJobs"
        out["conditions"] = [{"type": "Complete" if phase == "Succeeded" else "Failed", "status": "True",
                              "reason": reason if reason and reason not in FINISHED_PHASES else default,
                              "message": message, "lastTransitionTime": status.get("completionTime")}]
    return out


def _pod(name: str, labels: dict[str, Any], spec: dict[str, Any], entry: dict[str, Any], replica: Optional[dict[str, Any]], phase: str, reason: str,
         message: str) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    status: dict[str, Any]
    state = (replica or {}).get("state", "waiting")
    if phase == "Failed" and reason == "SupervisorLost" and state in ("running", "backoff"):
        state = "lost"
    container = spec.get("containers", [{}])[0].get("name", "main")
    if phase == "Unavailable":  # a server whose binary is not here: it never starts, and says why
        status = {"phase": "Pending", "reason": UNAVAILABLE, "message": message, "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": UNAVAILABLE, "message": message}]}
    elif replica is None or state == "waiting":
        why = message if reason == "Unschedulable" else ("the job has ended" if phase in FINISHED_PHASES
                                                         else "waiting for the supervisor")
        status = {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why}]}
    else:
        spec["nodeName"] = NODE
        pod_phase = {"running": "Running", "backoff": "Running", "succeeded": "Succeeded",
                     "failed": "Failed", "stopped": "Failed", "exited": "Running", "lost": "Failed"}[state]
        if state == "running":
            cstate = {"running": {"startedAt": replica.get("started")}}
        elif state == "backoff":
            cstate = {"waiting": {"reason": "CrashLoopBackOff"}}
        else:
            cstate = {"terminated": {"exitCode": replica.get("exitCode"), "finishedAt": replica.get("finished")}}
        status = {
            "phase": pod_phase,
            "conditions": [{"type": "Ready", "status": "True" if state == "running" else "False"}],
            "containerStatuses": [{"name": container, "state": cstate, "restartCount": replica.get("restarts", 0),
                                   "ready": state == "running"}],
        }
        if replica.get("gpus"):
            status["gpus"] = replica["gpus"]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels, "creationTimestamp": entry["created"]},
        "spec": spec, "status": status,
    }


def _labels_match(labels: dict[str, Any], selector: str) -> bool:
    for term in [t.strip() for t in selector.split(",") if t.strip()]:
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _fields_match(obj: dict[str, Any], selector: str) -> bool:
    for term in [t.strip() for t in selector.split(",") if t.strip()]:
        negate = "!=" in term
        path, value = term.split("!=" if negate else "=", 1)
        node: Any = obj
        for step in path.split("."):
            node = node.get(step) if isinstance(node, dict) else None
        actual = "" if node is None else str(node)
        if (actual == value) == negate:
            return False
    return True


class LocalLogStream:
    """A replica's log file as byte chunks, as the cluster client's LogStream: iterate it; stop() ends it."""

    def __init__(self, store: Store, experiment: str, uid: str, path: str, pod: str, follow: bool,
                 tail: Optional[int]):
        self.store, self.experiment, self.uid, self.path, self.pod = store, experiment, uid, path, pod
        self.follow, self.tail = follow, tail
        self.finished = threading.Event()  # set once iteration is over, however it ended
        self.last_chunk = time.monotonic()
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks()
        finally:
            self.finished.set()

    def _chunks(self) -> Iterator[bytes]:
        try:
            fh = os.fdopen(open_regular(self.path), "rb")  # a FIFO in its place would block the reader
        except FileNotFoundError:
            return
        except NotRegular as exc:
            raise LocalError(f"{exc}: remove it (the replica's next start writes a new one)") from None
        with fh:
            data = fh.read()
            if self.tail is not None:
                lines = data.splitlines(keepends=True)
                data = b"".join(lines[-self.tail:]) if self.tail else b""
            if data:
                self.last_chunk = time.monotonic()
                yield data
            while self.follow and not self._stopped:
                chunk = fh.read()
                if chunk:
                    self.last_chunk = time.monotonic()
                    yield chunk
                    continue
                if not _still_running(self.store, self.experiment, self.uid, self.pod):
                    rest = fh.read()
                    if rest:
                        yield rest
                    return
                time.sleep(0.2)  # a file has no end-of-stream to wait on; this polls it as `tail -f` does


def _still_running(store: Store, experiment: str, uid: str, pod: str) -> bool:
    status = read_status(store, experiment, uid)
    if status is None or not store.supervisor_alive(experiment):
        return False
    for r in status.get("replicas") or []:
        if r.get("pod") == pod:
            return r.get("state") in ("running", "backoff", "exited")
    return False
