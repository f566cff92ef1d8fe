"""Helpers shared by the cluster tests that drive arena-run (test_apply, test_ops)."""

from __future__ import annotations

import json
import time

from arena_run.cli import main


def cli(capsys, *args):
    """arena-run in-process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def kubectl_json(cluster, *args):
    return json.loads(cluster.run_kubectl(*args, "-o", "json").stdout)


def until(check, timeout: float = 90, interval: float = 0.3, what: str = "condition"):
    """Poll check() until it returns something true, and return that; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
