"""The pure parts of the local target: the operators' variables, selectors, ports."""

from __future__ import annotations

import json

from arena_run.local import distributed
from arena_run.local.kubelet import local_ports
from arena_run.local.view import _fields_match, _labels_match


def _job(kind, roles):
    key = "tfReplicaSpecs" if kind == "TFJob" else "pytorchReplicaSpecs"
    return {"kind": kind, "spec": {key: {r: {"replicas": n} for r, n in roles.items()}}}


def test_tf_config_as_the_operator_marshals_it():
    job = _job("TFJob", {"Chief": 1, "PS": 1, "Worker": 2, "Evaluator": 1})
    slots = [distributed.Slot(r, i, 1000 + n) for n, (r, i) in enumerate(
        [("Chief", 0), ("PS", 0), ("Worker", 0), ("Worker", 1), ("Evaluator", 0)])]
    (name, raw), = distributed.operator_env(job, slots, slots[3])
    assert name == "TF_CONFIG"
    # genTFConfigJSONStr: every replica type the job has (genClusterSpec walks them all), Go's field
    # order, map keys sorted, no spaces.
    assert raw == ('{"cluster":{"chief":["127.0.0.1:1000"],"evaluator":["127.0.0.1:1004"],'
                   '"ps":["127.0.0.1:1001"],"worker":["127.0.0.1:1002","127.0.0.1:1003"]},'
                   '"task":{"type":"worker","index":1},"environment":"cloud"}')


def test_no_tf_config_for_a_single_replica():
    job = _job("TFJob", {"Worker": 1})
    assert distributed.operator_env(job, [distributed.Slot("Worker", 0, 1)], distributed.Slot("Worker", 0, 1)) == []


def test_pytorch_env_as_the_v1_operator_sets_it():
    job = _job("PyTorchJob", {"Master": 1, "Worker": 2})
    slots = [distributed.Slot("Master", 0, 2000), distributed.Slot("Worker", 0, 2001),
             distributed.Slot("Worker", 1, 2002)]
    assert distributed.operator_env(job, slots, slots[2]) == [
        ("PYTHONUNBUFFERED", "1"), ("MASTER_PORT", "2000"), ("PET_MASTER_PORT", "2000"),
        ("MASTER_ADDR", "127.0.0.1"), ("PET_MASTER_ADDR", "127.0.0.1"), ("WORLD_SIZE", "3"),
        ("RANK", "2"), ("PET_NODE_RANK", "2"), ("PET_NNODES", "3"),
    ]
    assert ("RANK", "0") in distributed.operator_env(job, slots, slots[0])


def test_free_ports_are_distinct():
    ports = distributed.free_ports(20)
    assert len(set(ports)) == 20 and all(0 < p < 65536 for p in ports)


def test_selectors():
    labels = {"a": "1", "b": "2"}
    assert _labels_match(labels, "a=1,b") and not _labels_match(labels, "a=2") and _labels_match(labels, "c!=3")
    assert not _labels_match(labels, "!a") and not _labels_match(labels, "c")
    pod = {"spec": {"nodeName": "localhost"}, "status": {"phase": "Running"}}
    sel = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
    assert _fields_match(pod, sel)
    assert not _fields_match({"spec": {}, "status": {"phase": "Running"}}, sel)
    assert not _fields_match({**pod, "status": {"phase": "Failed"}}, sel)


def test_server_ports_become_free_local_ones():
    argv = ["tensorboard", "--logdir", "/data/logs", "--host", "0.0.0.0", "--port", "6006"]
    assert local_ports(argv, {6006: 41000}) == ["tensorboard", "--logdir", "/data/logs", "--host", "127.0.0.1",
                                                "--port", "41000"]
    serving = ["tensorflow_model_server", "--port=8500", "--rest_api_port=8501", "--model_name=m"]
    assert local_ports(serving, {8500: 1, 8501: 2}) == ["tensorflow_model_server", "--port=1",
                                                         "--rest_api_port=2", "--model_name=m"]
    assert json.dumps(local_ports([], {})) == "[]"


def test_a_fractional_cpu_request_takes_that_share_of_a_core():
    """Issue 18: `cpu = "100m"` took a whole core in local admission."""
    from arena_run.local.resources import cores_of

    assert [cores_of(c) for c in ("100m", "0.5", "1", "2", "1500m", "2k", None)] == [0.1, 0.5, 1, 2, 1.5, 2000, 1]
    assert sum(cores_of("100m") for _ in range(10)) <= 1.0 + 1e-9
