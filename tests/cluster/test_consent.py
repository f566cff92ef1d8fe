"""A running job is precious on a cluster too: apply stops it only with consent (issue 17).

Against the real control plane: the training operator runs the TFJob, kwok its pod, and what the API
server holds is read back with kubectl; kubectl diff is the referee after each apply.
"""

from __future__ import annotations

import pytest

from arena_run import api
from cluster_helpers import kubectl_json, until
from test_engines import assert_kubectl_agrees
from tests.experiments import experiment, write


def job_file(tmp_path, namespace, command="sleep 3600"):
    return write(tmp_path / "arena.toml", experiment("exp", namespace, command=command, gpus=1))


def command_of(cluster, ns):
    job = kubectl_json(cluster, "-n", ns, "get", "tfjob", "exp")
    return job["metadata"]["uid"], job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["command"]


def started(kube, cluster, tmp_path, namespace):
    path = job_file(tmp_path, namespace)
    api.apply(kube, path)
    until(lambda: api.status(kube, path)[0].phase == "Running", what="the job running")
    return path, command_of(cluster, namespace)


def test_an_edit_under_yes_alone_restarts_nothing_and_exits_3(cluster, kube, namespace, tmp_path, run_cli):
    path, (uid, command) = started(kube, cluster, tmp_path, namespace)
    parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
    path = job_file(tmp_path, namespace, "sleep 7200")
    code, out, err = run_cli("apply", "-y", path)
    assert code == 3, out + err
    (line,) = [x for x in err.splitlines() if x.startswith("refused:")]
    assert f"TFJob {namespace}/exp is Running" in line and "re-run it from the start" in line
    assert "forces replacement: job.command" in line and "--replace-running" in line
    assert command_of(cluster, namespace) == (uid, command)  # the job runs on, untouched
    after = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
    assert after["metadata"]["resourceVersion"] == parent["metadata"]["resourceVersion"]  # nothing written
    (st,) = api.status(kube, path)
    assert st.phase == "Running" and st.sync == "changed (not applied)"

    with pytest.raises(api.RestartRefused):  # the Python API refuses alike
        api.apply(kube, path)
    assert command_of(cluster, namespace) == (uid, command)

    code, out, err = run_cli("apply", "-y", "--replace-running", path)
    assert code == 0, out + err
    new_uid, new_command = command_of(cluster, namespace)
    assert new_uid != uid and new_command == ["sh", "-c", "sleep 7200"]
    assert_kubectl_agrees(cluster, path, namespace, tmp_path)


def test_consent_for_one_job_replaces_that_job(cluster, kube, namespace, tmp_path):
    path, (uid, _) = started(kube, cluster, tmp_path, namespace)
    path = job_file(tmp_path, namespace, "sleep 7200")
    (plan,) = api.plan(kube, path)
    (restart,) = api.restarts(plan)
    assert (restart.kind, restart.name, restart.phase, restart.op) == ("TFJob", "exp", "Running", "replace")
    assert "will be stopped and re-run from the start" in restart.what()
    api.apply(kube, [plan], replace_running={restart.key})
    assert command_of(cluster, namespace)[0] != uid
    assert not api.plan(kube, path)[0].has_changes


def test_a_finished_job_is_rerun_on_an_edit_without_the_flag(cluster, kube, namespace, tmp_path, run_cli):
    path = job_file(tmp_path, namespace)
    api.apply(kube, path)
    until(lambda: cluster.run_kubectl("-n", namespace, "get", "pod", "exp-worker-0", check=False).returncode == 0)
    cluster.run_kubectl("-n", namespace, "annotate", "pod", "exp-worker-0", "arena-run.test/exit-code=0")
    until(lambda: api.status(kube, path)[0].phase == "Succeeded", what="the job finished")
    uid = command_of(cluster, namespace)[0]
    path = job_file(tmp_path, namespace, "sleep 7200")
    code, out, err = run_cli("apply", "-y", path)
    assert code == 0, out + err
    assert command_of(cluster, namespace)[0] != uid
