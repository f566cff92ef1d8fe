"""The job controller as a state machine, driven through the runner seam: no process runs, the clock is the test's.

The supervisor reconciles as it does in its loop (reap, step, write
status.json), but its runner starts FakeContainers whose exits the test
decides and its clock moves only when the test moves it, so restart
policies, backoff, backoffLimit, activeDeadlineSeconds and
ttlSecondsAfterFinished are checked in milliseconds.  tests/local/
test_lifecycle.py checks the same rules end to end with real processes.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
from typing import Optional

import pytest
from hypothesis import given, settings, strategies as st

from arena_run.local.runner import Handle, Launch
from arena_run.local.state import Store
from arena_run.local.supervisor import Supervisor
from arena_run.render import render
from arena_run.spec.load import load_text

_pids = itertools.count(50_000)


class FakeContainer:
    """A Handle whose exit the test decides (exit()); a signal from stop() ends it as it would a process."""

    def __init__(self, launch: Launch):
        self.launch = launch
        self.pid = next(_pids)
        self.returncode: Optional[int] = None
        self.signals: list[int] = []

    def exit(self, code: int) -> None:
        assert self.returncode is None, "a container exits once"
        self.returncode = code

    def poll(self) -> Optional[int]:
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.launch.argv, timeout or 0)
        return self.returncode


class FakeRunner:
    def __init__(self) -> None:
        self.started: list[FakeContainer] = []

    def start(self, launch: Launch) -> Handle:
        container = FakeContainer(launch)
        self.started.append(container)
        return container

    def stop(self, proc: Handle, sig: int = signal.SIGTERM) -> None:
        assert isinstance(proc, FakeContainer)
        proc.signals.append(sig)
        if proc.returncode is None:
            proc.returncode = -sig

    def running(self) -> list[FakeContainer]:
        return [c for c in self.started if c.returncode is None]

    def last(self, pod: str) -> FakeContainer:
        return [c for c in self.started if c.launch.name == pod][-1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0  # monotonic; a started_at of 0 would read as "not started"
        self.wall = 1.7e9

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


JOB = '''
name = "exp"
[job]
image = "python:3.12"
command = "python train.py"
{extra}
'''


class Machine:
    """One experiment's supervisor with a fake runner and clock, its job recorded as apply records it."""

    def __init__(self, root: str, extra: str):
        self.store = Store(root)
        self.runner = FakeRunner()
        self.clock = FakeClock()
        for obj in render(load_text(JOB.format(extra=extra))):
            self.store.put_object("exp", obj, new_run=True)
        self.supervisor = Supervisor(self.store, "exp", runner=self.runner, clock=self.clock)
        self.reconcile()

    def reconcile(self) -> None:
        """One wake of the supervisor's loop, and the next ones its timers make immediate (a backoff of 0)."""
        self.supervisor.reconcile()
        for _ in range(10):
            if self.supervisor._timeout() != 0:
                return
            self.supervisor.reconcile()
        raise AssertionError("the supervisor would spin: its timeout stays 0")

    @property
    def run(self):  # the one job run
        (run,) = self.supervisor.runs.values()
        return run

    def exit(self, pod: str, code: int) -> None:
        """A replica's container ends; the supervisor wakes (SIGCHLD) and reconciles."""
        self.runner.last(pod).exit(code)
        self.reconcile()

    def after(self, seconds: float) -> None:
        """Time passes until the supervisor's timer fires: it reconciles again."""
        self.clock.advance(seconds)
        self.reconcile()

    def status(self):
        return self.store.run_status("exp", self.run.uid)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("ARENA_RUN_LOCAL_CPUS", "64")
    return lambda extra="": Machine(str(tmp_path / "state"), extra)


def test_a_job_starts_each_replica_with_the_operators_variables(machine):
    m = machine("workers = 2\nchief = true")
    assert m.run.phase == "Running"
    started = {c.launch.name: c.launch for c in m.runner.started}
    assert sorted(started) == ["exp-chief-0", "exp-worker-0", "exp-worker-1"]
    worker = started["exp-worker-1"]
    assert worker.argv == ["sh", "-c", "python train.py"] and worker.env["HOSTNAME"] == "exp-worker-1"
    assert '"task":{"type":"worker","index":1}' in worker.env["TF_CONFIG"]
    assert worker.env["CUDA_VISIBLE_DEVICES"] == ""  # no GPU asked for: none given
    assert m.status()["phase"] == "Running"


@pytest.mark.parametrize("policy, code, restarts", [
    ("Never", 0, False), ("Never", 1, False),
    ("OnFailure", 0, False), ("OnFailure", 1, True), ("OnFailure", 137, True),
    ("ExitCode", 1, False), ("ExitCode", 127, False), ("ExitCode", 128, True), ("ExitCode", 137, True),
    ("Always", 0, True), ("Always", 2, True),
])
def test_restart_policy_decides_which_exits_restart(machine, policy, code, restarts):
    m = machine(f'restart_policy = "{policy}"\nbackoff_limit = 5')
    m.exit("exp-worker-0", code)
    if restarts:
        assert m.run.phase == "Running" and m.run.restarts == 1  # the first restart waits no backoff
        assert len(m.runner.started) == 2 and m.runner.running()
    else:
        assert len(m.runner.started) == 1
        assert (m.run.phase, m.run.reason) == (("Succeeded", "Succeeded") if code == 0 else ("Failed", "Failed"))


