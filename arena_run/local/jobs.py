"""The job controller: what the training operator does with a TFJob or PyTorchJob (and Kubeflow
Trainer, through its JobSet, with a TrainJob), as a state machine.

`JobController.step(run)` moves one run on from what its replicas did
(kubelet.reap reported their exits) and the clock says:

    Pending ──admitted (GPUs, cores)──▶ Running ◀──backoff over──┐
       │                                  │  a replica exited     │
       │ more GPUs than the machine has    ├─ restart (policy, within backoffLimit) ─▶ Restarting
       ▼                                  ├─ for good, or backoffLimit reached ──▶ Failed
     Failed (Unschedulable)               ├─ past activeDeadlineSeconds ──▶ Failed (DeadlineExceeded)
                                          └─ the success policy holds ──▶ Succeeded
    Succeeded / Failed ── ttlSecondsAfterFinished later ──▶ removed (its record stays)

Restart policies as the operator reads them: Always restarts any exit,
OnFailure a non-zero one, ExitCode only 128 and above (the retryable ones);
each restart counts against the job's backoffLimit.  Success as the operator
decides it: the chief or master when there is one, else worker 0 (every
worker with successPolicy AllWorkers).  Either way the rest are stopped.
A TrainJob's nodes restart OnFailure within a backoffLimit of 6 and its
deadline is its activeDeadlineSeconds (objects.jobs.run_policy: its JobSet's
Job's defaults); it succeeds when every node has (JobSet's success policy
All over the one Indexed Job of the node replicated job).

The controller starts and stops nothing itself: the Kubelet does, through
its Runner, so tests drive this machine with a runner of fake processes and
a clock of their own.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any, Optional, Protocol

from ..objects.applyset import FINISHED_JOBS, finished_jobs, spec_hash
from ..objects.gpus import pod_gpus
from ..objects.jobs import pod_hostname, replica_specs, run_policy
from . import distributed, gpus as gpu_inventory
from .kubelet import Kubelet
from .resources import Ledger, cores_of
from .runs import Replica, Run
from .state import Damaged, LocalError, Store, describe, now_iso

PENDING_RECHECK = 0.5  # a waiting run asks the ledger again this often (others' releases do not wake it)


class Clock(Protocol):
    def monotonic(self) -> float: ...  # for deadlines and backoff

    def time(self) -> float: ...  # wall clock, for the TTL (it outlives a supervisor)


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


def backoff(restarts: int) -> float:
    """Seconds before the n-th restart of a replica: at once, then 1, 2, 4... up to 10."""
    return 0.0 if restarts <= 1 else min(2.0 ** (restarts - 2), 10.0)


class JobController:
    """Steps the experiment's job runs; `runs` is the supervisor's table of every run (jobs and components)."""

    def __init__(self, store: Store, experiment: str, kubelet: Kubelet, runs: dict[str, Run],
                 clock: Optional[Clock] = None, ledger: Optional[Ledger] = None):
        self.store, self.experiment = store, experiment
        self.kubelet = kubelet
        self.runs = runs
        self.clock: Clock = clock or SystemClock()
        self.ledger = ledger or Ledger(store, experiment)
        self.inventory: Optional[gpu_inventory.Inventory] = None

    def step(self, run: Run) -> None:
        if run.finished or run.phase == "Unavailable":
            self._maybe_expire(run)
            return
        if not run.replicas:
            try:
                if not self._admit(run):
                    return
                self._start(run)
            except (LocalError, OSError) as exc:  # a file, a mount, the ledger: the job cannot start
                self.kubelet.stop(run)
                self.finish(run, "Failed", "StartFailed", describe(exc))
                return
        self._judge(run)

    def wait(self, run: Run) -> Optional[float]:
        """Seconds until this run must be stepped again though nothing woke the supervisor; None: never."""
        now, wall = self.clock.monotonic(), self.clock.time()
        waits = []
        if run.phase == "Pending":
            waits.append(PENDING_RECHECK)
        for r in run.replicas:
            if r.state == "backoff":
                waits.append(max(r.due - now, 0))
        deadline = self.deadline(run)
        if deadline is not None and not run.finished:
            waits.append(max(run.started_at + deadline - now, 0))
        ttl = self.ttl(run)
        if ttl is not None and run.finished_at is not None:
            waits.append(max(run.finished_at + ttl - wall, 0))
        return min(waits) if waits else None

    def deadline(self, run: Run) -> Optional[float]:
        if not run.started_at:
            return None
        return run_policy(run.obj).get("activeDeadlineSeconds")

    def ttl(self, run: Run) -> Optional[float]:
        if not run.finished:
            return None
        return run_policy(run.obj).get("ttlSecondsAfterFinished")

    def end(self, run: Run, phase: str, reason: str, message: str) -> None:
        """Stop what still runs, then finish."""
        self.kubelet.stop(run)
        self.finish(run, phase, reason, message)

    def finish(self, run: Run, phase: str, reason: str, message: str) -> None:
        run.phase, run.reason, run.message = phase, reason, message
        run.completion_time = now_iso()
        run.finished_at = self.clock.time()
        self.release(run)
        self._record_finished(run)

    def release(self, run: Run) -> None:
        if run.holds:
            run.holds = False
            self.ledger.release(run.uid, self._holding())

    # --- admission ----------------------------------------------------------------------
    def _needs(self, run: Run, slots: list[distributed.Slot]) -> list[int]:
        specs = replica_specs(run.obj)
        return [pod_gpus(specs[s.role]["template"]["spec"]) for s in slots]

    def _admit(self, run: Run) -> bool:
        slots = distributed.slots(run.obj, own_network=self.kubelet.own_network(run))
        run.replicas = []
        needs = self._needs(run, slots)
        if sum(needs):
            if self.inventory is None:
                self.inventory = gpu_inventory.detect()
            visible = [g.uuid for g in self.inventory.gpus]
            if sum(needs) > len(visible):
                self.finish(run, "Failed", "Unschedulable",
                            f"needs {sum(needs)} GPUs, this machine has {len(visible)}"
                            + (f" ({self.inventory.note})" if self.inventory.note else ""))
                return False
        else:
            visible = []
        specs = replica_specs(run.obj)
        cores = sum(cores_of(_cpu(specs[s.role]["template"]["spec"])) for s in slots)
        given, why = self.ledger.admit(run.uid, needs, cores, visible, self._holding())
        if given is None:
            run.reason, run.message = "Unschedulable", why or ""  # why: always given with no GPUs given
            return False
        run.holds = True
        run.reason, run.message = "", ""
        for slot, gpu_ids in zip(slots, given):
            rep = Replica(slot, pod_hostname(run.obj, slot.role, slot.replica_index))
            rep.gpus = gpu_ids
            run.replicas.append(rep)
        return True

    def _holding(self) -> set[str]:
        return {uid for uid, r in self.runs.items() if r.holds}

    # --- running --------------------------------------------------------------------------
    def _start(self, run: Run) -> None:
        specs = replica_specs(run.obj)
        self.kubelet.init(run, next(iter(specs.values()))["template"]["spec"])
        run.start_time = now_iso()
        run.started_at = self.clock.monotonic()
        run.phase = "Running"
        for rep in run.replicas:
            if self.kubelet.stopping:  # the supervisor is going: the rest stay waiting, then are stopped
                return
            self._launch(run, rep)

    def _launch(self, run: Run, rep: Replica) -> None:
        template = distributed.launch_template(run.obj, rep.slot.role)
        slots = [r.slot for r in run.replicas]
        self.kubelet.start(run, rep, template, distributed.operator_env(run.obj, slots, rep.slot), rep.gpus)

    def _judge(self, run: Run) -> None:
        specs = replica_specs(run.obj)
        now = self.clock.monotonic()
        for rep in run.replicas:
            if rep.state == "backoff" and now >= rep.due:
                try:
                    self._launch(run, rep)
                except (LocalError, OSError) as exc:
                    self.end(run, "Failed", "StartFailed", describe(exc))
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
                    self.end(run, "Failed", "Failed",
                             f"{rep.slot.role.lower()} {rep.slot.replica_index} exited with status {code}")
                    return
                continue
            limit = run_policy(run.obj).get("backoffLimit")
            if limit is not None and run.restarts >= limit:
                rep.state = "failed"
                self.end(run, "Failed", "BackoffLimitExceeded",
                         f"{rep.slot.role.lower()} {rep.slot.replica_index} exited with status {code} and the job "
                         f"has been restarted {run.restarts} time(s) (backoffLimit {limit})")
                return
            run.restarts += 1
            rep.restarts += 1
            rep.state, rep.due = "backoff", now + backoff(rep.restarts)
            run.phase = "Restarting"
        if run.phase == "Restarting" and all(r.state != "backoff" for r in run.replicas):
            run.phase = "Running"
        deadline = self.deadline(run)
        if deadline is not None and now - run.started_at >= deadline:
            self.end(run, "Failed", "DeadlineExceeded", f"the job ran longer than its active deadline ({deadline}s)")
            return
        if _succeeded(run, specs):
            self.end(run, "Succeeded", "Succeeded", "")

    # --- finished -------------------------------------------------------------------------
    def _record_finished(self, run: Run) -> None:
        """Note in the experiment's record that this job was seen finished, as an apply on a cluster
        notes it: the planner then keeps it away once its TTL removed it, and a plan right after the
        job ended has nothing to write."""
        name = run.obj["metadata"]["name"]
        with self.store.apply_lock(self.experiment):
            current = self.store.object(self.experiment, run.kind, name)
            try:
                parent = self.store.parent(self.experiment)
            except Damaged:  # the job's end is its own; apply --adopt writes the record again, from it
                return
            if not current or current["uid"] != run.uid or not parent:
                return
            annotations = parent["metadata"].setdefault("annotations", {})
            record = finished_jobs(parent)
            record[name] = spec_hash(run.obj["spec"])
            annotations[FINISHED_JOBS] = json.dumps(record, sort_keys=True, separators=(",", ":"))
            self.store.write_parent(self.experiment, parent)

    def _maybe_expire(self, run: Run) -> None:
        ttl = self.ttl(run)
        if ttl is None or run.finished_at is None or self.clock.time() < run.finished_at + ttl:
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


def _succeeded(run: Run, specs: dict[str, Any]) -> bool:
    done = {(r.slot.role, r.slot.replica_index) for r in run.replicas if r.state == "succeeded"}
    for lead in ("Chief", "Master"):
        if lead in specs:
            return (lead, 0) in done
    if "Node" in specs:  # a TrainJob: all of its nodes
        return all(("Node", i) in done for i in range(int(specs["Node"].get("replicas", 1))))
    workers = int(specs.get("Worker", {}).get("replicas", 0))
    if run.obj["spec"].get("successPolicy") == "AllWorkers":
        return all(("Worker", i) in done for i in range(workers))
    return ("Worker", 0) in done


def _cpu(pod_spec: dict[str, Any]) -> Optional[str]:
    c = (pod_spec.get("containers") or [{}])[0]
    return ((c.get("resources") or {}).get("requests") or {}).get("cpu")
