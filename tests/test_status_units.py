"""The status layer's pure parts: phases with pods, GPU counts, endpoints, durations."""

import datetime as dt

import pytest

from arena_run.objects.times import age as _span
from arena_run.status.experiments import ExperimentStatus, _endpoint, _job_status

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def job(conditions, replicas=2, gpus=1):
    template = {"spec": {"containers": [{"name": "tensorflow", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]}}
    return {
        "kind": "TFJob",
        "metadata": {"name": "j", "creationTimestamp": "2026-01-01T11:00:00Z"},
        "spec": {"tfReplicaSpecs": {"Worker": {"replicas": replicas, "template": template}}},
        "status": {"conditions": [{"type": c, "status": "True"} for c in conditions],
                   "startTime": "2026-01-01T11:00:00Z", "completionTime": "2026-01-01T11:42:05Z"},
    }


def pod(index, phase, node="gpu-node-8", ready=False, gpus=1):
    return {
        "metadata": {"labels": {"training.kubeflow.org/job-name": "j", "training.kubeflow.org/replica-type": "worker",
                                "training.kubeflow.org/replica-index": str(index)}},
        "spec": {"nodeName": node, "containers": [{"resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_running_job_with_a_pending_pod_is_pending():
    st = _job_status(job(["Created", "Running"]), [pod(0, "Running", ready=True), pod(1, "Pending", node=None)], NOW)
    assert st.phase == "Pending"
    assert st.replicas == {"Worker": "1/2"}
    assert (st.gpus_requested, st.gpus_allocated) == (2, 1)
    assert st.age == "1h" and st.duration is None


def test_finished_pods_hold_no_gpus():
    st = _job_status(job(["Created", "Succeeded"]), [pod(0, "Succeeded"), pod(1, "Succeeded")], NOW)
    assert st.phase == "Succeeded" and st.gpus_allocated == 0 and st.replicas == {"Worker": "2/2"}
    assert st.duration == "42m5s"


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (59, "59s"), (60, "1m"), (3661, "1h1m"), (90000, "1d1h"), (86400, "1d")])
def test_span(seconds, text):
    assert _span(NOW, NOW + dt.timedelta(seconds=seconds)) == text


def test_endpoints():
    svc = {"metadata": {"name": "e-tensorboard", "namespace": "ns"},
           "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 6006, "nodePort": 31000}]}}
    nodes = [{"status": {"conditions": [{"type": "Ready", "status": "False"}],
                         "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
             {"status": {"conditions": [{"type": "Ready", "status": "True"}],
                         "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}}]
    assert _endpoint(svc, [], nodes).url == "http://10.0.0.2:31000"
    svc["spec"] = {"type": "ClusterIP", "ports": [{"name": "grpc", "port": 8500}, {"name": "http", "port": 8501}]}
    deploy = {"metadata": {"name": "e-tensorboard"}, "spec": {"replicas": 2}, "status": {"availableReplicas": 1}}
    ep = _endpoint(svc, [deploy], [])
    assert ep.url == "http://e-tensorboard.ns.svc:8501 (grpc :8500)"
    assert ep.available == "1/2"
    assert ep.hint == "kubectl port-forward -n ns svc/e-tensorboard 8501:8501"


def test_a_sweeps_age_is_its_oldest_jobs_by_duration_not_by_text():
    def created(ago: dt.timedelta):
        j = job(["Created", "Running"])
        j["metadata"]["creationTimestamp"] = (NOW - ago).isoformat().replace("+00:00", "Z")
        return _job_status(j, [], NOW)

    young, old = created(dt.timedelta(minutes=9)), created(dt.timedelta(days=1, hours=2))
    assert (young.age, old.age) == ("9m", "1d2h")  # as text, "9m" > "1d2h"
    st = ExperimentStatus("sweep", "ns", "in sync", jobs=[young, old])
    assert st.age == "1d2h" and st.to_dict()["age"] == "1d2h"
    assert ExperimentStatus("one", "ns", "in sync", jobs=[young]).age == "9m"
    assert ExperimentStatus("none", "ns", "in sync").age == "-"
