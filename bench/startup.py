"""Start-up of `arena-run validate FILE` against the floor of its libraries.

The floor is what any validator built on them must pay:
    python -c "import tomllib; from pydantic import BaseModel"
Both commands run interleaved (so machine noise hits both alike), N times
each; the medians and their ratio are printed.  Goal: ratio <= 1.5.

    python bench/startup.py [--runs 40] [--file examples/tf-git/arena.toml]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--file", default="examples/tf-git/arena.toml")
    args = ap.parse_args()

    # The arena-run of this interpreter (this checkout's venv), not whichever is first on PATH.
    script = os.path.join(os.path.dirname(sys.executable), "arena-run")
    floor = [sys.executable, "-c", "import tomllib; from pydantic import BaseModel"]
    validate = [script, "validate", args.file]
    bare = [sys.executable, "-c", "pass"]
    # What defining any pydantic model costs on top of the floor: the import of
    # pydantic's schema machinery and its plugin discovery.
    one_model = [sys.executable, "-c", floor[2] + "\nclass A(BaseModel):\n    x: int\nA(x=1)"]
    cmds = {"bare": bare, "floor": floor, "one_model": one_model, "validate": validate}
    for cmd in cmds.values():  # warm the page cache and .pyc files
        timed(cmd)
    samples: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            samples[name].append(timed(cmd))
    med = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, medians:")
    print(f"  bare interpreter          {med['bare']:7.1f} ms")
    print(f"  floor (tomllib+pydantic)  {med['floor']:7.1f} ms")
    print(f"  floor + one tiny model    {med['one_model']:7.1f} ms")
    print(f"  arena-run validate        {med['validate']:7.1f} ms")
    print(f"  ratio validate/floor      {med['validate'] / med['floor']:7.2f}  (goal <= 1.5)")
    print(f"  ratio one-model/floor     {med['one_model'] / med['floor']:7.2f}")


if __name__ == "__main__":
    main()
