"""One small detached process per experiment: runs its jobs' replicas as the training operator would.

`python -m arena_run.local.supervisor STATE_DIR EXPERIMENT [READY_FD]`, started
by apply.  It holds the experiment's supervisor.lock for its whole life (so
any CLI can tell whether it is alive), reads the desired objects apply wrote
(objects/), and for each job run:

- waits (Pending, with the reason) until the GPUs and cores it needs are
  free, then fetches the code as the init container would and starts every
  replica (runner), with the operator's variables and disjoint GPUs;
- records exit codes and times in runs/<uid>/status.json;
- restarts a replica as its restartPolicy says (OnFailure, Always; ExitCode:
  only 128+ exits, the retryable ones) while the job's restarts stay within
  backoffLimit, else fails the job (BackoffLimitExceeded);
- decides success as the operator does: the chief or master when there is
  one, else worker 0 (or every worker with successPolicy AllWorkers); any
  replica failing for good fails the job; either way the rest are stopped;
- fails a job running longer than activeDeadlineSeconds (DeadlineExceeded);
- removes a finished job ttlSecondsAfterFinished later, as the operator
  deletes it (its record stays, so the planner does not run it again);
- keeps TensorBoard or TF Serving running (restarting it) when the binary is
  installed, else records why not.

It wakes on SIGCHLD (a replica ended), SIGHUP (apply changed something) and
its own timers, and exits when nothing is left to run or watch.  Its replicas
die with it (parent-death signal), so a killed supervisor leaves no process
behind, and every reader reports its unfinished runs as lost, never Running.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback
from typing import Any, Optional

from ..objects.applyset import FINISHED as FINISHED_RECORD, finished_jobs
from . import code as code_sync
from . import distributed, gpus as gpu_inventory
from .resources import Ledger, cores_of
from .runner import Launch, ProcessRunner, Runner
from .state import LocalError, Store, data_home, now_iso, parse_iso, read_json, write_json

JOB_KINDS = ("TFJob", "PyTorchJob")
COMPONENT_KINDS = ("Deployment",)
GRACE = 3.0  # seconds between SIGTERM and SIGKILL when stopping a replica
FINISHED = ("Succeeded", "Failed")
PENDING_RECHECK = 0.5  # a waiting run asks the ledger again this often (others' releases do not wake it)


def spec_hash(obj: Any) -> str:
    """The planner's hash of a job's spec (arena_run.plan.spec_hash; a test keeps the two equal)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def quantity_bytes(text: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text))


def _backoff(restarts: int) -> float:
    return 0.0 if restarts <= 1 else min(2.0 ** (restarts - 2), 10.0)


class Replica:
    def __init__(self, slot: distributed.Slot, pod: str) -> None:
        self.slot, self.pod = slot, pod
        self.gpus: list[str] = []  # uuids
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.argv: Optional[list[str]] = None  # a server's, its ports made local; else the container's
        self.state = "waiting"  # waiting, running, backoff, succeeded, failed, stopped
        self.exit_code: Optional[int] = None
        self.restarts = 0
        self.started: Optional[str] = None
        self.finished: Optional[str] = None
        self.due = 0.0  # a restart in backoff starts at this time.monotonic()

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.slot.role, "index": self.slot.replica_index, "port": self.slot.port, "pod": self.pod,
            "pid": self.proc.pid if self.proc and self.state == "running" else None, "state": self.state,
            "exitCode": self.exit_code, "restarts": self.restarts, "started": self.started,
            "finished": self.finished, "gpus": self.gpus,
        }


class Run:
    """One run of a job (or of a TensorBoard / serving Deployment)."""

    def __init__(self, entry: dict[str, Any], directory: str):
        self.entry, self.uid, self.obj = entry, entry["uid"], entry["object"]
        self.kind = self.obj["kind"]
        self.dir = directory
        self.phase, self.reason, self.message = "Pending", "", ""
        self.created = entry.get("created") or now_iso()
        self.start_time: Optional[str] = None
        self.completion_time: Optional[str] = None
        self.replicas: list[Replica] = []
        self.restarts = 0
        self.holds = False
        self.started_at = 0.0  # monotonic, for the deadline
        self.finished_at: Optional[float] = None  # wall clock, for the TTL
        self.urls: dict[str, Any] = {}
        self.gone = False  # its files were removed (delete, replace, TTL)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "kind": self.kind, "name": self.obj["metadata"]["name"], "phase": self.phase,
            "reason": self.reason, "message": self.message, "created": self.created,
            "startTime": self.start_time, "completionTime": self.completion_time, "restarts": self.restarts,
            "replicas": [r.to_dict() for r in self.replicas], "urls": self.urls,
            "supervisor": os.getpid(),
        }


