"""Loading files in a separate process that measures each answer's time and memory.

The worker (`python -m tests.bounded`) reads one JSON request per line,
`{"paths": [...]}`, runs `load_all` on them and answers one JSON line: the
outcome ("ok", "problems" or "internal" with the traceback), the CPU seconds
and wall seconds it took, and the process's peak resident memory (ru_maxrss)
so far.  The bound is on CPU time: it is the work the input costs, where wall
time on a shared machine (eight test runs on two cores) measures the machine.  The peak only
grows, so "peak after this input minus the peak before the first one" bounds
the memory of every input answered so far, C allocations (libyaml,
tree-sitter) included, which tracemalloc would not see.

The client (Worker) gives each request a wall-clock limit of its own: a load
that hangs (a FIFO read, a runaway loop) fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
import time
import traceback

from .conftest import ROOT

# The bounds of issue 9: each input answered within 2 s and 200 MB.
MAX_SECONDS = 2.0
MAX_MB = 200.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _serve() -> None:
    from arena_run.spec.errors import SpecError
    from arena_run.spec.load import load_all

    # Warm up: the lazy imports (yaml, tree-sitter, the rules) are paid once, not by the first input.
    for text, name in (('name = "x"\n', "arena.toml"), ("name: x\n", "arena.yaml"), ("name: [\n", "arena.yml"),
                       ("name = 1\n", "arena.toml")):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"warm-{os.getpid()}-{name}")
        with open(path, "w") as fh:
            fh.write(text)
        try:
            load_all([path])
        except SpecError:
            pass
        os.unlink(path)
    baseline = _peak_mb()
    print(json.dumps({"ready": True, "baseline_mb": baseline}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        start, cpu = time.perf_counter(), time.process_time()
        answer: dict = {}
        try:
            loaded = load_all(request["paths"])
            answer = {"outcome": "ok", "files": [item.file for item in loaded]}
        except SpecError as exc:
            answer = {"outcome": "problems", "problems": [p.to_dict() for p in exc.problems]}
        except BaseException:  # noqa: BLE001 - the very thing being looked for
            answer = {"outcome": "internal", "traceback": traceback.format_exc()[-3000:]}
        answer["seconds"] = time.process_time() - cpu
        answer["wall"] = time.perf_counter() - start
        answer["mb"] = _peak_mb() - baseline
        print(json.dumps(answer), flush=True)


class Worker:
    def __init__(self) -> None:
        self.proc = self._start()

    @staticmethod
    def _start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bounded"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1,
        )
        return proc

    def _read(self, limit: float) -> dict:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        if not ready:
            self.restart()
            raise AssertionError(f"no answer within {limit} s")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = self._start()
            raise AssertionError(f"the worker died (exit status {code})")
        return json.loads(line)

    def ready(self) -> dict:
        return self._read(60)

    def load(self, *paths: str, limit: float = 30) -> dict:
        """One answer; the limit is for a hang, the bounds are checked by the caller with `within_bounds`."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"paths": list(paths)}) + "\n")
        self.proc.stdin.flush()
        return self._read(limit)

    def restart(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc = self._start()
        self.ready()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def within_bounds(answer: dict, what: str = "") -> None:
    assert answer["outcome"] != "internal", f"{what}: internal error\n{answer['traceback']}"
    assert answer["seconds"] <= MAX_SECONDS, f"{what}: answered in {answer['seconds']:.2f} s of CPU"
    assert answer["mb"] <= MAX_MB, f"{what}: peak memory {answer['mb']:.0f} MB over the baseline"


if __name__ == "__main__":
    _serve()
