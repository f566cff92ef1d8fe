"""The job controller with a TrainJob, driven through the runner seam (tests/local/test_job_controller.py's
machine): Trainer's torch variables, its JobSet's restart and success rules, in milliseconds."""

from __future__ import annotations

import signal

import pytest

from arena_run.local import trainer
from arena_run.render import render
from arena_run.spec.load import load_text

from .test_job_controller import Machine

TRAINJOB = 'type = "pytorch"\nengine = "trainer"\nworkers = 2\n'


@pytest.fixture
def machine(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("ARENA_RUN_LOCAL_CPUS", "64")
    return lambda extra="": Machine(str(tmp_path / "state"), TRAINJOB + extra)


def test_each_node_starts_with_trainers_torch_variables_in_its_working_directory(machine):
    m = machine('working_dir = "/work dir"\n[job.env]\nSEED = "7"')
    started = {c.launch.name: c.launch for c in m.runner.started}
    assert sorted(started) == ["exp-node-0-0", "exp-node-0-1"]  # JobSet's pod hostnames
    master = m.run.replicas[0].slot
    for rank, name in enumerate(sorted(started)):
        launch = started[name]
        assert launch.argv == ["sh", "-c", "cd '/work dir' && python train.py"]
        assert launch.working_dir == "/work dir"
        # The trainer's env first, then the torch plugin's in its order.
        assert list(launch.env.items())[:6] == [
            ("SEED", "7"), ("PET_NNODES", "2"), ("PET_NPROC_PER_NODE", "1"), ("PET_NODE_RANK", str(rank)),
            ("PET_MASTER_ADDR", "127.0.0.1"), ("PET_MASTER_PORT", str(master.port))]
        assert launch.env["HOSTNAME"] == name and launch.env["CUDA_VISIBLE_DEVICES"] == ""
    assert m.status()["phase"] == "Running"


def test_the_job_succeeds_when_every_node_has(machine):
    m = machine()
    m.exit("exp-node-0-0", 0)
    assert m.run.phase == "Running"  # node 0 alone decides nothing: JobSet waits for the whole Job
    m.exit("exp-node-0-1", 0)
    assert (m.run.phase, m.run.reason) == ("Succeeded", "Succeeded")


def test_a_failing_node_restarts_on_failure_until_the_jobs_backoff_limit_of_6(machine):
    m = machine()
    for restart in range(1, 7):
        m.exit("exp-node-0-1", 1)
        m.after(10)  # past any backoff
        assert (m.run.phase, m.run.restarts) == ("Running", restart)
    m.exit("exp-node-0-1", 1)
    assert (m.run.phase, m.run.reason) == ("Failed", "BackoffLimitExceeded")
    assert "node 1 exited with status 1" in m.run.message and "(backoffLimit 6)" in m.run.message
    assert m.runner.last("exp-node-0-0").signals == [signal.SIGTERM] and not m.runner.running()


def test_the_active_deadline_fails_the_job(machine):
    m = machine('active_deadline = "30s"')
    m.after(29.5)
    assert m.run.phase == "Running"
    m.after(0.5)
    assert (m.run.phase, m.run.reason) == ("Failed", "DeadlineExceeded")
    assert not m.runner.running()


def _job(extra: str) -> dict:
    (job,) = render(load_text(f'name = "exp"\n[job]\nimage = "x"\ncommand = "true"\n{TRAINJOB}{extra}'))
    return job


@pytest.mark.parametrize("extra, expected", [
    ("", "1"),  # no resources: max(1, 0 cores)
    ('cpu = "500m"', "1"),
    ('cpu = "1500m"', "2"),  # the CPU request rounded up, as Quantity.Value() rounds
    ('cpu = "4"', "4"),
    ('cpu = "4"\ngpus = 2', "auto"),  # GPUs: torchrun counts them
])
def test_nproc_per_node_as_trainers_torch_plugin_computes_it(extra, expected):
    assert trainer.proc_per_node(_job(extra)) == expected


def test_nproc_per_node_given_is_taken_as_it_is():
    job = _job('cpu = "4"')
    job["spec"]["trainer"]["numProcPerNode"] = 3
    assert trainer.proc_per_node(job) == "3"


@pytest.mark.parametrize("directory", ["/root", "/work dir", "/a && b", "/it's"])
def test_the_working_directory_is_the_one_the_rendered_command_changes_to(directory):
    assert trainer.working_dir(_job(f'working_dir = "{directory}"')) == directory


@pytest.mark.parametrize("command", [["python", "x.py"], ["sh", "-c", "python x.py"], ["sh", "-c", "cd '/x"]])
def test_a_command_that_does_not_change_directory_first_has_no_working_directory(command):
    job = _job("")
    job["spec"]["trainer"]["command"] = command
    assert trainer.working_dir(job) is None
