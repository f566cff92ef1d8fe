"""`apply --wait` readiness: a Deployment only once its rollout is done (as
`kubectl rollout status` decides), an InferenceService only once Ready for the
generation just written."""

from __future__ import annotations

from hypothesis import given, strategies as st

from arena_run.objects.phase import ready


def deployment(generation=2, observed=2, replicas=2, updated=2, total=2, available=2, conditions=()):
    return {"kind": "Deployment", "metadata": {"generation": generation}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "conditions": list(conditions)}}


def test_a_finished_rollout_is_ready():
    assert ready(deployment()) == (True, "2/2 available")


def test_old_generation_all_available_is_not_ready():
    # Right after an update: the controller has not seen the new spec, and the
    # old pods are all available.
    assert ready(deployment(generation=3, observed=2)) == (False, "waiting for the new generation to be observed")


def test_mid_rollout_is_not_ready():
    # Old pods still serve (available 2/2) while the new ones come up.
    assert ready(deployment(updated=1, total=3, available=2)) == (False, "1 of 2 new replicas updated")
    assert ready(deployment(updated=2, total=3, available=2)) == (False, "1 old replicas pending termination")
    assert ready(deployment(updated=2, total=2, available=1)) == (False, "1 of 2 updated replicas available")


def test_progress_deadline_is_not_ready():
    stuck = deployment(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    assert ready(stuck) == (False, "rollout exceeded its progress deadline")


counts = st.integers(min_value=0, max_value=4)


@given(generation=st.integers(1, 4), observed=st.integers(0, 4), replicas=counts, updated=counts, total=counts,
       available=counts)
def test_ready_only_when_every_replica_is_new_and_available(generation, observed, replicas, updated, total, available):
    ok, _ = ready(deployment(generation, observed, replicas, updated, total, available))
    if ok:
        assert observed >= generation
        assert updated >= replicas and total <= updated and available >= updated


def isvc(generation, observed, ready_status):
    return {"kind": "InferenceService", "metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "conditions": [{"type": "Ready", "status": ready_status}]}}


def test_inference_service_ready_only_for_the_new_generation():
    assert ready(isvc(2, 1, "True")) == (False, "waiting for the new generation to be observed")
    assert ready(isvc(2, 2, "False")) == (False, "not ready")
    assert ready(isvc(2, 2, "True")) == (True, "ready")


def test_missing_object_is_not_ready():
    assert ready(None) == (False, "not found")