def test_restarts_back_off_and_stop_at_the_backoff_limit(machine):
    m = machine('restart_policy = "OnFailure"\nbackoff_limit = 3')
    m.exit("exp-worker-0", 3)
    assert len(m.runner.started) == 2  # restart 1: at once
    m.exit("exp-worker-0", 3)
    assert m.run.phase == "Restarting" and len(m.runner.started) == 2
    assert m.status()["replicas"][0]["state"] == "backoff"
    m.after(0.9)
    assert len(m.runner.started) == 2  # restart 2 waits 1 s
    m.after(0.1)
    assert m.run.phase == "Running" and len(m.runner.started) == 3
    m.exit("exp-worker-0", 3)
    m.after(1.9)
    assert len(m.runner.started) == 3  # restart 3 waits 2 s
    m.after(0.1)
    assert len(m.runner.started) == 4
    m.exit("exp-worker-0", 3)
    assert (m.run.phase, m.run.reason) == ("Failed", "BackoffLimitExceeded")
    assert "restarted 3 time(s) (backoffLimit 3)" in m.run.message
    assert len(m.runner.started) == 4 and not m.runner.running()


def test_a_restart_counts_against_the_job_across_replicas(machine):
    m = machine('workers = 2\nrestart_policy = "OnFailure"\nbackoff_limit = 1')
    m.exit("exp-worker-1", 1)  # restart 1 of the job
    assert m.run.restarts == 1 and m.run.phase == "Running"
    m.exit("exp-worker-0", 1)  # the limit is the job's, not the replica's
    assert (m.run.phase, m.run.reason) == ("Failed", "BackoffLimitExceeded")
    assert not m.runner.running() and m.runner.last("exp-worker-1").signals == [signal.SIGTERM]


def test_the_active_deadline_fails_the_job_and_stops_its_replicas(machine):
    m = machine('active_deadline = "30s"')
    assert m.supervisor._timeout() == 30  # the supervisor wakes for it without a signal
    m.after(29.5)
    assert m.run.phase == "Running"
    m.after(0.5)
    assert (m.run.phase, m.run.reason) == ("Failed", "DeadlineExceeded")
    assert m.runner.last("exp-worker-0").signals == [signal.SIGTERM]
    assert m.status()["replicas"][0]["state"] == "stopped"


def test_the_ttl_removes_a_finished_job_but_keeps_its_record(machine):
    m = machine('ttl_after_finished = "60s"')
    m.exit("exp-worker-0", 0)
    assert m.run.phase == "Succeeded"
    uid = m.run.uid
    assert m.supervisor._timeout() == 60 and not m.supervisor._idle()
    m.after(59)
    assert m.store.objects("exp")
    m.after(1)
    assert m.store.objects("exp") == [] and m.supervisor.runs == {}
    assert m.store.run_status("exp", uid) is None and uid not in m.store.run_ids("exp")
    assert m.supervisor._idle()


@pytest.mark.parametrize("extra, exits, phase", [
    ("workers = 2", [("exp-worker-1", 0)], "Running"),  # worker 0 decides
    ("workers = 2", [("exp-worker-0", 0)], "Succeeded"),
    ("workers = 2\nchief = true", [("exp-worker-0", 0)], "Running"),  # the chief decides
    ("workers = 2\nchief = true", [("exp-chief-0", 0)], "Succeeded"),
    ('workers = 2\nsuccess_policy = "AllWorkers"', [("exp-worker-0", 0)], "Running"),
    ('workers = 2\nsuccess_policy = "AllWorkers"', [("exp-worker-0", 0), ("exp-worker-1", 0)], "Succeeded"),
    ("workers = 2", [("exp-worker-1", 2)], "Failed"),  # any replica failing for good fails the job
])
def test_success_as_the_operator_decides_it(machine, extra, exits, phase):
    m = machine(extra)
    for pod, code in exits:
        m.exit(pod, code)
    assert m.run.phase == phase
    if phase != "Running":
        assert not m.runner.running()  # the rest are stopped


@settings(max_examples=60, deadline=None)
@given(policy=st.sampled_from(["Never", "OnFailure", "ExitCode", "Always"]),
       limit=st.integers(0, 4),
       codes=st.lists(st.sampled_from([0, 1, 3, 128, 137, 143]), min_size=1, max_size=8))
