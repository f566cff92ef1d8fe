"""The test control plane is a real Kubernetes: the behaviour arena-run relies
on (server-side apply, CRD validation, scheduling, garbage collection, RBAC)
comes from the real kube-apiserver and controllers, not from a fake."""

from __future__ import annotations

import copy
import json

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from cluster_helpers import until

pytestmark = pytest.mark.cluster

FIELD_MANAGER = "arena-run"


def tfjob(name: str, namespace: str, workers: int = 2) -> dict:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"tfReplicaSpecs": {"Worker": {
            "replicas": workers,
            "restartPolicy": "OnFailure",
            "template": {"spec": {"containers": [{
                "name": "tensorflow",
                "image": "tensorflow/tensorflow:2.16.1",
                "command": ["python", "train.py"],
                "resources": {"limits": {"nvidia.com/gpu": 1}},
            }]}},
        }}},
    }


@pytest.fixture(scope="module")
def api(cluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


@pytest.fixture(scope="module")
def dyn(api) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api)


@pytest.fixture(scope="module")
def tfjobs(dyn):
    return dyn.resources.get(api_version="kubeflow.org/v1", kind="TFJob")


def test_version_is_the_pinned_release(cluster, api):
    info = client.VersionApi(api).get_code()
    assert info.git_version == cluster.info["versions"]["k8s.io/kubernetes"]
    assert (info.major, info.minor) == tuple(info.git_version.lstrip("v").split(".")[:2])
    kubectl = json.loads(cluster.run_kubectl("version", "--output=json").stdout)
    assert kubectl["clientVersion"]["gitVersion"] == info.git_version


def test_crds_are_installed_and_served(dyn, namespace):
    for api_version, kind in [("kubeflow.org/v1", "TFJob"), ("kubeflow.org/v1", "PyTorchJob"),
                              ("serving.kserve.io/v1beta1", "InferenceService")]:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        assert resource.namespaced
        assert resource.get(namespace=namespace).items == []


def test_server_side_apply_records_managed_fields(namespace, tfjobs):
    body = tfjob("mnist", namespace)
    applied = tfjobs.server_side_apply(body=body, namespace=namespace, field_manager=FIELD_MANAGER)
    managed = applied.to_dict()["metadata"]["managedFields"]
    ours = [m for m in managed if m["manager"] == FIELD_MANAGER]
    assert len(ours) == 1, managed
    assert ours[0]["operation"] == "Apply"
    worker = ours[0]["fieldsV1"]["f:spec"]["f:tfReplicaSpecs"]["f:Worker"]
    assert "f:replicas" in worker and "f:template" in worker

    # Idempotent: the same apply again changes neither the spec (generation)
    # nor our managed fields. (resourceVersion may move: the training operator
    # writes the status meanwhile; see the ConfigMap test for that.)
    again = tfjobs.server_side_apply(body=body, namespace=namespace, field_manager=FIELD_MANAGER)
    assert again.metadata.generation == applied.metadata.generation == 1
    assert [m for m in again.to_dict()["metadata"]["managedFields"]
            if m["manager"] == FIELD_MANAGER] == ours

    # Another manager changing a field we own is a conflict...
    other = copy.deepcopy(body)
    other["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] = 5
    with pytest.raises(ApiException) as conflict:
        tfjobs.server_side_apply(body=other, namespace=namespace, field_manager="someone-else")
    assert conflict.value.status == 409
    assert FIELD_MANAGER in conflict.value.body

    # ...unless forced, which moves ownership of that field.
    forced = tfjobs.server_side_apply(body=other, namespace=namespace,
                                      field_manager="someone-else", force_conflicts=True)
    assert forced.spec.tfReplicaSpecs.Worker.replicas == 5
    owners = {m["manager"]: m["fieldsV1"] for m in forced.to_dict()["metadata"]["managedFields"]}
    assert "f:replicas" in owners["someone-else"]["f:spec"]["f:tfReplicaSpecs"]["f:Worker"]
    assert "f:replicas" not in owners[FIELD_MANAGER]["f:spec"]["f:tfReplicaSpecs"]["f:Worker"]


def test_server_side_apply_of_the_same_object_writes_nothing(namespace, api):
    core = client.CoreV1Api(api)
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace}, "data": {"lr": "0.01"}}
    first = core.patch_namespaced_config_map(
        "settings", namespace, body, field_manager=FIELD_MANAGER,
        _content_type="application/apply-patch+yaml")
    second = core.patch_namespaced_config_map(
        "settings", namespace, body, field_manager=FIELD_MANAGER,
        _content_type="application/apply-patch+yaml")
    assert second.metadata.resource_version == first.metadata.resource_version
    body["data"]["lr"] = "0.02"
    third = core.patch_namespaced_config_map(
        "settings", namespace, body, field_manager=FIELD_MANAGER,
        _content_type="application/apply-patch+yaml")
    assert third.metadata.resource_version != first.metadata.resource_version
    assert third.data == {"lr": "0.02"}


