"""`down` must stop only what `up` started: by PID, and only while that PID
still runs the recorded binary. No control plane needed."""

from __future__ import annotations

import os
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
    try:
        # As if the PID now belonged to some other program.
        (tmp_path / "sleeper.pid").write_text(f"{pid} /usr/bin/some-other-binary\n")
        assert not procs.alive(tmp_path, "sleeper")
        procs.stop(tmp_path, "sleeper")
        assert Path(f"/proc/{pid}/exe").exists(), "stop killed a process it did not start"
    finally:
        (tmp_path / "sleeper.pid").write_text(f"{pid} {os.path.realpath(shutil.which('sleep'))}\n")
        procs.stop(tmp_path, "sleeper")
    assert not procs.alive(tmp_path, "sleeper")
