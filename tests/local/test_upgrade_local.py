"""Upgrades against real local state (issue 17): what an older release left in $XDG_STATE_HOME, planned and
applied by today's arena-run with the files unchanged.

The state files are the release's own (tests/fixtures/upgrade, recorded by
`tests/cluster/record-live DIR --upgrade TREE` while its jobs ran).  Its
supervisors are still alive after an upgrade (a `pip install -U` does not stop
them), but their code is the old release's, which CI does not have: each is
stood in for by a process that does what an old supervisor does towards
today's arena-run: it holds the lock that release's supervisor held, its pid
is in supervisor.json, and a SIGHUP (apply woke it) does not end it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from arena_run import __version__
from tests.upgrade_fixtures import edit, files, releases, write_local_state

each_release = pytest.mark.parametrize("release", releases("local"))
SWEEP_POINTS = {"upg-bf67668e", "upg-9c9ba942"}

# Holds the lock file (0.1.0: supervisor.lock) or directory it is given, says "ready", and lives until its stdin closes.
OLD_SUPERVISOR = """
import fcntl, os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_IGN)
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY if os.path.isdir(path) else os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def old_supervisors():
    procs: list[subprocess.Popen] = []

    def start(experiment_dir, lock_name):
        proc = subprocess.Popen([sys.executable, "-c", OLD_SUPERVISOR, os.path.join(experiment_dir, lock_name)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline() == "ready\n"
        record = os.path.join(experiment_dir, "supervisor.json")
        with open(record) as fh:
            old = json.load(fh)
        with open(record, "w") as fh:
            json.dump({**old, "pid": proc.pid}, fh)
        return proc

    yield start
    for proc in procs:  # each by its own pid; delete may have ended it already (SIGTERM)
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=30)


def upgraded(local, release, old_supervisors):
    """The release's state and files, its supervisors alive: the files' paths, {experiment: supervisor}."""
    written = write_local_state(release, local.tmp)
    experiments = local.state / "arena-run" / "experiments"
    lock = "supervisor.lock" if release.startswith("0.1.") else "."
    supervisors = {name: old_supervisors(str(experiments / name), lock)
                   for name in sorted({rel.split("/")[0] for rel in written})}
    return files("local", local.tmp / "files"), supervisors


def recorded(local) -> dict[str, bytes]:
    root = local.state / "arena-run" / "experiments"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def uids(local, name) -> dict[str, str]:
    return {e["object"]["metadata"]["name"]: e["uid"] for e in local.store().objects(name)}


def assert_status_agrees_with_plan(local, paths):
    for path in paths:
        code = local.cli("plan", "--local", "--detailed-exitcode", path).returncode
        assert code in (0, 2), code
        name = os.path.basename(os.path.dirname(path))
        assert (local.status(name)["sync"] == "in sync") == (code == 0), (name, local.status(name)["sync"], code)


@each_release
def test_an_unchanged_file_restarts_no_running_job_after_an_upgrade(local, release, old_supervisors):
    paths, supervisors = upgraded(local, release, old_supervisors)
    for name in ("upg", "tfdist"):
        assert local.status(name)["phase"] == "Running", local.status(name)  # the old supervisor's runs
    before = {name: uids(local, name) for name in ("upg", "tfdist", "serve")}

    result = local.cli("plan", "--local", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in SWEEP_POINTS:
        assert re.search(rf"^\s*! PyTorchJob {name}\b", result.stdout, re.M), result.stdout
    assert f"arena-run {__version__} renders this differently (job.env); your file is unchanged" in result.stdout
    assert not re.search(r"^\s*(-/\+|-) ", result.stdout, re.M), result.stdout  # no replacement, no deletion

    result = local.cli("apply", "--local", "-y", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Started" not in result.stdout
    assert {name: uids(local, name) for name in before} == before  # not one run replaced
    assert local.status("upg")["phase"] == "Running" and local.status("upg")["sync"] == "deferred until the job ends"
    assert_status_agrees_with_plan(local, paths)
    for name, proc in supervisors.items():  # the old supervisors are in charge still: none was started beside them
        with open(local.state / "arena-run" / "experiments" / name / "supervisor.json") as fh:
            assert json.load(fh)["pid"] == proc.pid and proc.poll() is None, name


@each_release
def test_an_edit_after_the_upgrade_is_a_replacement_that_needs_consent(local, release, old_supervisors):
    paths, _ = upgraded(local, release, old_supervisors)
    upg = edit(paths, "upg", 'command = "sleep 3600"', 'command = "sleep 7200"')
    result = local.cli("plan", "--local", upg)
    for name in SWEEP_POINTS:  # the user's edit: a replacement, not the renderer's deferral
        assert re.search(rf"^\s*-/\+ PyTorchJob {name}\s+forces replacement: job.command", result.stdout, re.M), \
            result.stdout
    before = recorded(local)

    result = local.cli("apply", "--local", "-y", upg)
    assert result.returncode == 3, result.stdout + result.stderr
    refused = [x for x in result.stderr.splitlines() if x.startswith("refused:")]
    assert len(refused) == 2 and all("is Running" in x and "--replace-running" in x for x in refused), result.stderr
    assert recorded(local) == before  # nothing written

    old = uids(local, "upg")
    result = local.cli("apply", "--local", "-y", "--replace-running", upg)
    assert result.returncode == 0, result.stdout + result.stderr
    new = uids(local, "upg")
    assert all(new[n] != old[n] for n in SWEEP_POINTS) and new["upg-tensorboard"] == old["upg-tensorboard"]


def test_an_older_arena_run_refuses_what_this_one_wrote(local):
    """Downgrade: this version's record, then an arena-run that believes it is older: one line, nothing written."""
    (path,) = [p for p in files("local", local.tmp / "files") if p.endswith("/serve/arena.toml")]
    local.cli("apply", "--local", "-y", path, check=True)
    before = recorded(local)
    older = "0.1.0"
    proc = subprocess.run(
        [sys.executable, "-c", f"import arena_run._version as v; v.__version__ = {older!r}; "
         "from arena_run.cli import main; raise SystemExit(main())", "apply", "--local", "-y", path],
        capture_output=True, text=True, timeout=120, env=local.env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line, last = proc.stderr.strip().splitlines()[-2:]
    assert re.fullmatch(rf"error: ConfigMap local/arena-run-serve was written by arena-run {re.escape(__version__)}, "
                        rf"newer than this arena-run {older}; .*", line.strip()), proc.stderr
    assert last == "Nothing was applied." and "Traceback" not in proc.stderr
    assert recorded(local) == before


@each_release
def test_an_edit_that_leaves_a_sweep_point_alone_still_defers_that_point(local, release, old_supervisors):
    """Per member: a new sweep point is the file's (created), the recorded ones only the renderer's (deferred)."""
    paths, _ = upgraded(local, release, old_supervisors)
    upg = edit(paths, "upg", "lr = [1e-5, 0.10]", "lr = [1e-5, 0.10, 0.5]")
    before = uids(local, "upg")
    result = local.cli("plan", "--local", upg)
    assert re.search(r"^\s*\+ PyTorchJob upg-\w+\s*$", result.stdout, re.M), result.stdout
    for name in SWEEP_POINTS:
        assert re.search(rf"^\s*! PyTorchJob {name}\s+deferred until the job ends: arena-run {re.escape(__version__)} "
                         r"renders this differently \(job.env\); your edits do not change it", result.stdout,
                         re.M), result.stdout
    result = local.cli("apply", "--local", "-y", upg)
    assert result.returncode == 0, result.stdout + result.stderr
    after = uids(local, "upg")
    assert {n: after[n] for n in before} == before and len(after) == len(before) + 1