def test_stale_resource_version_is_a_conflict(namespace, api):
    # On a ConfigMap: no controller writes it behind the test's back (the
    # training operator does write TFJobs).
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "stale"}})
    fresh = core.read_namespaced_config_map("stale", namespace)
    fresh.data = {"step": "1"}
    core.replace_namespaced_config_map("stale", namespace, fresh)
    created.data = {"step": "2"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("stale", namespace, created)
    assert e.value.status == 409
    assert core.read_namespaced_config_map("stale", namespace).data == {"step": "1"}


INVALID_TFJOBS = {
    "missing": (lambda j: j["spec"].pop("tfReplicaSpecs"), "spec.tfReplicaSpecs"),
    "mistyped": (lambda j: j["spec"]["tfReplicaSpecs"]["Worker"].update(replicas="two"),
                 "spec.tfReplicaSpecs.Worker.replicas"),
}


@pytest.mark.parametrize("case", INVALID_TFJOBS)
def test_crd_schema_rejects_an_invalid_tfjob(namespace, tfjobs, case):
    breakage, field = INVALID_TFJOBS[case]
    body = tfjob("invalid", namespace)
    breakage(body)
    with pytest.raises(ApiException) as e:
        tfjobs.create(body=body, namespace=namespace)
    assert e.value.status == 422, e.value.body
    assert field in json.loads(e.value.body)["message"]
    assert tfjobs.get(namespace=namespace).items == []


@pytest.mark.parametrize("case", INVALID_TFJOBS)
def test_server_side_apply_rejects_an_invalid_tfjob(namespace, tfjobs, case):
    breakage, field = INVALID_TFJOBS[case]
    body = tfjob("invalid", namespace)
    breakage(body)
    with pytest.raises(ApiException) as e:
        tfjobs.server_side_apply(body=body, namespace=namespace, field_manager=FIELD_MANAGER)
    # A real apiserver quirk a fake would hide: server-side apply builds a
    # typed object from the CRD schema before validating, so a wrong type is
    # answered "500 failed to create typed patch object", not 422.
    assert e.value.status == (500 if case == "mistyped" else 422), e.value.body
    assert field in json.loads(e.value.body)["message"]
    assert tfjobs.get(namespace=namespace).items == []


def test_unknown_fields_are_pruned_or_rejected(namespace, tfjobs):
    body = tfjob("typo", namespace)
    body["spec"]["tfReplicaSpec"] = body["spec"]["tfReplicaSpecs"]  # a typo'd field
    # Strict field validation rejects it. (The dynamic client silently drops a
    # field_validation= argument, hence the raw query parameter.)
    with pytest.raises(ApiException) as e:
        tfjobs.create(body=body, namespace=namespace,
                      query_params=[("fieldValidation", "Strict")])
    assert e.value.status in (400, 422), e.value.body
    assert "tfReplicaSpec" in e.value.body
    # By default the structural schema prunes it: accepted, and silently gone.
    created = tfjobs.create(body=body, namespace=namespace).to_dict()
    assert "tfReplicaSpec" not in created["spec"]
    assert "Worker" in created["spec"]["tfReplicaSpecs"]


def test_gpu_deployment_is_scheduled_and_runs(cluster, namespace, api):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    # All eight GPUs: only the 8-GPU node fits, so the scheduler must pick it.
    gpus = max(cluster.gpu_nodes.values())
    big_node = [n for n, g in cluster.gpu_nodes.items() if g == gpus][0]
    labels = {"app": "trainer"}
    apps.create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "trainer"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": "busybox",
                                     "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]},
        }},
    })

    def running_pod():
        pods = core.list_namespaced_pod(namespace, label_selector="app=trainer").items
        return pods[0] if pods and pods[0].status.phase == "Running" else None

    pod = until(running_pod, what="the Deployment's pod to run")
    assert pod.spec.node_name == big_node
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    until(lambda: apps.read_namespaced_deployment(
        "trainer", namespace).status.available_replicas == 1, what="the Deployment to be available")

    # A second such pod fits nowhere and stays Pending, as on a real cluster.
    apps.patch_namespaced_deployment_scale("trainer", namespace, {"spec": {"replicas": 2}})

    def unschedulable():
        for p in core.list_namespaced_pod(namespace, label_selector="app=trainer").items:
            for c in p.status.conditions or []:
                if c.type == "PodScheduled" and c.reason == "Unschedulable":
                    return c
        return None

    condition = until(unschedulable, what="a second 8-GPU pod to be unschedulable")
    assert "nvidia.com/gpu" in condition.message


