"""MPIJob, TrainJob and custom serving against their real controllers.

The mpi-operator v0.8 makes an MPIJob's launcher Job and worker pods; Kubeflow
Trainer v2.3 turns a TrainJob into a JobSet, which the JobSet controller turns
into an Indexed Job; kube-controller-manager makes the pods; kwok runs them
and ends them on the exit-code annotation (tests/cluster/kwok). So every
phase asserted here is the controllers' own reading of their pods.
"""

from __future__ import annotations

import json

from arena_run import api
from arena_run.cluster import Cluster
from arena_run.render.output import to_json
from arena_run.spec.load import load
from arena_run.plan import desired_members
from cluster_helpers import cri, kubectl_json, serve_logs, until
from tests.experiments import Document, experiment, write

EXIT = "arena-run.test/exit-code"
EXPERIMENT = "arena-run.io/experiment"


def writes(kube: Cluster) -> int:
    return sum(n for verb, n in kube.requests.items() if verb != "GET")


def pods(cluster, ns, experiment, phase=None) -> list:
    items = kubectl_json(cluster, "-n", ns, "get", "pods", "-l", f"{EXPERIMENT}={experiment}")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")
            and (phase is None or p.get("status", {}).get("phase") == phase)]


def status(run_cli, path) -> dict:
    code, out, err = run_cli("status", "-o", "json", path)
    assert code == 0, err
    (st,) = json.loads(out)
    return st


def phase_is(run_cli, path, want):
    return lambda: (lambda st: st if st["phase"] == want else None)(status(run_cli, path))


def assert_kubectl_agrees(cluster, path, ns, tmp_path):
    """kubectl as referee: a server-side diff of the rendered objects, as
    arena-run's field manager, finds nothing to change."""
    objects = desired_members(load(path), ns)
    manifest = tmp_path / "rendered.json"
    manifest.write_text(to_json(objects))
    proc = cluster.run_kubectl("diff", "--server-side", "--field-manager=arena-run", "-f", str(manifest),
                               check=False)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def assert_converged(kube, path):
    kube.requests.clear()
    (plan,) = api.plan(kube, path)
    assert not plan.has_changes, [a.to_dict() for a in plan.changes]
    assert api.apply(kube, path) == []
    assert writes(kube) == 0


def assert_finished_then_converged(kube, path):
    """A finished job whose file is unchanged stays as it is: the plan has no
    member changes, and one apply records the job as seen finished (one write,
    of the ApplySet parent); after that, nothing."""
    (plan,) = api.plan(kube, path)
    assert plan.changes == [] and plan.actions[0].reason == "finished"
    kube.requests.clear()
    api.apply(kube, [plan])
    assert writes(kube) == 1
    assert_converged(kube, path)


def leftovers(cluster, ns, experiment) -> list:
    """Anything in ns that is still the experiment's, or made by its controllers."""
    kinds = "mpijobs,trainjobs,jobsets,jobs,pods,deployments,services,configmaps,secrets"
    items = kubectl_json(cluster, "-n", ns, "get", kinds)["items"]
    return [f"{o['kind']}/{o['metadata']['name']}" for o in items
            if o["metadata"]["name"].startswith(experiment) or o["metadata"]["name"] == f"arena-run-{experiment}"]


def mpi(ns: str, command: str, **keys) -> Document:
    return experiment("hvd", ns, type="mpi", image="horovod/horovod:0.28.1", command=command, gpus=1, workers=2,
                      backoff_limit=0, **keys)