def test_any_sequence_of_exits_keeps_the_controllers_promises(tmp_path_factory, policy, limit, codes):
    root = tmp_path_factory.mktemp("sm")
    m = Machine(str(root / "state"), f'restart_policy = "{policy}"\nbackoff_limit = {limit}')
    for code in codes:
        if m.run.finished:
            break
        m.exit("exp-worker-0", code)
        m.after(10)  # past any backoff
    run, status = m.run, m.status()
    # Every start after the first is a restart, and restarts stay within the limit.
    assert len(m.runner.started) == 1 + run.restarts <= 1 + limit
    assert status["restarts"] == run.restarts and status["phase"] == run.phase
    if policy == "Never":
        assert run.restarts == 0
    if run.finished:
        assert not m.runner.running()  # a finished job leaves nothing running
        last = m.runner.started[-1].returncode
        if run.reason == "BackoffLimitExceeded":
            assert run.restarts == limit and policy != "Never"  # an exit it would restart, one too many
        else:
            assert run.phase == ("Succeeded" if last == 0 else "Failed")
    else:
        assert len(m.runner.running()) == 1 and run.phase == "Running"


class LateExit(FakeContainer):
    """A container that ends by itself (status `code`) after the supervisor's reap looked at it: the race
    of a worker finishing as its master does."""

    def __init__(self, launch: Launch, code: int):
        super().__init__(launch)
        self.code, self.looks = code, 0

    def poll(self) -> Optional[int]:
        self.looks += 1
        if self.looks > 1 and self.returncode is None:
            self.returncode = self.code
        return self.returncode


@pytest.mark.parametrize("code, state", [(0, "succeeded"), (1, "failed")])
def test_a_replica_that_ends_by_itself_as_the_job_ends_keeps_its_own_exit(machine, code, state):
    m = machine('type = "pytorch"\nworkers = 2')  # a master and a worker, as examples/quickstart
    worker = m.runner.last("exp-worker-0")
    late = LateExit(worker.launch, code)
    m.runner.started[m.runner.started.index(worker)] = late
    m.run.replicas[1].proc = late
    m.exit("exp-master-0", 0)  # the job succeeds; the worker ends meanwhile, unsignalled
    assert m.run.phase == "Succeeded"
    assert late.signals == []
    rep = m.status()["replicas"][1]
    assert (rep["state"], rep["exitCode"]) == (state, code)


def test_a_replica_that_exited_with_the_one_that_failed_the_job_is_not_left_running(machine):
    m = machine('type = "pytorch"\nworkers = 2')
    m.runner.last("exp-worker-0").exit(0)
    m.exit("exp-master-0", 1)  # both ended before this wake: the master's failure ends the job
    assert (m.run.phase, m.run.reason) == ("Failed", "Failed")
    states = {r["pod"]: (r["state"], r["exitCode"]) for r in m.status()["replicas"]}
    assert states == {"exp-master-0": ("failed", 1), "exp-worker-0": ("succeeded", 0)}


def test_a_replica_whose_status_is_0_succeeded_even_when_stopped(machine):
    m = machine('type = "pytorch"\nworkers = 2')
    worker = m.runner.last("exp-worker-0")
    real_stop = m.runner.stop

    def stop(proc, sig=signal.SIGTERM):
        real_stop(proc, sig)
        if proc is worker:
            proc.returncode = 0  # it was exiting 0 by itself anyway
    m.runner.stop = stop
    m.exit("exp-master-0", 0)
    assert worker.signals == [signal.SIGTERM]
    rep = m.status()["replicas"][1]
    assert (rep["state"], rep["exitCode"]) == ("succeeded", 0)


def test_an_error_stepping_a_run_fails_it_with_the_reason_and_stops_its_replicas(machine, monkeypatch):
    m = machine("workers = 2")

    def broken(run):
        raise KeyError("tfReplicaSpecs")
    monkeypatch.setattr(m.supervisor.jobs, "_judge", broken)
    m.exit("exp-worker-1", 0)
    status = m.status()
    assert (status["phase"], status["reason"]) == ("Failed", "SupervisorError")
    assert status["message"].startswith("KeyError: 'tfReplicaSpecs' (the supervisor's traceback is in ")
    assert not m.runner.running()


def test_an_os_error_at_start_fails_the_job_as_start_failed(tmp_path, monkeypatch):
    from arena_run.local import code

    def fifo(*_):
        import shutil

        raise shutil.SpecialFileError("`/src/pipe` is a named pipe")
    monkeypatch.setattr(code, "sync", fifo)
    m = Machine(str(tmp_path / "state"), "")
    assert (m.run.phase, m.run.reason, m.run.message) == ("Failed", "StartFailed", "`/src/pipe` is a named pipe")
    assert m.runner.started == []


def test_sigterm_while_starting_many_replicas_stops_at_once(tmp_path):
    class Interrupted(FakeRunner):  # SIGTERM arrives while the third replica starts
        def start(self, launch):
            if len(self.started) == 2:
                m_supervisor._terminate()
            return super().start(launch)

    store = Store(str(tmp_path / "state"))
    for obj in render(load_text(JOB.format(extra="workers = 40"))):
        store.put_object("exp", obj, new_run=True)
    runner = Interrupted()
    m_supervisor = Supervisor(store, "exp", runner=runner, clock=FakeClock())
    m_supervisor.reconcile()
    assert len(runner.started) == 3  # not 40
    m_supervisor._shutdown()
    (run,) = m_supervisor.runs.values()
    assert (run.phase, run.reason) == ("Failed", "SupervisorStopped")
    assert not runner.running()
    assert {r.state for r in run.replicas} == {"stopped"}
