"""`arena-run render -o yaml` against `render -o json` of a large sweep (issue 12: ratio <= 3).

Writes an arena.toml (~40 KB): a 500-point sweep of a TFJob with a parameter
server, 2 workers, a chief and an evaluator, and an env of --env variables
(the bulk of the file, repeated in every role of every point: about 200 MB of
YAML, as in issue 9's finding).  Then runs both commands as new processes, output to /dev/null,
interleaved (so machine noise hits both alike), --runs times each, and prints
the medians and their ratio.  --pure also times the pure-Python emitter (the
fallback without libyaml) in process.

    python bench/render.py [--points 500] [--env 1500] [--runs 3] [--pure]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def experiment(points: int, env: int) -> str:
    lines = [
        'name = "bench-sweep"',
        "[[data]]", 'pvc = "training-data"', 'mount = "/data"',
        "[job]", 'image = "tensorflow/tensorflow:2.16.1-gpu"',
        'command = "python /data/train.py --lr {{lr}} --logdir /data/logs/lr{{lr}}"',
        "gpus = 1", "workers = 2", "ps = 1", "chief = true", "evaluator = true",
        "[job.env]",
        # Values a YAML 1.1 reader would misread, so that quoting is on the measured path.
        *(f'VAR_{i:05d} = "{v}"' for i, v in zip(range(env), _values())),
        "[sweep]",
        "lr = [" + ", ".join(f"{(i + 1) / 1e5:.5f}" for i in range(points)) + "]",
    ]
    return "\n".join(lines) + "\n"


def _values():
    base = ["/data/some/path/to/a/file-{}.txt", "yes", "0o{}", "value number {} of many", "1e{}", "on", "{}"]
    i = 0
    while True:
        yield base[i % len(base)].format(i)
        i += 1


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--env", type=int, default=1500)
    ap.add_argument("--pure", action="store_true", help="also time the pure-Python emitter (slow)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "arena.toml")
        with open(path, "w") as fh:
            fh.write(experiment(args.points, args.env))
        file_size = os.path.getsize(path)
        # This interpreter's arena_run (a venv's), not whatever `arena-run` is first on PATH.
        cmds = {fmt: [sys.executable, "-m", "arena_run", "render", "-o", fmt, path] for fmt in ("json", "yaml")}
        size = {fmt: len(subprocess.run(cmd, check=True, capture_output=True).stdout) for fmt, cmd in cmds.items()}
        samples: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(args.runs):
            for fmt, cmd in cmds.items():
                samples[fmt].append(timed(cmd))

        sys.path.insert(0, ROOT)
        from arena_run.render import render
        from arena_run.render.output import HAVE_LIBYAML, to_yaml
        from arena_run.spec.load import load

        objects = render(load(path))
        if args.pure:
            start = time.perf_counter()
            pure = to_yaml(objects, pure=True)
            pure_s = time.perf_counter() - start

    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"file: {file_size / 1e3:.0f} KB, "
          f"{args.points} points, {len(objects)} objects; output: yaml {size['yaml'] / 1e6:.0f} MB, "
          f"json {size['json'] / 1e6:.0f} MB")
    print(f"render -o json: {med['json']:.2f} s   render -o yaml: {med['yaml']:.2f} s   "
          f"ratio yaml/json: {med['yaml'] / med['json']:.2f}   (goal <= 3; medians of {args.runs})")
    print(f"emitter used by the CLI: {'libyaml (C)' if HAVE_LIBYAML else 'pure Python'}")
    if args.pure:
        print(f"the pure-Python emitter, in process: {pure_s:.2f} s "
              f"({'same length' if len(pure.encode()) == size['yaml'] else 'DIFFERENT length'})")


if __name__ == "__main__":
    main()
