"""GPUs per pod: one rule, the scheduler's, for `status`, `top` and the local target's admission.

max(the largest init container, the sum of the containers) of `nvidia.com/gpu`; a value the API
server refuses (not a whole, non-negative quantity) counts as 0 wherever it is read.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from arena_run.objects.gpus import gpu_count, pod_gpus
from arena_run.status.experiments import _job_status
from arena_run.status.top import top_jobs

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
MALFORMED = ["1.5", "500m", "-1", "abc", "", "1 ", "1Ki.5", True]
# Spellings of n GPUs the API server accepts: an integer, its text, a whole decimal, an exponent.
SPELLINGS = [lambda n: n, str, lambda n: f"{n}.0", lambda n: f"{n}e0", lambda n: f"{n * 1000}m"]


def container(value):
    return {"name": "c", "resources": {} if value is None else {"limits": {"nvidia.com/gpu": value}}}


@pytest.mark.parametrize("value,count", [(2, 2), ("2", 2), ("1.0", 1), ("1e0", 1), ("3000m", 3), ("0", 0),
                                         (None, 0), *[(v, 0) for v in MALFORMED]])
def test_a_gpu_count_is_a_whole_quantity_else_zero(value, count):
    assert gpu_count(value) == count


def test_the_init_container_counts_when_it_needs_more():
    assert pod_gpus({"initContainers": [container(4)], "containers": [container(1), container(1)]}) == 4
    assert pod_gpus({"initContainers": [container(1), container(2)], "containers": [container(2), container(1)]}) == 3
    assert pod_gpus({"containers": [container(None), container(3)]}) == 3
    assert pod_gpus({}) == 0


counts = st.lists(st.integers(0, 8), max_size=4)


@given(counts, counts, st.data())
def test_pod_gpus_is_the_schedulers_rule(init, main, data):
    spell = data.draw(st.sampled_from(SPELLINGS))
    spec = {"initContainers": [container(spell(n)) for n in init], "containers": [container(spell(n)) for n in main]}
    assert pod_gpus(spec) == max(max(init, default=0), sum(main))


values = st.one_of(st.integers(0, 4), st.integers(0, 4).map(str), st.sampled_from(MALFORMED), st.none())


@given(st.lists(values, max_size=3), st.lists(values, min_size=1, max_size=3), st.integers(1, 3), st.booleans())
def test_status_and_top_count_the_same_gpus(init, main, replicas, bound):
    """A job's GPUs as `status` and as `top job` report them: one rule, the same numbers, malformed values alike."""
    template = {"initContainers": [container(v) for v in init], "containers": [container(v) for v in main]}
    job = {"apiVersion": "kubeflow.org/v1", "kind": "TFJob",
           "metadata": {"name": "j", "namespace": "ns", "creationTimestamp": "2026-11-28T11:00:00Z"},
           "spec": {"tfReplicaSpecs": {"Worker": {"replicas": replicas, "template": {"spec": template}}}},
           "status": {"conditions": [{"type": "Running", "status": "True"}]}}
    pods = [{"metadata": {"name": f"j-worker-{i}", "namespace": "ns",
                          "labels": {"training.kubeflow.org/job-name": "j", "training.kubeflow.org/replica-type": "worker"}},
             "spec": {**template, **({"nodeName": "n1"} if bound else {})}, "status": {"phase": "Running"}}
            for i in range(replicas)]
    (top,) = top_jobs([job], pods, NOW)
    status = _job_status(job, pods, NOW)
    assert (status.gpus_requested, status.gpus_allocated) == (top.gpus_requested, top.gpus_allocated)
    assert top.gpus_requested == replicas * pod_gpus(template)
    assert top.gpus_allocated == (replicas * pod_gpus(template) if bound else 0)