def test_deleting_an_owner_garbage_collects_dependents(namespace, api, tfjobs):
    core = client.CoreV1Api(api)
    owner = tfjobs.create(body=tfjob("owner", namespace), namespace=namespace)
    core.create_namespaced_service(namespace, {
        "metadata": {"name": "owner-tensorboard", "ownerReferences": [{
            "apiVersion": "kubeflow.org/v1", "kind": "TFJob",
            "name": owner.metadata.name, "uid": owner.metadata.uid}]},
        "spec": {"ports": [{"port": 6006}], "selector": {"job": "owner"}},
    })
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "unowned"}})

    tfjobs.delete(name="owner", namespace=namespace, body={"propagationPolicy": "Background"})

    def service_gone():
        try:
            core.read_namespaced_service("owner-tensorboard", namespace)
        except ApiException as e:
            return e.status == 404
        return False

    until(service_gone, what="the garbage collector to delete the dependent Service")
    assert core.read_namespaced_config_map("unowned", namespace).metadata.name == "unowned"


def test_limited_user_is_confined_to_its_namespace(cluster, namespace):
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig_limited))
    core = client.CoreV1Api(api)
    # Allowed in its own namespace (the positive control)...
    core.create_namespaced_config_map(cluster.limited_namespace,
                                      {"metadata": {"name": f"mine-{namespace}"}})
    names = [c.metadata.name for c in core.list_namespaced_config_map(cluster.limited_namespace).items]
    assert f"mine-{namespace}" in names
    core.delete_namespaced_config_map(f"mine-{namespace}", cluster.limited_namespace)
    # ...forbidden elsewhere, and cluster-wide.
    for call in (lambda: core.list_namespaced_pod(namespace),
                 lambda: core.create_namespaced_config_map(namespace, {"metadata": {"name": "x"}}),
                 lambda: core.list_node()):
        with pytest.raises(ApiException) as e:
            call()
        assert e.value.status == 403
        assert cluster.info["limited_user"] in json.loads(e.value.body)["message"]
    denied = cluster.run_kubectl("auth", "can-i", "create", "tfjobs.kubeflow.org",
                                 f"--namespace={namespace}", limited=True, check=False)
    assert denied.stdout.strip() == "no"