def test_mpijob_lifecycle(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path / "arena.toml", mpi(namespace, "horovodrun -np 2 python train.py"))
    code, out, err = run_cli("apply", "-y", path)
    assert code == 0, err
    assert "+ MPIJob hvd" in out
    # The mpi-operator makes two workers and a launcher Job; kwok runs them.
    running = until(lambda: (lambda ps: ps if len(ps) == 3 else None)(pods(cluster, namespace, "hvd", "Running")),
                    what="launcher and 2 workers running")
    by_role = {p["metadata"]["labels"]["training.kubeflow.org/job-role"]: p for p in running}
    assert sorted(p["metadata"]["name"] for p in running if p is not by_role["launcher"]) == ["hvd-worker-0",
                                                                                              "hvd-worker-1"]
    launcher = by_role["launcher"]["metadata"]["name"]
    assert launcher.startswith("hvd-launcher-")
    assert_kubectl_agrees(cluster, path, namespace, tmp_path)
    assert_converged(kube, path)

    st = until(phase_is(run_cli, path, "Running"), what="MPIJob Running")
    (job,) = st["jobs"]
    assert (job["kind"], job["replicas"], job["gpus_requested"]) == ("MPIJob", {"Launcher": "1/1", "Worker": "2/2"}, 2)
    code, out, _ = run_cli("top", "job", "-n", namespace, "-o", "json")
    (row,) = json.loads(out)
    assert (row["kind"], row["phase"], row["gpus_requested"], row["gpus_allocated"]) == ("MPIJob", "Running", 2, 2)

    # logs: the launcher's, as Arena reads an MPI job's.
    serve_logs(cluster, namespace, launcher, tmp_path / "launcher.log", cri(["launcher: step 1"]))
    serve_logs(cluster, namespace, "hvd-worker-1", tmp_path / "worker.log", cri(["worker 1: ready"]))
    assert until(lambda: run_cli("logs", "-n", namespace, "hvd")[1], timeout=30) == "launcher: step 1\n"
    assert until(lambda: run_cli("logs", "-n", namespace, "hvd", "--role", "worker", "--index", "1")[1],
                 timeout=30) == "worker 1: ready\n"

    # Succeeded: the launcher exits 0, the operator finishes the job.
    cluster.run_kubectl("-n", namespace, "annotate", "pod", launcher, f"{EXIT}=0")
    until(phase_is(run_cli, path, "Succeeded"), what="MPIJob Succeeded")
    assert_finished_then_converged(kube, path)

    # A changed command replaces the job; the new launcher fails.
    old_uid = kubectl_json(cluster, "-n", namespace, "get", "mpijob", "hvd")["metadata"]["uid"]
    path = write(tmp_path / "arena.toml", mpi(namespace, "horovodrun -np 2 python train.py --fail"))
    (plan,) = api.plan(kube, path)
    assert [(a.op, a.kind, a.reason) for a in plan.changes] == [
        ("replace", "MPIJob", "forces replacement: job.command")]
    assert run_cli("apply", "-y", path)[0] == 0
    assert kubectl_json(cluster, "-n", namespace, "get", "mpijob", "hvd")["metadata"]["uid"] != old_uid
    new = until(lambda: [p for p in pods(cluster, namespace, "hvd", "Running")
                         if p["metadata"]["labels"].get("training.kubeflow.org/job-role") == "launcher"],
                what="new launcher running")
    cluster.run_kubectl("-n", namespace, "annotate", "pod", new[0]["metadata"]["name"], f"{EXIT}=1")
    until(phase_is(run_cli, path, "Failed"), what="MPIJob Failed")

    # Removed from the file: pruned.
    path = write(tmp_path / "arena.toml", experiment("hvd", namespace, job=False, tensorboard=True))
    (plan,) = api.plan(kube, path)
    assert ("delete", "MPIJob", "hvd") in [(a.op, a.kind, a.name) for a in plan.changes]
    assert run_cli("apply", "-y", path)[0] == 0
    assert kubectl_json(cluster, "-n", namespace, "get", "mpijobs")["items"] == []

    assert run_cli("delete", "-y", "--wait", path)[0] == 0
    until(lambda: not leftovers(cluster, namespace, "hvd"), what="nothing of hvd left")


def trainer(ns: str, command: str, **keys) -> Document:
    return experiment("llm", ns, type="pytorch", engine="trainer", image="pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime",
                      command=command, gpus=1, workers=2, **keys)


def fail_fast_runtime(cluster, name):
    """Trainer's torch-distributed with backoffLimit 0, so a failed node fails the TrainJob
    at once (the stock runtime retries a node 6 times, with growing delays)."""
    runtime = kubectl_json(cluster, "get", "clustertrainingruntime", "torch-distributed")
    runtime["metadata"] = {"name": name, "labels": runtime["metadata"].get("labels", {})}
    runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["backoffLimit"] = 0
    cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-",
                        input=json.dumps(runtime))


