"""`down` must stop only what `up` started: by PID, and only while that PID
still runs the recorded binary. No control plane needed."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arena_testcluster import procs  # noqa: E402


def _sleeper(tmp_path: Path) -> int:
    (tmp_path / "logs").mkdir(exist_ok=True)
    return procs.start(tmp_path, "sleeper", [shutil.which("sleep"), "60"])


def test_stop_signals_the_recorded_process(tmp_path):
    pid = _sleeper(tmp_path)
    assert procs.alive(tmp_path, "sleeper")
    procs.stop(tmp_path, "sleeper")
    assert not procs.alive(tmp_path, "sleeper")
    assert not Path(f"/proc/{pid}/exe").exists()
    assert not (tmp_path / "sleeper.pid").exists()


def test_stop_leaves_a_recycled_pid_alone(tmp_path):
    pid = _sleeper(tmp_path)
    pidfile = tmp_path / "sleeper.pid"
    recorded = pidfile.read_text()
    _, started, exe = recorded.split(maxsplit=2)
    try:
        # As if our daemon had exited and its PID now belonged to another
        # process, started at another time.
        pidfile.write_text(f"{pid} {int(started) - 1} {exe}")
        assert not procs.alive(tmp_path, "sleeper")
        procs.stop(tmp_path, "sleeper")
        assert Path(f"/proc/{pid}/exe").exists(), "stop killed a process it did not start"
    finally:
        pidfile.write_text(recorded)
        procs.stop(tmp_path, "sleeper")
    assert not procs.alive(tmp_path, "sleeper")


def test_down_removes_only_what_up_created(tmp_path):
    from arena_testcluster import cluster

    for name in ("pki", "etcd-data", "logs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "file").write_text("x")
    (tmp_path / "kubeconfig").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    pid = _sleeper(tmp_path)  # a daemon named "sleeper" is none of up's
    try:
        assert cluster.down(tmp_path) == []
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "sleeper.pid"]
        assert procs.alive(tmp_path, "sleeper")
    finally:
        procs.stop(tmp_path, "sleeper")
    assert not Path(f"/proc/{pid}/exe").exists()
