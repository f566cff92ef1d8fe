"""What the renderer makes of a file: names, labels, code sync, volumes, roles, serving."""

import os
import subprocess
import sys

import pytest

from arena_run.render import render
from arena_run.spec.names import repo_name
from arena_run.spec.errors import SpecError
from arena_run.spec.load import load, load_text

from .conftest import EXAMPLES, ROOT

BASE = """
name = "exp"
[[data]]
pvc = "d"
mount = "/data"
[job]
image = "img"
command = "python train.py"
"""


def objects(text: str, namespace=None):
    return render(load_text(text), namespace)


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def pod_templates(obj):
    spec = obj["spec"]
    if obj["kind"] in ("TFJob", "PyTorchJob"):
        specs = spec.get("tfReplicaSpecs") or spec["pytorchReplicaSpecs"]
        return {role: s["template"] for role, s in specs.items()}
    if obj["kind"] == "Deployment":
        return {"pod": spec["template"]}
    return {}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_object_and_pod_template_is_labelled(path):
    exp = load(str(path))
    for obj in render(exp):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "arena-run"
        assert labels["arena-run.io/experiment"] == exp.name
        for template in pod_templates(obj).values():
            assert template["metadata"]["labels"]["arena-run.io/experiment"] == exp.name
            assert template["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "arena-run"
        if obj["kind"] == "InferenceService":
            assert obj["spec"]["predictor"]["labels"]["arena-run.io/experiment"] == exp.name


def test_names_derive_from_the_experiment():
    text = BASE + '[tensorboard]\nlogdir = "/data/logs"\n[serve]\nmodel_path = "/data/m"\n'
    names = {(o["kind"], o["metadata"]["name"]) for o in objects(text)}
    assert names == {
        ("TFJob", "exp"),
        ("Deployment", "exp-tensorboard"),
        ("Service", "exp-tensorboard"),
        ("Deployment", "exp-serving"),
        ("Service", "exp-serving"),
    }
    kserve = BASE + '[serve]\ntype = "kserve"\nstorage_uri = "s3://b/m"\n'
    assert [o["metadata"]["name"] for o in by_kind(objects(kserve), "InferenceService")] == ["exp"]


def test_sweep_points_keep_their_names_when_a_value_is_added():
    sweep = BASE.replace("python train.py", "python train.py --lr {{lr}} --bs {{ batch }}")
    before = objects(sweep + "[sweep]\nlr = [0.1, 0.01]\nbatch = [32]\n")
    after = objects(sweep + "[sweep]\nlr = [0.1, 0.01, 0.001]\nbatch = [32]\n")
    old = {o["metadata"]["name"]: o for o in by_kind(before, "TFJob")}
    new = {o["metadata"]["name"]: o for o in by_kind(after, "TFJob")}
    assert len(old) == 2 and len(new) == 3
    assert set(old) < set(new)
    for name in old:
        assert old[name] == new[name]
        assert name.startswith("exp-") and len(name) == len("exp-") + 8


def test_sweep_point_gets_its_values_in_command_env_and_annotation():
    text = BASE.replace("python train.py", "python train.py --lr {{lr}} --amp {{amp}}")
    text += 'env = { TAG = "lr={{lr}}" }\n[sweep]\nlr = [0.5]\namp = [true]\n'
    (job,) = by_kind(objects(text), "TFJob")
    container = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["sh", "-c", "python train.py --lr 0.5 --amp true"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"TAG": "lr=0.5", "ARENA_PARAM_AMP": "true", "ARENA_PARAM_LR": "0.5"}
    assert job["metadata"]["annotations"]["arena-run.io/sweep-params"] == '{"amp":true,"lr":0.5}'
    assert job["metadata"]["labels"]["arena-run.io/sweep-point"] == job["metadata"]["name"][len("exp-"):]


def test_sweep_values_of_different_types_are_different_points():
    text = BASE + '[sweep]\nx = [1, 1.0, "1", true]\n'
    assert len({o["metadata"]["name"] for o in by_kind(objects(text), "TFJob")}) == 4


def test_git_sync_lands_at_working_dir_code_repo_name():
    text = BASE.replace("[job]", '[code]\ngit = "https://github.com/a/b-c.git"\nref = "dev"\nsecret = "creds"\n[job]')
    text += 'working_dir = "/work"\n'
    (job,) = by_kind(objects(text), "TFJob")
    pod = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    (init,) = pod["initContainers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in init["env"]}
    assert env["GITSYNC_REPO"] == "https://github.com/a/b-c.git"
    assert env["GITSYNC_REF"] == "dev"
    assert env["GITSYNC_LINK"] == "b-c"
    assert env["GITSYNC_ROOT"] == "/code"
    assert env["GITSYNC_ONE_TIME"] == "true"
    assert env["GITSYNC_USERNAME"] == {"secretKeyRef": {"name": "creds", "key": "username"}}
    assert env["GITSYNC_PASSWORD"] == {"secretKeyRef": {"name": "creds", "key": "password"}}
    assert {"name": "code", "mountPath": "/code"} in init["volumeMounts"]
    main = pod["containers"][0]
    assert {"name": "code", "mountPath": "/work/code"} in main["volumeMounts"]
    assert main["workingDir"] == "/work"
    assert {"name": "code", "emptyDir": {}} in pod["volumes"]


@pytest.mark.parametrize("url,name", [
    ("https://github.com/cheyang/tensorflow-sample-code.git", "tensorflow-sample-code"),
    ("https://gitlab.example.com/group/sub/repo", "repo"),
    ("git@github.com:org/thing.git", "thing"),
    ("ssh://git@host:2222/x/y.git/", "y"),
])
def test_repo_name(url, name):
    assert repo_name(url) == name


def test_rsync_copies_into_code():
    text = BASE.replace("[job]", '[code]\nrsync = "10.0.0.5::share/proj"\n[job]')
    (job,) = by_kind(objects(text), "TFJob")
    (init,) = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["initContainers"]
    assert init["command"] == ["rsync", "-a", "10.0.0.5::share/proj", "/code/"]


def test_every_replica_mounts_every_volume_and_shm():
    text = BASE + 'ps = 2\nchief = true\nevaluator = true\nshm = "4Gi"\n[[data]]\nhost_path = "/mnt/x"\nmount = "/x"\n'
    (job,) = by_kind(objects(text), "TFJob")
    specs = job["spec"]["tfReplicaSpecs"]
    assert set(specs) == {"PS", "Worker", "Chief", "Evaluator"}
    for spec in specs.values():
        pod = spec["template"]["spec"]
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts == {"/data", "/x", "/dev/shm"}
        assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "4Gi"}} in pod["volumes"]
        assert {"name": "data-1", "hostPath": {"path": "/mnt/x"}} in pod["volumes"]


