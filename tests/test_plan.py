"""The plan layer, pure: diffs, removals, owners, and plans against live objects the real API server served.

The live objects come from tests/fixtures/live/recorded.json, written by
`tests/cluster/record-live` from the control plane of tests/cluster: their
managedFields are what server-side apply produced, not what a test imagined.
"""

import copy
import json
from pathlib import Path

import pytest

from arena_run._version import __version__
from arena_run.objects.applyset import FINISHED_JOBS, GROUP_KINDS, SOURCE, TOOLING, applyset_id
from arena_run.objects.keys import Live, key_of
from arena_run.objects.phase import job_phase
from arena_run.objects.quantity import Quantity
from arena_run.plan import desired_members, make_plan
from arena_run.plan.diff import MISSING, diff, format_path
from arena_run.plan.display import shown_pair
from arena_run.plan.owned import own_fields, owned_changes
from arena_run.plan.owners import other_owners, owners
from arena_run.spec.load import load_text

LIVE = Path(__file__).parent / "fixtures" / "live"
EXP = (LIVE / "exp.toml").read_text()
RECORDED = json.loads((LIVE / "recorded.json").read_text())
NS = "ns"


def exp(text=EXP):
    return load_text(text)


def recorded(scenario="applied") -> Live:
    """The live state of exp.toml as the API server held it (see tests/cluster/record-live).

    The parent's record (data and annotations) is the one this version writes
    for exp.toml, so that adding a key to the file format does not stale the
    recording; its members are exactly as served."""
    snap = copy.deepcopy(RECORDED[scenario])
    parent = snap["parent"]
    current = make_plan(exp(), NS, Live(None, {}, {}), source="tests/fixtures/live/exp.toml").parent_last
    parent["data"], parent["metadata"]["annotations"] = current["data"], current["metadata"]["annotations"]
    return Live(parent, {key_of(o): o for o in snap["members"]}, {})


def member(live: Live, kind: str, name: str = "exp") -> dict:
    return next(o for k, o in live.members.items() if k[0].split(".")[0] == kind and k[2] == name)


def test_recorded_objects_are_what_server_side_apply_left():
    live = recorded()
    for obj in [live.parent, *live.members.values()]:
        fields = own_fields(obj)
        assert fields is not None, obj["metadata"]["name"]  # arena-run's own Apply entry, as served
    deploy = member(live, "Deployment", "exp-tensorboard")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"]  # server defaults


def test_diff_looks_only_at_what_is_desired():
    assert diff({"a": 1, "b": {"c": [1, 2]}}, {"a": 1, "b": {"c": [1, 2], "d": 3}, "e": 4}) == []
    (change,) = diff({"a": {"b": 2}}, {"a": {"b": 3}})
    assert (change.path, change.old, change.new) == (("a", "b"), 3, 2)
    (change,) = diff({"a": 1}, {})
    assert change.old is MISSING


