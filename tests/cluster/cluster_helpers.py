"""Helpers shared by the cluster tests that drive arena-run (test_apply, test_ops)."""

from __future__ import annotations

import json

from arena_run.cli import main
from tests.waiting import until  # noqa: F401  (the cluster tests import it from here)


def cli(capsys, *args):
    """arena-run in-process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def kubectl_json(cluster, *args):
    return json.loads(cluster.run_kubectl(*args, "-o", "json").stdout)