def test_gpus_go_to_workers_not_parameter_servers_unless_overridden():
    text = BASE + 'gpus = 2\nps = 1\ncpu = 4\nmemory = "8Gi"\n'
    (job,) = by_kind(objects(text), "TFJob")
    specs = job["spec"]["tfReplicaSpecs"]
    worker = specs["Worker"]["template"]["spec"]["containers"][0]["resources"]
    ps = specs["PS"]["template"]["spec"]["containers"][0]["resources"]
    assert worker["limits"] == {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "2"} == worker["requests"]
    assert ps["limits"] == {"cpu": "4", "memory": "8Gi"}
    (job,) = by_kind(objects(text + "[job.roles.ps]\ngpus = 1\nimage = \"ps-img\"\n"), "TFJob")
    ps_container = job["spec"]["tfReplicaSpecs"]["PS"]["template"]["spec"]["containers"][0]
    assert ps_container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert ps_container["image"] == "ps-img"
    assert specs["PS"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("workers,expected", [(1, {"Master": 1}), (3, {"Master": 1, "Worker": 2})])
def test_pytorch_workers_count_the_master(workers, expected):
    text = BASE + f'type = "pytorch"\nworkers = {workers}\n'
    (job,) = by_kind(objects(text), "PyTorchJob")
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert {k: v["replicas"] for k, v in specs.items()} == expected
    assert specs["Master"]["template"]["spec"]["containers"][0]["name"] == "pytorch"


def test_namespace_argument_overrides_the_file():
    text = 'namespace = "from-file"\n' + BASE
    assert {o["metadata"]["namespace"] for o in objects(text)} == {"from-file"}
    assert {o["metadata"]["namespace"] for o in objects(text, "flag")} == {"flag"}
    assert all("namespace" not in o["metadata"] for o in objects(BASE))


def test_run_policy_and_scheduling():
    text = BASE + (
        'ttl_after_finished = "1h30m"\nactive_deadline = 600\nbackoff_limit = 2\nclean_pod_policy = "None"\n'
        'priority_class = "high"\nimage_pull_secrets = ["reg"]\nnode_selector = { gpu = "a100" }\n'
        'tolerations = [{ key = "k", value = "v", effect = "NoExecute", seconds = 30 }]\n'
    )
    (job,) = by_kind(objects(text), "TFJob")
    assert job["spec"]["runPolicy"] == {
        "cleanPodPolicy": "None", "ttlSecondsAfterFinished": 5400, "activeDeadlineSeconds": 600, "backoffLimit": 2,
    }
    pod = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert pod["priorityClassName"] == "high"
    assert pod["imagePullSecrets"] == [{"name": "reg"}]
    assert pod["nodeSelector"] == {"gpu": "a100"}
    assert pod["tolerations"] == [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute", "tolerationSeconds": 30}]


def test_tf_serving_and_tensorboard():
    text = BASE + '[tensorboard]\nlogdir = "/data/logs"\nservice = "NodePort"\n[serve]\nmodel_path = "/data/m"\nmodel_name = "mnist"\nreplicas = 3\n'
    objs = objects(text)
    tb, serving = sorted(by_kind(objs, "Deployment"), key=lambda o: o["metadata"]["name"])[::-1]
    assert tb["metadata"]["name"] == "exp-tensorboard"
    c = tb["spec"]["template"]["spec"]["containers"][0]
    assert c["command"][:3] == ["tensorboard", "--logdir", "/data/logs"]
    assert all(m.get("readOnly") for m in c["volumeMounts"])
    c = serving["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["--port=8500", "--rest_api_port=8501", "--model_name=mnist", "--model_base_path=/data/m"]
    assert serving["spec"]["replicas"] == 3
    services = {o["metadata"]["name"]: o["spec"] for o in by_kind(objs, "Service")}
    assert services["exp-tensorboard"]["type"] == "NodePort"
    assert [p["port"] for p in services["exp-serving"]["ports"]] == [8500, 8501]
    assert services["exp-serving"]["selector"] == serving["spec"]["selector"]["matchLabels"]


def test_kserve_storage_uri_from_a_pvc_mount():
    text = BASE.replace('mount = "/data"', 'mount = "/data"\nsub_path = "team"')
    text += '[serve]\ntype = "kserve"\nmodel_path = "/data/models/r"\nmodel_format = "pytorch"\nmin_replicas = 0\n'
    (isvc,) = by_kind(objects(text), "InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "pvc://d/team/models/r"
    assert predictor["model"]["modelFormat"] == {"name": "pytorch"}
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (0, 1)


def test_derived_name_too_long_names_the_culprit():
    name = "a" * 55
    with pytest.raises(SpecError) as exc:
        load_text(BASE.replace('name = "exp"', f'name = "{name}"') + "workers = 12\n", file="f.toml")
    (problem,) = exc.value.problems
    assert problem.path == "name" and problem.line == 2
    assert f"{name}-worker-11" in problem.message and "65 characters" in problem.message and "by 2" in problem.message


def test_output_is_byte_identical_across_processes():
    def run(seed):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        return subprocess.run(
            [sys.executable, "-m", "arena_run", "render", "examples", "tests/fixtures/seed.toml"],
            cwd=ROOT, env=env, capture_output=True, check=True,
        ).stdout
    assert run("1") == run("2")
