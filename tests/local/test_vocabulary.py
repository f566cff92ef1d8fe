"""The CLI vocabulary on a running local job: status and top job say the same phase and nodes under the
same names, and `status -o wide`, piped, splits into one value per column."""

from __future__ import annotations

import json

from .conftest import wait_until

JOB = '''
name = "voc"
[job]
image = "python:3.12"
command = "sleep 30"
workers = 2
'''


def test_status_and_top_agree_and_wide_splits(local):
    f = local.write("voc", JOB)
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: local.status("voc")["phase"] == "Running", what="the job running")
    (job,) = local.status("voc")["jobs"]
    (top,) = json.loads(local.cli("top", "job", "--local", "-o", "json", check=True).stdout)
    assert (top["phase"], top["nodes"], top["name"]) == (job["phase"], job["nodes"], job["name"])
    assert "status" not in top
    out = local.cli("status", "--local", "-o", "wide", check=True).stdout.splitlines()
    header, rows = out[0].split(), [line.split() for line in out[1:]]
    assert rows and all(len(r) == len(header) for r in rows), out
    row = dict(zip(header, rows[0]))
    assert (row["EXPERIMENT"], row["PHASE"], row["REPLICAS"]) == ("voc", "Running", "Worker=2/2")
    table = local.cli("status", "--local", check=True).stdout
    assert "DURATION" in table.splitlines()[0]