def test_training_operator_runs_a_tfjob(cluster, namespace, api, tfjobs):
    assert cluster.info.get("training_operator"), "up always starts the training operator"
    core = client.CoreV1Api(api)
    tfjobs.server_side_apply(body=tfjob("mnist", namespace, workers=2), namespace=namespace,
                             field_manager=FIELD_MANAGER)

    def running():
        job = tfjobs.get(name="mnist", namespace=namespace).to_dict()
        status = job.get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        active = ((status.get("replicaStatuses") or {}).get("Worker") or {}).get("active")
        # The operator says Running once the first worker runs; both are active a reconcile later.
        return job if conditions.get("Running") == "True" and active == 2 else None

    until(running, timeout=90, what="the operator to report the TFJob Running with 2 active workers")
    pods = core.list_namespaced_pod(
        namespace, label_selector="training.kubeflow.org/job-name=mnist").items
    assert sorted(p.metadata.name for p in pods) == ["mnist-worker-0", "mnist-worker-1"]
    assert all(p.status.phase == "Running" for p in pods)
    assert all(p.spec.node_name in cluster.gpu_nodes for p in pods)
    assert all(p.metadata.owner_references[0].kind == "TFJob" for p in pods)
    # The operator's TF_CONFIG tells each worker about its peers' Services.
    tf_config = json.loads({e.name: e.value for e in pods[0].spec.containers[0].env}["TF_CONFIG"])
    assert len(tf_config["cluster"]["worker"]) == 2
    services = core.list_namespaced_service(
        namespace, label_selector="training.kubeflow.org/job-name=mnist").items
    assert len(services) == 2

    # Deleting the job garbage-collects what the operator made for it.
    tfjobs.delete(name="mnist", namespace=namespace)
    until(lambda: not core.list_namespaced_pod(
        namespace, label_selector="training.kubeflow.org/job-name=mnist").items,
        what="the TFJob's pods to be deleted")


def test_training_operator_webhook_rejects_a_tfjob_without_tensorflow_container(
        cluster, namespace, tfjobs):
    assert cluster.info.get("training_operator"), "up always starts the training operator"
    body = tfjob("renamed", namespace)
    body["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["name"] = "main"
    with pytest.raises(ApiException) as e:
        tfjobs.create(body=body, namespace=namespace)
    assert e.value.status in (400, 403, 422), e.value.body
    message = json.loads(e.value.body)["message"]
    assert "validator.tfjob.training-operator.kubeflow.org" in message
    assert "tensorflow" in message


def test_up_refuses_a_directory_that_is_running(cluster):
    from arena_testcluster import cluster as control_plane

    with pytest.raises(RuntimeError, match="already has a running control plane"):
        control_plane.up(cluster.dir)
    cluster.check_ready()  # and left it alone


def test_annotated_pods_exit_and_the_operator_finishes_the_tfjob(cluster, namespace, api, tfjobs):
    assert cluster.info.get("training_operator"), "up always starts the training operator"
    core = client.CoreV1Api(api)
    annotation = cluster.info["exit_code_annotation"]
    tfjobs.create(body=tfjob("done", namespace, workers=2), namespace=namespace)
    selector = "training.kubeflow.org/job-name=done"

    def running_pods():
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
        return pods if len(pods) == 2 and all(p.status.phase == "Running" for p in pods) else None

    until(running_pods, what="the TFJob's pods to run")
    # TFJob's default success policy: the job is done when worker 0 is.
    core.patch_namespaced_pod("done-worker-0", namespace,
                              {"metadata": {"annotations": {annotation: "0"}}})

    def succeeded():
        status = tfjobs.get(name="done", namespace=namespace).to_dict().get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return status if conditions.get("Succeeded") == "True" else None

    status = until(succeeded, timeout=90, what="the operator to mark the TFJob Succeeded")
    assert status["completionTime"]
    assert status["replicaStatuses"]["Worker"]["succeeded"] >= 1
    pod = core.read_namespaced_pod("done-worker-0", namespace)
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0


def test_a_nonzero_exit_code_fails_the_pod(cluster, namespace, api):
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "crash", "annotations": {cluster.info["exit_code_annotation"]: "3"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
    })
    pod = until(lambda: (p := core.read_namespaced_pod("crash", namespace)).status.phase
                     == "Failed" and p, what="the pod to fail")
    assert pod.status.container_statuses[0].state.terminated.exit_code == 3
