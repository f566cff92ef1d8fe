"""One small detached process per experiment: the daemon that hosts its controllers and kubelet.

`python -m arena_run.local.supervisor STATE_DIR EXPERIMENT [READY_FD]`, started
by apply.  It holds the experiment's directory locked for its whole life (so
any CLI can tell whether it is alive), reads the desired objects apply wrote
(objects/), and on every wake reconciles them as a cluster's control plane
would, each part in the role Kubernetes gives it:

- jobs.py, the job controller (the training operator): admission to the
  machine's GPUs and cores, restarts within backoffLimit, success policy,
  activeDeadlineSeconds, ttlSecondsAfterFinished;
- components.py, the Deployment controller: TensorBoard and TF Serving kept
  running when installed, else why not;
- kubelet.py: a pod's env, mounts and ports, its container started, reaped
  and stopped through a Runner (runner.py);
- runs.py: what each run is, as status.json records it for every reader.

It wakes on SIGCHLD (a replica ended), SIGHUP (apply changed something) and
the controllers' timers, and exits when nothing is left to run or watch.
Its replicas die with it (parent-death signal), so a killed supervisor leaves
no process behind, and every reader reports its unfinished runs as lost,
never Running.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import subprocess
import sys
import traceback
from typing import Any, Optional

from .components import ComponentController
from .jobs import Clock, JobController
from .kubelet import Kubelet
from .paths import NotRegular, check_regular, open_log
from .runner import ProcessRunner, Runner
from .distributed import LOCAL_JOB_KIND_NAMES
from .runs import COMPONENT_KINDS, Run
from .state import Damaged, LocalError, Store, describe, now_iso, write_json


class Supervisor:
    def __init__(self, store: Store, experiment: str, runner: Optional[Runner] = None,
                 clock: Optional[Clock] = None):
        self.store, self.experiment = store, experiment
        self.kubelet = Kubelet(runner or ProcessRunner(), experiment, store.root)
        self.runs: dict[str, Run] = {}
        self.jobs = JobController(store, experiment, self.kubelet, self.runs, clock)
        self.components = ComponentController(self.kubelet, clock)
        self.stopping = False

    # --- the loop ---------------------------------------------------------------------
    def serve(self, ready_fd: Optional[int] = None) -> int:
        lock = os.open(self.store.supervisor_lock_path(self.experiment), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._ready(ready_fd, "already")
            return 0  # another supervisor of this experiment is alive: it was woken instead
        if self.store.legacy_supervisor_alive(self.experiment):
            self._ready(ready_fd, "already")  # one from before an upgrade runs the replicas: it stays in charge
            return 0
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
            except Exception as exc:  # not one run's fault (the state itself): every run learns why
                traceback.print_exc()
                self._fail_all(exc)
                break
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
                   if e["object"]["kind"] in LOCAL_JOB_KIND_NAMES + COMPONENT_KINDS):
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
        # Checked between runs and between the replicas of one: a supervisor busy starting many
        # stops within one start (delete waits for it).
        self.stopping = True
        self.kubelet.stopping = True

    def _idle(self) -> bool:
        for run in self.runs.values():
            if not run.finished and run.phase != "Unavailable":
                return False
            if run.finished and run.is_job and self.jobs.ttl(run) is not None:
                return False
        return True

    def _timeout(self) -> Optional[float]:
        waits = [w for run in self.runs.values()
                 if (w := (self.jobs.wait(run) if run.is_job else self.components.wait(run))) is not None]
        return min(waits) if waits else None

    def _shutdown(self) -> None:
        for run in self.runs.values():
            if not run.finished and run.phase != "Unavailable":
                self.kubelet.stop(run)
                self._finish(run, "Failed", "SupervisorStopped", "the supervisor was stopped (SIGTERM)")
            try:
                self._write(run)
            except OSError:  # its directory went with a delete
                traceback.print_exc()

    # --- reconcile ----------------------------------------------------------------------
    def reconcile(self) -> None:
        entries = {e["uid"]: e for e in self.store.objects(self.experiment)
                   if e["object"]["kind"] in LOCAL_JOB_KIND_NAMES + COMPONENT_KINDS}
        for uid in list(self.runs):
            if uid not in entries:
                self._drop(self.runs.pop(uid))
        for uid, entry in entries.items():
            if uid not in self.runs:
                self.runs[uid] = self._load(entry)
        for run in list(self.runs.values()):
            if self.stopping:
                return
            try:
                self.kubelet.reap(run)
                if run.is_job:
                    self.jobs.step(run)
                else:
                    self.components.step(run)
            except Exception as exc:  # one bad object must not take every run down with the supervisor
                traceback.print_exc()
                self._fail(run, exc)
            self._write(run)

    def _fail(self, run: Run, exc: BaseException) -> None:
        """A run the supervisor could not step: Failed with the reason in one line, nothing of it left running."""
        try:
            self.kubelet.stop(run)
        except Exception:
            traceback.print_exc()
        why = f"{describe(exc)} (the supervisor's traceback is in {self.store.dir(self.experiment)}/supervisor.log)"
        try:
            self._finish(run, "Failed", "SupervisorError", why)
        except Exception:  # finishing failed too (the record): the run's own status still says why
            traceback.print_exc()
            run.phase, run.reason, run.message, run.completion_time = "Failed", "SupervisorError", why, now_iso()

    def _fail_all(self, exc: BaseException) -> None:
        for run in self.runs.values():
            if not run.finished and run.phase != "Unavailable":
                self._fail(run, exc)

    def _load(self, entry: dict[str, Any]) -> Run:
        run = Run(entry, self.store.run_dir(self.experiment, entry["uid"]))
        try:
            old = self.store.run_status(self.experiment, run.uid)
        except Damaged as exc:  # written by a supervisor that died (this one writes it whole)
            self._finish(run, "Failed", "StatusDamaged", f"{exc}: the run's state is lost; apply --rerun runs it again")
            return run
        if old:
            try:
                run.restore(old)
            except (KeyError, TypeError, ValueError, AttributeError):
                run = Run(entry, run.dir)
                self._finish(run, "Failed", "StatusDamaged", f"{run.dir}/status.json is not a run's status arena-run "
                             "wrote: the run's state is lost; apply --rerun runs it again")
                return run
            if not run.finished and (run.phase != "Pending" or run.replicas):
                # Started by a supervisor that died: its replicas died with it.
                for rep in run.replicas:
                    if rep.state == "running":
                        rep.state = "failed"
                self._finish(run, "Failed", "SupervisorLost",
                             f"the supervisor (pid {old.get('supervisor')}) died while the job ran")
        return run

    def _finish(self, run: Run, phase: str, reason: str, message: str) -> None:
        if run.is_job:
            self.jobs.finish(run, phase, reason, message)
        else:
            self.components.finish(run, phase, reason, message)

    def _write(self, run: Run) -> None:
        if not run.gone:
            write_json(os.path.join(run.dir, "status.json"), run.to_dict())

    def _drop(self, run: Run) -> None:
        """The object went (delete, replace, TTL): stop its processes, forget it, remove its files."""
        self.kubelet.stop(run)
        self.jobs.release(run)
        run.gone = True
        shutil.rmtree(run.dir, ignore_errors=True)


def start(store: Store, experiment: str) -> str:
    """Start the experiment's supervisor, detached, unless one is alive; wake it either way.

    Returns once the supervisor holds its lock (it says so on a pipe), so a
    status read right after apply never takes a starting supervisor for a
    dead one.
    """
    os.makedirs(store.dir(experiment), exist_ok=True)
    r, w = os.pipe()
    try:
        log = open_log(log_path(store, experiment))
    except NotRegular as exc:
        raise LocalError(f"{exc}: remove it, then apply again") from None
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


def log_path(store: Store, experiment: str) -> str:
    return os.path.join(store.dir(experiment), "supervisor.log")


def check_log(store: Store, experiment: str) -> None:
    """LocalError unless the supervisor's log can be appended to (apply asks before it writes anything)."""
    try:
        check_regular(log_path(store, experiment))
    except NotRegular as exc:
        raise LocalError(f"{exc}: remove it, then apply again") from None


def wake(store: Store, experiment: str) -> bool:
    """SIGHUP the experiment's live supervisor; False when there is none."""
    return store.wake_supervisor(experiment)


def main(argv: list[str]) -> int:
    root, experiment = argv[0], argv[1]
    ready = int(argv[2]) if len(argv) > 2 else None
    store = Store(root)
    sup = Supervisor(store, experiment)
    return sup.serve(ready)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
