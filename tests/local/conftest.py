"""Fixtures for the local target: a private state and data home per test, the CLI as a user runs it.

Every test gets its own $XDG_STATE_HOME and $XDG_DATA_HOME, and on teardown
every experiment it left is deleted (its processes stopped), so no test
leaves a process behind, and none reads another's state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from ..conftest import ROOT
from ..waiting import until

FAKE_GPU_DIR = ROOT / "tests" / "fixtures" / "gpu"


class Local:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.state = tmp / "state"
        self.data = tmp / "data"
        self.env = {**os.environ, "XDG_STATE_HOME": str(self.state), "XDG_DATA_HOME": str(self.data)}
        for var in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "ARENA_RUN_LOCAL_CPUS"):
            self.env.pop(var, None)
        # No GPUs unless a test puts the fake nvidia-smi first on PATH.
        self.env["PATH"] = os.pathsep.join(p for p in self.env.get("PATH", "").split(os.pathsep)
                                           if not os.path.exists(os.path.join(p, "nvidia-smi")))

    def fake_gpus(self, n: int) -> None:
        self.env["PATH"] = str(FAKE_GPU_DIR) + os.pathsep + self.env["PATH"]
        self.env["FAKE_NVIDIA_GPUS"] = str(n)

    def cli(self, *args, env: dict | None = None, check: bool = False, timeout: float = 180):
        result = subprocess.run([sys.executable, "-m", "arena_run", *map(str, args)], cwd=ROOT,
                                capture_output=True, text=True, env={**self.env, **(env or {})}, timeout=timeout)
        assert "Traceback" not in result.stderr, result.stderr
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def popen(self, *args, env: dict | None = None):
        return subprocess.Popen([sys.executable, "-m", "arena_run", *map(str, args)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**self.env, **(env or {})})

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name / "arena.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def volume(self, claim: str) -> Path:
        return self.data / "arena-run" / "volumes" / claim

    def store(self):
        from arena_run.local.state import Store

        return Store(str(self.state / "arena-run"))

    def status(self, name: str) -> dict:
        import json

        out = self.cli("status", "--local", name, "-o", "json", check=True).stdout
        items = json.loads(out)
        assert len(items) == 1, items
        return items[0]

    def runs(self, name: str) -> list:
        store = self.store()
        return [store.run_status(name, e["uid"]) or {} for e in store.objects(name)]


# Local processes answer in milliseconds: look often, give up sooner than on a cluster.
wait_until = partial(until, timeout=60, interval=0.05)


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds marker (the replicas of one test)."""
    out = []
    needle = marker.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read():
                    with open(f"/proc/{pid}/stat", "rb") as st:
                        if st.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                            out.append(int(pid))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return out


@pytest.fixture
def local(tmp_path):
    loc = Local(tmp_path)
    yield loc
    store = loc.store()
    for name in store.names():
        loc.cli("delete", "--local", "-y", name)
