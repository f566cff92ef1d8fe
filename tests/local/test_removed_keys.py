"""Removing a key from the file is a change locally, as on a cluster (issue 18 item 4).

A cluster's planner reads what to take away from arena-run's managedFields
entry; the local target shows the same entry for what apply recorded, so the
same planner sees an env entry or an active deadline that is gone.
"""

from __future__ import annotations

import json

import pytest

from .conftest import wait_until

FILE = '''
name = "keys"
[job]
image = "python:3.12"
command = "sleep 300"
{extra}
'''


def _sync(local, f):
    (item,) = json.loads(local.cli("status", "--local", f, "-o", "json", check=True).stdout)
    return item["sync"]


def _env(job):
    (spec,) = job["spec"]["tfReplicaSpecs"].values()
    return {e["name"] for e in spec["template"]["spec"]["containers"][0].get("env") or []}


@pytest.mark.parametrize("before, after, said, gone", [
    ('env = {{ V = "one", X = "1" }}', 'env = {{ V = "one" }}', "env",
     lambda job: "X" not in _env(job) and "V" in _env(job)),
    ('active_deadline = "1h"', "", "activeDeadlineSeconds",
     lambda job: "activeDeadlineSeconds" not in job["spec"]["runPolicy"]),
    ('node_selector = {{ disk = "ssd" }}', "", "nodeSelector",
     lambda job: "nodeSelector" not in next(iter(job["spec"]["tfReplicaSpecs"].values()))["template"]["spec"]),
], ids=["env-entry", "active-deadline", "node-selector"])
def test_a_removed_key_is_planned_applied_and_then_in_sync(local, before, after, said, gone):
    f = local.write("keys", FILE.format(extra=before.format()))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: local.status("keys")["phase"] == "Running", what="the job running")
    f.write_text(FILE.format(extra=after.format()))
    plan = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 2 and said in plan.stdout, plan.stdout
    assert _sync(local, f) == "changed (not applied)"
    # The job runs: replacing it needs consent (issue 17), which this test gives.
    assert local.cli("apply", "--local", "-y", "--replace-running", f).returncode == 0
    (entry,) = [e for e in local.store().objects("keys") if e["object"]["kind"] == "TFJob"]
    assert gone(entry["object"])
    again = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert again.returncode == 0, again.stdout
    assert _sync(local, f) == "in sync"


def _recorded_with_fields():
    from ..conftest import ROOT

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("metadata"), dict) and x["metadata"].get("managedFields"):
                yield x
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, list):
            for v in x:
                yield from walk(v)
    return list(walk(json.loads((ROOT / "tests" / "fixtures" / "live" / "recorded.json").read_text())))


def _not_in(recorded, mine, path=""):
    out = []
    for key, sub in recorded.items():
        if key == ".":
            continue
        if key not in mine:
            out.append(f"{path}/{key}")
        elif isinstance(sub, dict):
            out += _not_in(sub, mine[key], f"{path}/{key}")
    return out


def test_the_local_entry_names_every_field_a_real_api_server_records_for_arena_run():
    # Objects a real control plane holds (tests/fixtures/live, recorded by tests/cluster/record-live):
    # every field its arena-run entry owns is in the entry the local target computes from the object,
    # keyed the same way (list items by name, mountPath, containerPort and protocol).
    from arena_run.local.fields import managed_fields

    checked = 0
    for obj in _recorded_with_fields():
        for entry in obj["metadata"]["managedFields"]:
            if entry["manager"] == "arena-run" and entry["operation"] == "Apply":
                mine = managed_fields(obj, "")[0]["fieldsV1"]
                assert _not_in(entry["fieldsV1"], mine) == [], obj["kind"]
                checked += 1
    assert checked >= 10
