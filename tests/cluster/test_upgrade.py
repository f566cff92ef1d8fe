"""Upgrades against real state (issue 17): what older releases left on a cluster, planned and applied by today's.

Each recorded release's objects (tests/fixtures/upgrade) are created on the
real control plane as that release left them (managedFields included); the
operators run the jobs again.  Then today's arena-run, with the files
unchanged: no running job is replaced under -y, the jobs it renders
differently are deferred (`!`, "your file is unchanged"), status and plan
agree; an edit made after the upgrade is a replacement that needs consent.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from arena_run import __version__, api
from cluster_helpers import kubectl_json, until
from test_engines import assert_kubectl_agrees
from tests.upgrade_fixtures import JOB_KINDS, create_on_cluster, edit, files, releases

each_release = pytest.mark.parametrize("release", releases("cluster"))
# The sweep, lr = [1e-5, 0.10]: 0.1.0 spelled its floats as Python does (1e-05, 0.1).
SWEEP_POINTS = {"upg-bf67668e", "upg-9c9ba942"}


def jobs(cluster, ns) -> dict[str, str]:
    """name -> uid of every training job in the namespace."""
    out = {}
    for kind in JOB_KINDS:
        for item in kubectl_json(cluster, "-n", ns, "get", kind.lower() + "s." + ("trainer." if kind == "TrainJob"
                                                                                  else "") + "kubeflow.org")["items"]:
            out[item["metadata"]["name"]] = item["metadata"]["uid"]
    return out


def loaded(cluster, kube, ns, tmp_path, release):
    create_on_cluster(cluster, ns, release)
    paths = files("cluster", tmp_path / "files")
    # The sweep's points run again (the operator and kwok): the case.  The other jobs need not
    # (the MPIJob waits for GPUs that other tests' namespaces may still hold): Pending is unfinished too.
    until(lambda: sweep_running(kube, paths, ns), timeout=120, what="the recorded sweep running again")
    return paths


def sweep_running(kube, paths, ns) -> bool:
    (upg,) = [s for s in api.status(kube, paths, namespace=ns) if s.name == "upg"]
    return upg.phase == "Running"


def plan_codes(run_cli, ns, paths) -> dict[str, int]:
    return {p: run_cli("plan", "-n", ns, "--detailed-exitcode", p)[0] for p in paths}


def assert_status_agrees_with_plan(kube, run_cli, ns, paths):
    codes = plan_codes(run_cli, ns, paths)
    assert set(codes.values()) <= {0, 2}, codes
    for path, st in zip(paths, api.status(kube, paths, namespace=ns)):
        assert (st.sync == "in sync") == (codes[path] == 0), (path, st.sync, codes[path])


@each_release
def test_an_unchanged_file_restarts_no_running_job_after_an_upgrade(cluster, kube, namespace, tmp_path, run_cli,
                                                                    release):
    ns = namespace
    paths = loaded(cluster, kube, namespace, tmp_path, release)
    before = jobs(cluster, namespace)
    assert set(before) >= SWEEP_POINTS | {"tfdist", "mpi", "trainer"}

    plans = api.plan(kube, paths, namespace=ns)
    ops = {a.name: a.op for p in plans for a in p.actions if a.key[0].split(".")[0] in JOB_KINDS}
    assert "replace" not in ops.values() and "delete" not in ops.values(), ops
    assert {n for n, op in ops.items() if op == "defer"} >= SWEEP_POINTS, ops
    code, out, err = run_cli("plan", "-n", ns, *paths)
    assert code == 0, out + err
    for name in SWEEP_POINTS:  # the deferred rows: `!`, and why
        assert re.search(rf"^\s*! PyTorchJob {name}\b", out, re.M), out
    assert f"arena-run {__version__} renders this differently (job.env); your file is unchanged" in out
    assert "--replace-running re-runs it now" in out

    code, out, err = run_cli("apply", "-y", "-n", ns, *paths)
    assert code == 0, out + err
    assert jobs(cluster, namespace) == before  # not one job replaced
    assert sweep_running(kube, paths, ns)
    assert_status_agrees_with_plan(kube, run_cli, namespace, paths)
    (upg,) = [s for s in api.status(kube, paths, namespace=ns) if s.name == "upg"]
    assert upg.sync == "deferred until the job ends"
    for path, plan in zip(paths, api.plan(kube, paths, namespace=ns)):
        assert not plan.changes, [a.to_dict() for a in plan.changes]  # applied: only the deferred remain
        if not plan.deferred:
            assert_kubectl_agrees(cluster, path, namespace, tmp_path)
        parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", f"arena-run-{plan.experiment}")
        tooling = parent["metadata"]["annotations"]["applyset.kubernetes.io/tooling"]
        # A deferred job still runs as the old release rendered it, and the record says so.
        assert tooling == ("arena-run/0.1.0" if plan.deferred else f"arena-run/{__version__}"), plan.experiment


@each_release
def test_an_edit_after_the_upgrade_is_a_replacement_that_needs_consent(cluster, kube, namespace, tmp_path, run_cli,
                                                                       release):
    ns = namespace
    paths = loaded(cluster, kube, namespace, tmp_path, release)
    assert run_cli("apply", "-y", "-n", ns, *paths)[0] == 0  # the upgrade itself
    before = jobs(cluster, namespace)
    upg = edit(paths, "upg", 'command = "sleep 3600"', 'command = "sleep 7200"')
    (plan,) = api.plan(kube, upg, namespace=ns)
    replaced = {a.name: a.reason for a in plan.actions if a.op == "replace"}
    assert set(replaced) == SWEEP_POINTS, [a.to_dict() for a in plan.actions]
    for reason in replaced.values():  # the user's edit, not the tool's
        assert reason.startswith("forces replacement: job.command") and "renders this differently" not in reason
    parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-upg")

    code, out, err = run_cli("apply", "-y", "-n", ns, upg)
    assert code == 3, out + err
    refused = [x for x in err.splitlines() if x.startswith("refused:")]
    assert len(refused) == 2 and all("is Running" in x and "--replace-running" in x for x in refused), err
    assert jobs(cluster, namespace) == before
    after = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-upg")
    assert after["metadata"]["resourceVersion"] == parent["metadata"]["resourceVersion"]  # nothing written

    code, out, err = run_cli("apply", "-y", "--replace-running", "-n", ns, upg)
    assert code == 0, out + err
    now = jobs(cluster, namespace)
    assert all(now[n] != before[n] for n in SWEEP_POINTS) and now["tfdist"] == before["tfdist"]
    assert_kubectl_agrees(cluster, upg, namespace, tmp_path)
    assert_status_agrees_with_plan(kube, run_cli, namespace, paths)


@each_release
def test_an_edit_that_leaves_a_sweep_point_alone_still_defers_that_point(cluster, kube, namespace, tmp_path,
                                                                          run_cli, release):
    """Per member: a new sweep point is the file's (created), the recorded ones only the renderer's (deferred)."""
    ns = namespace
    paths = loaded(cluster, kube, namespace, tmp_path, release)
    before = jobs(cluster, namespace)
    upg = edit(paths, "upg", "lr = [1e-5, 0.10]", "lr = [1e-5, 0.10, 0.5]")
    (plan,) = api.plan(kube, upg, namespace=ns)
    ops = {a.name: (a.op, a.reason) for a in plan.actions if a.kind == "PyTorchJob"}
    assert sorted(op for op, _ in ops.values()) == ["create", "defer", "defer"], ops
    for name in SWEEP_POINTS:
        assert ops[name][1].startswith(f"deferred until the job ends: arena-run {__version__} renders this "
                                       "differently (job.env); your edits do not change it"), ops
    code, out, err = run_cli("apply", "-y", "-n", ns, upg)
    assert code == 0, out + err
    now = jobs(cluster, namespace)
    assert {n: now[n] for n in before} == before and len(now) == len(before) + 1


def written(cluster, ns) -> dict[str, tuple[str, int]]:
    """(uid, generation) of every object arena-run may write: what a write would change."""
    items = kubectl_json(cluster, "-n", ns, "get", "configmaps,deployments,services,tfjobs,pytorchjobs", "-o",
                         "json")["items"]
    return {f"{o['kind']}/{o['metadata']['name']}": (o["metadata"]["uid"], o["metadata"].get("generation", 0),
                                                     json.dumps(o.get("data"))) for o in items}


def assert_refused_in_one_line(proc, older):
    """One line says why, naming both versions, and the usual last word: nothing was applied."""
    # A request the API server answered 429 twice is noted on its own line (cli/options.py): transport
    # news, not what is said of the experiment (the shared control plane of a busy machine sends them).
    said = [x for x in proc.stderr.strip().splitlines() if not re.match(r"arena-run: warning: .* sending it again", x)]
    assert len(said) == 2, proc.stderr
    line, last = said
    assert re.fullmatch(rf"error: ConfigMap \S+/arena-run-\w+ was written by arena-run {re.escape(__version__)}, "
                        rf"newer than this arena-run {older}; .*\(upgrade arena-run to {re.escape(__version__)} "
                        r"or later\)", line.strip()), line
    assert last == "Nothing was applied." and "Traceback" not in proc.stderr


def test_an_older_arena_run_refuses_what_this_one_wrote(cluster, kube, namespace, tmp_path):
    """Downgrade: this version's record, then an arena-run that believes it is older."""
    (path,) = [p for p in files("cluster", tmp_path / "files") if p.endswith("/tfdist/arena.toml")]
    api.apply(kube, path, namespace=namespace)
    before = written(cluster, namespace)
    older = "0.1.0"
    proc = subprocess.run(
        [sys.executable, "-c", f"import arena_run._version as v; v.__version__ = {older!r}; "
         "from arena_run.cli import main; raise SystemExit(main())", "apply", "-y", "-n", namespace, path],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_refused_in_one_line(proc, older)
    assert written(cluster, namespace) == before  # nothing written