def test_lists_match_by_merge_key_not_position():
    desired = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    assert diff(desired, {"env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}) == []
    (change,) = diff(desired, {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]})
    assert format_path(change.path) == "env[name=B].value"
    (change,) = diff({"command": ["sh", "-c", "x"]}, {"command": ["sh", "-c", "y"]})
    assert format_path(change.path) == "command"


@pytest.mark.parametrize("a,b", [("0.5", "500m"), ("1Gi", "1073741824"), ("1", 1), ("2k", "2000"), ("1e3", "1k")])
def test_resource_quantities_compare_by_value(a, b):
    assert Quantity.parse(a) == Quantity.parse(b)
    assert diff({"resources": {"limits": {"cpu": a}}}, {"resources": {"limits": {"cpu": b}}}) == []
    assert diff({"resources": {"requests": {"memory": a}}}, {"resources": {"requests": {"memory": b}}}) == []


@pytest.mark.parametrize("a,b", [("1.10", "1.1"), ("1e3", "1000"), ("0.10", "0.1"), ("100m", "0.1"), ("1", 1)])
def test_everything_else_compares_literally(a, b):
    (change,) = diff({"env": [{"name": "V", "value": a}]}, {"env": [{"name": "V", "value": b}]})
    assert (change.old, change.new) == (b, a)
    assert diff({"metadata": {"labels": {"v": a}}}, {"metadata": {"labels": {"v": b}}})
    assert diff({"command": ["train", a]}, {"command": ["train", b]})


def test_booleans_are_not_numbers():
    assert diff({"x": True}, {"x": 1}) and diff({"x": "1"}, {"x": True}) and diff({"x": 0}, {"x": False})


def test_right_after_apply_there_are_no_changes():
    plan = make_plan(exp(), NS, recorded(), source="tests/fixtures/live/exp.toml")
    assert not plan.has_changes, [a.to_dict() for a in plan.changes]
    assert plan.parent_first is None and plan.parent_last is None


def test_a_changed_env_value_replaces_the_job():
    plan = make_plan(exp(EXP.replace('"1.10"', '"1.1"')), NS, recorded())
    (action,) = plan.changes
    assert (action.op, action.name, action.reason) == ("replace", "exp", "forces replacement: job.env")
    (change,) = action.changes
    assert change.path.endswith("env[name=VERSION].value") and (change.old, change.new) == ("1.10", "1.1")


def test_a_respelled_quantity_restarts_nothing():
    # The API server normalises a Deployment's quantities: "0.5" is the "500m" it serves.
    assert make_plan(exp(EXP.replace('cpu = "500m"', 'cpu = "0.5"')), NS, recorded()).changes == []  # the record only
    # A TFJob keeps the text it was sent: rewritten to read as the file does, without a restart.
    (action,) = make_plan(exp(EXP.replace('cpu = "0.5"', 'cpu = "500m"')), NS, recorded()).changes
    assert (action.op, action.kind) == ("update", "TFJob")
    assert {(c.old, c.new) for c in action.changes} == {("0.5", "500m")}
    # A different value is a different value.
    (action,) = make_plan(exp(EXP.replace('cpu = "0.5"', 'cpu = "1"')), NS, recorded()).changes
    assert (action.op, action.reason) == ("replace", "forces replacement: job.cpu")


def test_where_the_file_lies_alone_is_no_change():
    plan = make_plan(exp(), NS, recorded(), source="/home/someone/else/exp.toml")
    assert not plan.has_changes and plan.parent_last is None
    # With a real change, the new place is recorded along with it.
    plan = make_plan(exp(EXP.replace("sleep 1", "sleep 2")), NS, recorded(), source="elsewhere/exp.toml")
    assert plan.parent_last["metadata"]["annotations"][SOURCE] == "elsewhere/exp.toml"


def test_removals_come_from_what_arena_run_owns_not_from_the_record():
    without = EXP.replace('logdir = "/data/logs"\ncpu = "500m"', 'logdir = "/data/logs"')
    live = recorded()
    # An apply died after its first parent write: the parent already records
    # the new file.  The removal must still be planned.
    interrupted = make_plan(exp(without), NS, Live(None, {}, {})).parent_last
    live = live._replace(parent=interrupted)
    plan = make_plan(exp(without), NS, live)
    (update,) = plan.changes
    assert (update.op, update.kind, update.name) == ("update", "Deployment", "exp-tensorboard")
    (change,) = update.changes
    assert change.path == "spec.template.spec.containers[name=tensorboard].resources"
    assert change.old == {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}} and change.new is MISSING


def test_no_removal_of_what_another_manager_co_owns():
    live = recorded("shared")
    deploy = member(live, "Deployment", "exp-tensorboard")
    path = ("spec", "template", "spec", "containers")
    assert "teammate" in owners(deploy, path)
    without = EXP.replace('logdir = "/data/logs"\ncpu = "500m"', 'logdir = "/data/logs"')
    (update,) = make_plan(exp(without), NS, live).changes
    # The teammate's limit stays (server-side apply leaves it); only the request goes.
    assert [(c.path, c.old, c.new) for c in update.changes] == [
        ("spec.template.spec.containers[name=tensorboard].resources.requests", {"cpu": "500m"}, MISSING)]


def test_a_field_someone_else_took_over_is_drift_with_the_live_value():
    live = recorded("scaled")
    deploy = member(live, "Deployment", "exp-tensorboard")
    assert other_owners(deploy, ("spec", "replicas")) and deploy["spec"]["replicas"] == 3
    (update,) = make_plan(exp(), NS, live).changes
    (change,) = update.changes
    assert (change.path, change.old, change.new) == ("spec.replicas", 3, 1)
    assert change.changed_by and change.changed_by[0].startswith("kubectl")
    # Dropping the field from the file is no removal: the scaler owns it now.
    deploy_desired = next(o for o in desired_members(exp(), NS) if o["kind"] == "Deployment")
    del deploy_desired["spec"]["replicas"]
    assert [c for c in owned_changes(deploy_desired, deploy) if c.path == ("spec", "replicas")] == []