def test_trainjob_lifecycle(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path / "arena.toml", trainer(namespace, "torchrun train.py"))
    code, out, err = run_cli("apply", "-y", "--replace-running", path)
    assert code == 0, err
    assert "+ TrainJob llm" in out
    # Trainer makes a JobSet, the JobSet controller an Indexed Job of 2 pods.
    running = until(lambda: (lambda ps: ps if len(ps) == 2 else None)(pods(cluster, namespace, "llm", "Running")),
                    what="2 nodes running")
    jobset = kubectl_json(cluster, "-n", namespace, "get", "jobset", "llm")
    assert jobset["metadata"]["ownerReferences"][0]["kind"] == "TrainJob"
    node0 = next(p for p in running if p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "0")
    container = node0["spec"]["containers"][0]
    assert container["command"] == ["sh", "-c", "cd /root && torchrun train.py"]
    assert {"/data", "/dev/shm"} <= {m["mountPath"] for m in container["volumeMounts"]}  # our runtimePatch
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"PET_NNODES", "PET_NODE_RANK", "PET_MASTER_ADDR"} <= {e["name"] for e in container.get("env", [])}
    assert_kubectl_agrees(cluster, path, namespace, tmp_path)
    assert_converged(kube, path)

    st = until(phase_is(run_cli, path, "Running"), what="TrainJob Running")
    (job,) = st["jobs"]
    assert (job["kind"], job["replicas"], job["gpus_requested"]) == ("TrainJob", {"Node": "2/2"}, 2)
    code, out, _ = run_cli("top", "job", "-n", namespace, "-o", "json")
    (row,) = json.loads(out)
    assert (row["kind"], row["phase"], row["gpus_requested"], row["gpus_allocated"]) == ("TrainJob", "Running", 2, 2)
    serve_logs(cluster, namespace, node0["metadata"]["name"], tmp_path / "node0.log", cri(["node 0: loss 0.1"]))
    assert until(lambda: run_cli("logs", "-n", namespace, "llm")[1], timeout=30) == "node 0: loss 0.1\n"

    # Succeeded: every node exits 0; JobSet and Trainer finish the TrainJob.
    for p in running:
        cluster.run_kubectl("-n", namespace, "annotate", "pod", p["metadata"]["name"], f"{EXIT}=0")
    until(phase_is(run_cli, path, "Succeeded"), what="TrainJob Succeeded")
    assert_finished_then_converged(kube, path)
    # A finished experiment is prunable: `prune` deletes it and everything Trainer made.
    until(lambda: "Deleted 1 experiment(s)." in run_cli("prune", "-n", namespace, "--since", "1s", "-y")[1],
          what="prune of the finished TrainJob")
    until(lambda: not leftovers(cluster, namespace, "llm"), what="nothing of llm left after prune")

    # Another runtime and command: a replacement (trainer and runtimeRef are immutable); a node fails.
    runtime = f"fail-fast-{namespace}"
    fail_fast_runtime(cluster, runtime)
    try:
        path = write(tmp_path / "arena.toml", trainer(namespace, "torchrun train.py", runtime=runtime))
        assert run_cli("apply", "-y", "--replace-running", path)[0] == 0
        path = write(tmp_path / "arena.toml", trainer(namespace, "torchrun train.py --lr 0.1", runtime=runtime))
        (plan,) = api.plan(kube, path)
        assert [(a.op, a.kind, a.reason) for a in plan.changes] == [
            ("replace", "TrainJob", "forces replacement: job.command")]
        assert run_cli("apply", "-y", "--replace-running", path)[0] == 0
        running = until(lambda: (lambda ps: ps if len(ps) == 2 else None)(
            pods(cluster, namespace, "llm", "Running")), what="2 new nodes running")
        assert all("--lr 0.1" in p["spec"]["containers"][0]["command"][2] for p in running)
        cluster.run_kubectl("-n", namespace, "annotate", "pod", running[0]["metadata"]["name"], f"{EXIT}=1")
        until(phase_is(run_cli, path, "Failed"), what="TrainJob Failed")

        # Removed from the file: pruned; then delete leaves nothing.
        path = write(tmp_path / "arena.toml", experiment("llm", namespace, job=False, tensorboard=True))
        assert run_cli("apply", "-y", "--replace-running", path)[0] == 0
        assert kubectl_json(cluster, "-n", namespace, "get", "trainjobs")["items"] == []
        assert run_cli("delete", "-y", "--wait", path)[0] == 0
        until(lambda: not leftovers(cluster, namespace, "llm"), what="nothing of llm left")
    finally:
        cluster.run_kubectl("delete", "clustertrainingruntime", runtime, "--wait=false", check=False)