class Supervisor:
    def __init__(self, store: Store, experiment: str, runner: Optional[Runner] = None):
        self.store, self.experiment = store, experiment
        self.runner = runner or ProcessRunner()
        self.ledger = Ledger(store, experiment)
        self.runs: dict[str, Run] = {}
        self.inventory: Optional[gpu_inventory.Inventory] = None
        self.stopping = False

    # --- the loop ---------------------------------------------------------------------
    def serve(self, ready_fd: Optional[int] = None) -> int:
        lock = os.open(self.store.supervisor_lock_path(self.experiment), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._ready(ready_fd, "already")
            return 0  # another supervisor of this experiment is alive: it was woken instead
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, lambda *_: None)
        signal.signal(signal.SIGTERM, self._terminate)
        write_json(os.path.join(self.store.dir(self.experiment), "supervisor.json"),
                   {"pid": os.getpid(), "started": now_iso()})
        self._ready(ready_fd, "started")
        while True:
            try:
                self.reconcile()
            except Exception:  # one bad object must not take every run down with the supervisor
                traceback.print_exc()
            if self.stopping or (self._idle() and self._leave(lock)):
                break
            timeout = self._timeout()
            select.select([wake_r], [], [], timeout)
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        self._shutdown()
        return 0

    def _leave(self, lock: int) -> bool:
        """Exit only if no apply slipped new work in: apply writes objects and checks for a live
        supervisor under the apply lock, so deciding and letting go of our lock under it leaves no gap."""
        with self.store.apply_lock(self.experiment):
            known = set(self.runs)
            if any(e["uid"] not in known for e in self.store.objects(self.experiment)
                   if e["object"]["kind"] in JOB_KINDS + COMPONENT_KINDS):
                return False
            os.close(lock)
            return True

    def _ready(self, fd: Optional[int], word: str) -> None:
        if fd is not None:
            try:
                os.write(fd, (word + "\n").encode())
            finally:
                os.close(fd)

    def _terminate(self, *_: object) -> None:
        self.stopping = True

    def _idle(self) -> bool:
        for run in self.runs.values():
            if not run.finished and run.phase != "Unavailable":
                return False
            if run.finished and self._ttl(run) is not None:
                return False
        return True

    def _timeout(self) -> Optional[float]:
        now, wall = time.monotonic(), time.time()
        waits = []
        for run in self.runs.values():
            if run.phase == "Pending":
                waits.append(PENDING_RECHECK)
            for r in run.replicas:
                if r.state == "backoff":
                    waits.append(max(r.due - now, 0))
            deadline = self._deadline(run)
            if deadline is not None and not run.finished:
                waits.append(max(run.started_at + deadline - now, 0))
            ttl = self._ttl(run)
            if ttl is not None and run.finished_at is not None:
                waits.append(max(run.finished_at + ttl - wall, 0))
        return min(waits) if waits else None

    def _shutdown(self) -> None:
        for run in self.runs.values():
            if not run.finished and run.phase != "Unavailable":
                self._stop_replicas(run)
                self._finish(run, "Failed", "SupervisorStopped", "the supervisor was stopped (SIGTERM)")
            self._write(run)

    # --- reconcile ----------------------------------------------------------------------
    def reconcile(self) -> None:
        entries = {e["uid"]: e for e in self.store.objects(self.experiment)
                   if e["object"]["kind"] in JOB_KINDS + COMPONENT_KINDS}
        for uid in list(self.runs):
            if uid not in entries:
                self._drop(self.runs.pop(uid))
        for uid, entry in entries.items():
            if uid not in self.runs:
                self.runs[uid] = self._load(entry)
        for run in list(self.runs.values()):
            self._reap(run)
            if run.kind in JOB_KINDS:
                self._step_job(run)
            else:
                self._step_component(run)
            self._write(run)

    def _load(self, entry: dict[str, Any]) -> Run:
        run = Run(entry, self.store.run_dir(self.experiment, entry["uid"]))
        old = read_json(os.path.join(run.dir, "status.json"))
        if old:
            run.phase, run.reason, run.message = old["phase"], old.get("reason", ""), old.get("message", "")
            run.start_time, run.completion_time = old.get("startTime"), old.get("completionTime")
            run.restarts, run.urls = old.get("restarts", 0), old.get("urls", {})
            for r in old.get("replicas", []):
                rep = Replica(distributed.Slot(r["role"], r["index"], r["port"]), r["pod"])
                rep.state, rep.exit_code, rep.restarts = r["state"], r.get("exitCode"), r.get("restarts", 0)
                rep.started, rep.finished, rep.gpus = r.get("started"), r.get("finished"), r.get("gpus", [])
                run.replicas.append(rep)
            if run.finished:
                run.finished_at = parse_iso(run.completion_time)
            elif run.phase != "Pending" or run.replicas:
                # Started by a supervisor that died: its replicas died with it.
                for rep in run.replicas:
                    if rep.state == "running":
                        rep.state = "failed"
                self._finish(run, "Failed", "SupervisorLost",
                             f"the supervisor (pid {old.get('supervisor')}) died while the job ran")
        return run

    def _write(self, run: Run) -> None:
        if not run.gone:
            write_json(os.path.join(run.dir, "status.json"), run.to_dict())

    def _drop(self, run: Run) -> None:
        """The object went (delete, replace, TTL): stop its processes, forget it, remove its files."""
        self._stop_replicas(run)
        self._release(run)
        run.gone = True
        shutil.rmtree(run.dir, ignore_errors=True)

    def _reap(self, run: Run) -> None:
        for rep in run.replicas:
            if rep.state == "running" and rep.proc is not None and rep.proc.poll() is not None:
                code = rep.proc.returncode
                rep.exit_code = code if code >= 0 else 128 - code
                rep.finished = now_iso()
                rep.state = "exited"

    # --- jobs -----------------------------------------------------------------------------
    def _specs(self, run: Run) -> dict[str, Any]:
        return distributed.replica_specs(run.obj)

    def _step_job(self, run: Run) -> None:
        if run.finished or run.phase == "Unavailable":
            self._maybe_expire(run)
            return
        if not run.replicas:
            if not self._admit(run):
                return
            try:
                self._start_job(run)
            except LocalError as exc:
                self._stop_replicas(run)
                self._finish(run, "Failed", "StartFailed", str(exc))
                return
        self._judge(run)

    def _needs(self, run: Run, slots: list[distributed.Slot]) -> list[int]:
        specs = self._specs(run)
        return [distributed.pod_gpus(specs[s.role]["template"]["spec"]) for s in slots]

    def _admit(self, run: Run) -> bool:
        slots = distributed.slots(run.obj) if run.kind in JOB_KINDS else []
        run.replicas = []
        needs = self._needs(run, slots)
        if sum(needs):
            if self.inventory is None:
                self.inventory = gpu_inventory.detect()
            visible = [g.uuid for g in self.inventory.gpus]
            if sum(needs) > len(visible):
                self._finish(run, "Failed", "Unschedulable",
                             f"needs {sum(needs)} GPUs, this machine has {len(visible)}"
                             + (f" ({self.inventory.note})" if self.inventory.note else ""))
                return False
        else:
            visible = []
        cores = sum(cores_of(_cpu(self._specs(run)[s.role]["template"]["spec"])) for s in slots)
        given, why = self.ledger.admit(run.uid, needs, cores, visible, self._holding())
        if given is None:
            run.reason, run.message = "Unschedulable", why or ""  # why: always given with no GPUs given
            return False
        run.holds = True
        run.reason, run.message = "", ""
        name = run.obj["metadata"]["name"]
        for slot, gpu_ids in zip(slots, given):
            rep = Replica(slot, f"{name}-{slot.role.lower()}-{slot.replica_index}")
            rep.gpus = gpu_ids
            run.replicas.append(rep)
        return True

    def _holding(self) -> set[str]:
        return {uid for uid, r in self.runs.items() if r.holds}

    def _start_job(self, run: Run) -> None:
        specs = self._specs(run)
        first = next(iter(specs.values()))["template"]["spec"]
        with open(os.path.join(self._logs(run), "init.log"), "ab") as log:
            code_sync.sync((first.get("initContainers") or [None])[0], os.path.join(run.dir, "code"),
                           run.entry.get("base", ""), log)
        run.start_time = now_iso()
        run.started_at = time.monotonic()
        run.phase = "Running"
        slots = [r.slot for r in run.replicas]
        for rep in run.replicas:
            self._launch(run, rep, slots)

    def _logs(self, run: Run) -> str:
        path = os.path.join(run.dir, "logs")
        os.makedirs(path, exist_ok=True)
        return path

    def _launch(self, run: Run, rep: Replica, slots: list[distributed.Slot]) -> None:
        template = self._specs(run)[rep.slot.role]["template"] if run.kind in JOB_KINDS else \
            run.obj["spec"]["template"]
        pod = template["spec"]
        container = pod["containers"][0]
        env = dict(os.environ)
        for item in container.get("env") or []:
            if "value" not in item:
                raise LocalError(f"env {item['name']}: valueFrom is a cluster feature; --local needs a value")
            env[item["name"]] = item["value"]
        if run.kind in JOB_KINDS:
            env.update(distributed.operator_env(run.obj, slots, rep.slot))
            # No GPU asked for: none given, as on a cluster (so no replica uses another's GPU unseen).
            env["CUDA_VISIBLE_DEVICES"] = ",".join(rep.gpus)
        env["HOSTNAME"] = rep.pod
        mounts, shm = self._mounts(run, pod, container)
        argv = list(container.get("command") or []) + list(container.get("args") or [])
        argv = argv if rep.argv is None else rep.argv
        n = rep.restarts
        scratch = os.path.join(run.dir, "scratch", f"{rep.pod}-{n}")
        if n:
            shutil.rmtree(os.path.join(run.dir, "scratch", f"{rep.pod}-{n - 1}"), ignore_errors=True)
        log = os.path.join(self._logs(run), f"{rep.slot.role.lower()}-{rep.slot.replica_index}.log")
        launch = Launch(rep.pod, argv, env, container.get("workingDir") or "/", mounts, shm, log, scratch)
        rep.proc = self.runner.start(launch)
        rep.state, rep.started, rep.finished, rep.exit_code = "running", now_iso(), None, None

    def _mounts(self, run: Run, pod: dict[str, Any], container: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        mapping = run.entry.get("volumes") or {}
        mounts, shm = [], 64 * 2**20
        for vm in container.get("volumeMounts") or []:
            vol = volumes.get(vm["name"], {})
            read_only = bool(vm.get("readOnly"))
            if "persistentVolumeClaim" in vol:
                claim = vol["persistentVolumeClaim"]["claimName"]
                source = mapping.get(claim) or os.path.join(data_home(), "volumes", claim)
                read_only = read_only or bool(vol["persistentVolumeClaim"].get("readOnly"))
                os.makedirs(source, exist_ok=True)
            elif "hostPath" in vol:
                source = vol["hostPath"]["path"]
            elif "emptyDir" in vol and vol["name"] == "dshm":
                shm = quantity_bytes(str(vol["emptyDir"].get("sizeLimit") or "64Mi"))
                continue
            elif "emptyDir" in vol and vol["name"] == "code":
                source = os.path.join(run.dir, "code")
            elif "emptyDir" in vol:
                source = os.path.join(run.dir, "volumes", vol["name"])
                os.makedirs(source, exist_ok=True)
            else:
                raise LocalError(f"volume {vm['name']}: not something --local can provide")
            if vm.get("subPath"):
                source = os.path.join(source, vm["subPath"])
                os.makedirs(source, exist_ok=True)
            mounts.append({"source": source, "target": vm["mountPath"], "read_only": read_only})
        return mounts, shm

    def _judge(self, run: Run) -> None:
        specs = self._specs(run)
        now = time.monotonic()
        for rep in run.replicas:
            if rep.state == "backoff" and now >= rep.due:
                try:
                    self._launch(run, rep, [r.slot for r in run.replicas])
                except LocalError as exc:
                    self._end_job(run, "Failed", "StartFailed", str(exc))
                    return
            if rep.state != "exited":
                continue
            policy = specs[rep.slot.role].get("restartPolicy", "Never")
            code = rep.exit_code or 0
            restart = policy == "Always" or (code != 0 and (
                policy == "OnFailure" or (policy == "ExitCode" and code >= 128)))
            if not restart:
                rep.state = "succeeded" if code == 0 else "failed"
                if code != 0:
                    self._end_job(run, "Failed", "Failed",
                                  f"{rep.slot.role.lower()} {rep.slot.replica_index} exited with status {code}")
                    return
                continue
            limit = (run.obj["spec"].get("runPolicy") or {}).get("backoffLimit")
            if limit is not None and run.restarts >= limit:
                rep.state = "failed"
                self._end_job(run, "Failed", "BackoffLimitExceeded",
                              f"{rep.slot.role.lower()} {rep.slot.replica_index} exited with status {code} and the job "
                              f"has been restarted {run.restarts} time(s) (backoffLimit {limit})")
                return
            run.restarts += 1
            rep.restarts += 1
            rep.state, rep.due = "backoff", now + _backoff(rep.restarts)
            run.phase = "Restarting"
        if run.phase == "Restarting" and all(r.state != "backoff" for r in run.replicas):
            run.phase = "Running"
        deadline = self._deadline(run)
        if deadline is not None and now - run.started_at >= deadline:
            self._end_job(run, "Failed", "DeadlineExceeded",
                          f"the job ran longer than its active deadline ({deadline}s)")
            return
        if self._succeeded(run, specs):
            self._end_job(run, "Succeeded", "Succeeded", "")

    def _succeeded(self, run: Run, specs: dict[str, Any]) -> bool:
        done = {(r.slot.role, r.slot.replica_index) for r in run.replicas if r.state == "succeeded"}
        for lead in ("Chief", "Master"):
            if lead in specs:
                return (lead, 0) in done
        workers = int(specs.get("Worker", {}).get("replicas", 0))
        if run.obj["spec"].get("successPolicy") == "AllWorkers":
            return all(("Worker", i) in done for i in range(workers))
        return ("Worker", 0) in done

    def _deadline(self, run: Run) -> Optional[float]:
        if run.kind not in JOB_KINDS or not run.started_at:
            return None
        return (run.obj["spec"].get("runPolicy") or {}).get("activeDeadlineSeconds")

    def _ttl(self, run: Run) -> Optional[float]:
        if run.kind not in JOB_KINDS or not run.finished:
            return None
        return (run.obj["spec"].get("runPolicy") or {}).get("ttlSecondsAfterFinished")

    def _end_job(self, run: Run, phase: str, reason: str, message: str) -> None:
        self._stop_replicas(run)
        self._finish(run, phase, reason, message)

    def _finish(self, run: Run, phase: str, reason: str, message: str) -> None:
        run.phase, run.reason, run.message = phase, reason, message
        run.completion_time = now_iso()
        run.finished_at = time.time()
        self._release(run)
        if run.kind in JOB_KINDS:
            self._record_finished(run)

    def _record_finished(self, run: Run) -> None:
        """Note in the experiment's record that this job was seen finished, as an apply on a cluster
        notes it: the planner then keeps it away once its TTL removed it, and a plan right after the
        job ended has nothing to write."""
        name = run.obj["metadata"]["name"]
        with self.store.apply_lock(self.experiment):
            current = self.store.object(self.experiment, run.kind, name)
            parent = self.store.parent(self.experiment)
            if not current or current["uid"] != run.uid or not parent:
                return
            annotations = parent["metadata"].setdefault("annotations", {})
            record = finished_jobs(parent)
            record[name] = spec_hash(run.obj["spec"])
            annotations[FINISHED_RECORD] = json.dumps(record, sort_keys=True, separators=(",", ":"))
            self.store.write_parent(self.experiment, parent)

    def _release(self, run: Run) -> None:
        if run.holds:
            run.holds = False
            self.ledger.release(run.uid, self._holding())

    def _maybe_expire(self, run: Run) -> None:
        ttl = self._ttl(run)
        if ttl is None or run.finished_at is None or time.time() < run.finished_at + ttl:
            return
        # The operator deletes the job; the experiment's record keeps its hash,
        # so the planner keeps it deleted until --rerun.
        name = run.obj["metadata"]["name"]
        with self.store.apply_lock(self.experiment):
            current = self.store.object(self.experiment, run.kind, name)
            if current and current["uid"] == run.uid:
                self.store.remove_object(self.experiment, run.kind, name)
        self.runs.pop(run.uid, None)
        run.gone = True
        shutil.rmtree(run.dir, ignore_errors=True)

    def _stop_replicas(self, run: Run) -> None:
        live = [r.proc for r in run.replicas if r.state == "running" and r.proc is not None and r.proc.poll() is None]
        for proc in live:
            self.runner.stop(proc, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for proc in live:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                self.runner.stop(proc, signal.SIGKILL)
                proc.wait()
        for rep in run.replicas:
            if rep.state in ("running", "backoff", "waiting"):
                rep.state = "stopped"
                rep.finished = rep.finished or now_iso()
                if rep.proc is not None and rep.proc.returncode is not None:
                    code = rep.proc.returncode
                    rep.exit_code = code if code >= 0 else 128 - code

    # --- TensorBoard, TF Serving ----------------------------------------------------------
    def _step_component(self, run: Run) -> None:
        container = run.obj["spec"]["template"]["spec"]["containers"][0]
        binary = (container.get("command") or ["?"])[0]
        if not run.replicas:
            if shutil.which(binary) is None:
                run.phase, run.reason = "Unavailable", "NotInstalled"
                run.message = _install_hint(binary)
                return
            ports = [p for p in container.get("ports") or []]
            local = distributed.free_ports(len(ports))
            run.urls = {p.get("name", str(p["containerPort"])): f"http://{distributed.HOST}:{port}"
                        if p.get("name") == "http" else f"{distributed.HOST}:{port}" for p, port in zip(ports, local)}
            argv = _local_ports(list(container.get("command") or []) + list(container.get("args") or []),
                                {p["containerPort"]: port for p, port in zip(ports, local)})
            rep = Replica(distributed.Slot("Server", 0, local[0] if local else 0), run.obj["metadata"]["name"])
            rep.argv = argv
            run.replicas = [rep]
            run.start_time = now_iso()
            run.phase, run.reason, run.message = "Running", "", ""
            try:
                self._launch(run, rep, [])
            except LocalError as exc:
                self._finish(run, "Failed", "StartFailed", str(exc))
            return
        rep = run.replicas[0]
        if rep.state == "exited":  # a Deployment's pod restarts, whatever its status
            rep.restarts += 1
            rep.state, rep.due = "backoff", time.monotonic() + _backoff(rep.restarts + 1)
            run.phase = "Restarting"
        elif rep.state == "backoff" and time.monotonic() >= rep.due:
            self._launch(run, rep, [])
            run.phase = "Running"


def _local_ports(argv: list[str], ports: dict[int, int]) -> list[str]:
    """The pod's fixed ports and 0.0.0.0 in a server's arguments, turned into free ones on 127.0.0.1."""
    out = []
    for i, arg in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if arg == "0.0.0.0":
            arg = distributed.HOST
        elif prev.startswith("--") and "port" in prev and arg.isdigit() and int(arg) in ports:
            arg = str(ports[int(arg)])
        elif arg.startswith("--") and "port=" in arg:
            flag, _, value = arg.partition("=")
            if value.isdigit() and int(value) in ports:
                arg = f"{flag}={ports[int(value)]}"
        out.append(arg)
    return out


def _install_hint(binary: str) -> str:
    if binary == "tensorboard":
        return "tensorboard is not installed here: `python3 -m pip install tensorboard`, then apply --local again"
    if binary == "tensorflow_model_server":
        return ("tf-serving is not available locally: tensorflow_model_server is not installed "
                "(https://www.tensorflow.org/tfx/serving/setup); the job runs without it")
    return f"{binary} is not installed here"


def _cpu(pod_spec: dict[str, Any]) -> Optional[str]:
    c = (pod_spec.get("containers") or [{}])[0]
    return ((c.get("resources") or {}).get("requests") or {}).get("cpu")


def start(store: Store, experiment: str) -> str:
    """Start the experiment's supervisor, detached, unless one is alive; wake it either way.

    Returns once the supervisor holds its lock (it says so on a pipe), so a
    status read right after apply never takes a starting supervisor for a
    dead one.
    """
    os.makedirs(store.dir(experiment), exist_ok=True)
    r, w = os.pipe()
    log = open(os.path.join(store.dir(experiment), "supervisor.log"), "ab")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arena_run.local.supervisor", store.root, experiment, str(w)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            pass_fds=(w,),
        )
    finally:
        os.close(w)
        log.close()
    with os.fdopen(r) as fh:
        word = fh.readline().strip()
    if word == "already":
        proc.wait()
        wake(store, experiment)
    elif word != "started":
        raise LocalError(f"the supervisor of {experiment} did not start; see {store.dir(experiment)}/supervisor.log")
    return word


def wake(store: Store, experiment: str) -> bool:
    """SIGHUP the experiment's live supervisor; False when there is none."""
    pid = (read_json(os.path.join(store.dir(experiment), "supervisor.json")) or {}).get("pid")
    if pid and store.supervisor_alive(experiment):
        try:
            os.kill(pid, signal.SIGHUP)
            return True
        except ProcessLookupError:
            pass
    return False


def main(argv: list[str]) -> int:
    root, experiment = argv[0], argv[1]
    ready = int(argv[2]) if len(argv) > 2 else None
    store = Store(root)
    sup = Supervisor(store, experiment)
    return sup.serve(ready)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