def test_fresh_experiment_is_all_creates_and_parent_first():
    plan = make_plan(exp(), NS, Live(None, {}, {}))
    assert plan.counts() == {"create": 3}
    assert plan.parent_first is not None and plan.parent_last is not None
    assert plan.parent_last["metadata"]["annotations"][GROUP_KINDS] == "Deployment.apps,Service,TFJob.kubeflow.org"
    set_id = applyset_id("arena-run-exp", NS)
    assert all(a.desired["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == set_id for a in plan.actions)


def test_a_changed_command_replaces_the_job_and_names_the_key():
    plan = make_plan(exp(EXP.replace("sleep 1", "sleep 2")), NS, recorded())
    (action,) = plan.changes
    assert (action.op, action.name, action.reason) == ("replace", "exp", "forces replacement: job.command")


def test_removed_sections_are_pruned_and_kinds_shrink_last():
    plan = make_plan(exp(EXP.replace('[tensorboard]\nlogdir = "/data/logs"\ncpu = "500m"\n', "")), NS, recorded())
    assert {(a.op, a.kind) for a in plan.changes} == {("delete", "Deployment"), ("delete", "Service")}
    # First the old set (what may still exist while pruning), then the new one.
    assert plan.parent_first["metadata"]["annotations"][GROUP_KINDS] == "Deployment.apps,Service,TFJob.kubeflow.org"
    assert plan.parent_last["metadata"]["annotations"][GROUP_KINDS] == "TFJob.kubeflow.org"


def test_a_new_kind_grows_the_parent_first():
    live = recorded()
    live.members.pop(key_of(member(live, "Deployment", "exp-tensorboard")))
    live.members.pop(key_of(member(live, "Service", "exp-tensorboard")))
    live.parent["metadata"]["annotations"][GROUP_KINDS] = "TFJob.kubeflow.org"
    plan = make_plan(exp(), NS, live)
    assert plan.parent_first["metadata"]["annotations"][GROUP_KINDS] == "Deployment.apps,Service,TFJob.kubeflow.org"


def test_a_foreign_object_is_a_problem_unless_adopted():
    clash = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "exp-tensorboard", "namespace": NS}}
    live = Live(None, {}, {key_of(clash): clash})
    (problem,) = make_plan(exp(), NS, live).problems
    assert "Service ns/exp-tensorboard exists but is not part of this experiment" in problem
    assert make_plan(exp(), NS, live, adopt=True).problems == []


def _finish(live: Live) -> tuple:
    job = member(live, "TFJob")
    job["status"] = {"conditions": [{"type": "Succeeded", "status": "True"}]}
    return key_of(job), job


def test_a_job_seen_finished_is_recorded_and_kept_after_its_ttl():
    live = recorded()
    job_key, _ = _finish(live)
    plan = make_plan(exp(), NS, live)
    assert [a.reason for a in plan.actions if a.key == job_key] == ["finished"] and not plan.changes
    # Apply records that it saw the job finished: a parent write, no member write.
    assert json.loads(plan.parent_last["metadata"]["annotations"][FINISHED_JOBS]).keys() == {"exp"}
    assert plan.record_only and plan.record_note == "the finished job(s) it now sees"
    assert make_plan(exp(), NS, live, rerun=True).counts()["replace"] == 1

    after = live._replace(parent=plan.parent_last)
    assert not make_plan(exp(), NS, after).has_changes
    del after.members[job_key]  # its TTL removed it
    plan = make_plan(exp(), NS, after)
    assert plan.counts()["keep"] == 1 and not plan.has_changes
    assert make_plan(exp(), NS, after, rerun=True).counts()["create"] == 1
    # Changed since: it runs again.
    assert make_plan(exp(EXP.replace("sleep 1", "sleep 3")), NS, after).counts()["create"] == 1


def test_a_record_an_older_version_wrote_is_only_rewritten_and_plan_says_so():
    """Nothing finished and nothing changed but the version that keeps the record: plan must not
    say it records finished jobs."""
    live = recorded()
    live.parent["metadata"]["annotations"][TOOLING] = "arena-run/0.0.1"
    plan = make_plan(exp(), NS, live)
    assert plan.record_only and not plan.changes and not plan.to_review
    assert plan.record_note == f"that arena-run {__version__} keeps it now"
    assert plan.parent_last["metadata"]["annotations"][TOOLING] == f"arena-run/{__version__}"


def test_a_job_deleted_while_running_is_recreated():
    live = recorded()
    del live.members[key_of(member(live, "TFJob"))]
    plan = make_plan(exp(), NS, live)
    assert plan.counts()["create"] == 1


def test_a_parent_of_another_tool_is_refused():
    live = recorded()
    live.parent["metadata"]["annotations"]["applyset.kubernetes.io/tooling"] = "kubectl/v1.36.3"
    (problem,) = make_plan(exp(), NS, live).problems
    assert "another tool (kubectl/v1.36.3)" in problem


def test_long_values_show_where_they_differ():
    base = "python train.py " + " ".join(f"--flag{i} {i}" for i in range(30))
    old, new = base + " --lr 0.1 --epochs 3", base + " --lr 0.2 --epochs 3"
    shown_old, shown_new = shown_pair(old, new)
    assert shown_old != shown_new
    assert "--lr 0.1" in shown_old and "--lr 0.2" in shown_new
    assert len(shown_old) <= 120 and shown_old.startswith("…")
    assert shown_pair("a", "b") == ('"a"', '"b"')
    assert shown_pair(MISSING, "x") == ("(absent)", '"x"')
    # One a prefix of the other: still two different texts.
    long = "x" * 300
    assert len(set(shown_pair(long, long + "y"))) == 2


@pytest.mark.parametrize("types,phase", [
    ([], "Pending"), (["Created"], "Pending"), (["Created", "Running"], "Running"),
    (["Running", "Failed"], "Failed"), (["Failed", "Succeeded"], "Succeeded"), (["Restarting"], "Restarting"),
])
def test_job_phase(types, phase):
    job = {"status": {"conditions": [{"type": t, "status": "True"} for t in types]}}
    assert job_phase(job) == phase