def custom(ns: str, command: str, **keys) -> Document:
    """A server of the user's own, no job."""
    serve = {"type": "custom", "image": "ghcr.io/example/sentiment-server:1.4", "command": command, "port": 8000,
             "env": {"LOG_LEVEL": "info"}}
    return experiment("sentiment", ns, job=False, data=keys.pop("data", ()), serve=serve, **keys)


def test_custom_serving(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path / "arena.toml", custom(namespace, "python -m server --port 8000"))
    assert run_cli("apply", "-y", "--wait", path)[0] == 0
    assert_kubectl_agrees(cluster, path, namespace, tmp_path)
    assert_converged(kube, path)
    st = status(run_cli, path)
    assert st["serving"] == {
        "name": "sentiment-serving", "url": f"http://sentiment-serving.{namespace}.svc:8000", "available": "1/1",
        "hint": f"kubectl port-forward -n {namespace} svc/sentiment-serving 8000:8000"}
    (pod,) = pods(cluster, namespace, "sentiment", "Running")
    serve_logs(cluster, namespace, pod["metadata"]["name"], tmp_path / "serving.log", cri(["listening on :8000"]))
    assert until(lambda: run_cli("logs", "-n", namespace, "sentiment", "--component", "serving")[1],
                 timeout=30) == "listening on :8000\n"

    # A server is not a job: a changed command rolls the Deployment out, it is not replaced.
    path = write(tmp_path / "arena.toml", custom(namespace, "python -m server --port 8000 --workers 2"))
    (plan,) = api.plan(kube, path)
    assert [(a.op, a.kind) for a in plan.changes] == [("update", "Deployment")]
    assert run_cli("apply", "-y", "--wait", path)[0] == 0
    assert_kubectl_agrees(cluster, path, namespace, tmp_path)
    assert run_cli("delete", "-y", "--wait", path)[0] == 0
    until(lambda: not leftovers(cluster, namespace, "sentiment"), what="nothing of sentiment left")


def test_data_list_names_mpi_trainer_and_custom_experiments(cluster, kube, namespace, tmp_path, run_cli):
    cluster.run_kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "shared", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}))
    data = [{"pvc": "shared", "mount": "/data"}]
    files = [
        write(tmp_path / "mpi.toml", mpi(namespace, "mpirun hostname", data=data)),
        write(tmp_path / "trainer.toml", trainer(namespace, "torchrun t.py", data=data)),
        write(tmp_path / "custom.toml", custom(namespace, "serve", data=data)),
    ]
    for f in files:
        assert run_cli("apply", "-y", f)[0] == 0
    code, out, _ = run_cli("data", "list", "-n", namespace, "-o", "json")
    (claim,) = json.loads(out)
    assert claim["experiments"] == ["hvd", "llm", "sentiment"]


def test_trainjob_on_a_missing_runtime_is_refused_in_one_line(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path / "arena.toml", trainer(namespace, "torchrun t.py", runtime="no-such-runtime"))
    code, out, err = run_cli("apply", "-y", path)
    # Trainer's own validating webhook says no, to the plan's dry run, before
    # anything is written; arena-run names the object and passes the reason on.
    first = err.splitlines()[0].strip()
    assert code == 1 and "Traceback" not in err, err
    assert "Nothing was applied." in err
    assert first.startswith(f"error: TrainJob {namespace}/llm: the API server refuses it: admission webhook "
                            '"validator.trainjob.trainer.kubeflow.org" denied the request'), err
    assert '"no-such-runtime" not found' in first
    assert kubectl_json(cluster, "-n", namespace, "get", "trainjobs")["items"] == []
