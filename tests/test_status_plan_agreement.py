"""`status` says in sync exactly when `plan --detailed-exitcode` exits 0, over the states the suite reaches.

The states: the file as applied or edited (the job's command, TensorBoard's CPU), the job pending,
running or finished, or deleted (its TTL, or by hand), a member changed by another field manager
(drift), and the record written by this arena-run or by an older one whose rendering differs from
this one's (a render change the file did not make).  status and plan each see the same live objects;
plan is the planner as the CLI runs it (exit 0 when nothing is to review, 1 on a problem).
"""

from __future__ import annotations

import copy

from hypothesis import given, settings, strategies as st

from arena_run.objects.applyset import TOOLING
from arena_run.objects.keys import Live
from arena_run.plan import make_plan
from arena_run.status.experiments import _sync

from .test_plan import EXP, NS, exp, member, recorded

EDITS = {
    "none": EXP,
    "job command": EXP.replace('command = "sleep 1"', 'command = "sleep 2"'),
    "tensorboard cpu": EXP.replace('cpu = "500m"', 'cpu = "1"'),
}
PHASES = {
    "pending": None,
    "running": {"conditions": [{"type": "Running", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    "finished": {"conditions": [{"type": "Succeeded", "status": "True", "lastTransitionTime": "2026-01-01T01:00:00Z"}],
                 "completionTime": "2026-01-01T01:00:00Z"},
}


def state(edit: str, phase: str, job_gone: bool, drift: bool, older_renderer: bool) -> tuple[Live, str]:
    live = recorded()
    job = member(live, "TFJob")
    if PHASES[phase] is not None:
        job["status"] = copy.deepcopy(PHASES[phase])
    if older_renderer:
        # What an older arena-run wrote: the same file rendered otherwise (here, the job's env spelled
        # differently), recorded under its version.
        live.parent["metadata"]["annotations"][TOOLING] = "arena-run/0.1.0"
        container = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
        container["env"] = [dict(e, value="1.1") if e["name"] == "VERSION" else e for e in container["env"]]
    if drift:
        deploy = member(live, "Deployment", "exp-tensorboard")
        deploy["spec"]["template"]["spec"]["containers"][0]["image"] = "someone/else:1"
        deploy["metadata"]["managedFields"].append({
            "manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                'k:{"name":"tensorboard"}': {".": {}, "f:image": {}}}}}}}})
    if job_gone:
        del live.members[next(k for k in live.members if k[0].startswith("TFJob."))]
    return live, EDITS[edit]


def grouped(live: Live) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for key, obj in live.members.items():
        out.setdefault(key[0], []).append(obj)
    return out


@settings(max_examples=150, deadline=None)  # make_plan renders: slow on a loaded machine, not wrong
@given(st.sampled_from(sorted(EDITS)), st.sampled_from(sorted(PHASES)), st.booleans(), st.booleans(), st.booleans(),
       st.booleans())
def test_status_is_in_sync_exactly_when_plan_exits_0(edit, phase, job_gone, drift, older_renderer, by_name):
    live, text = state(edit, phase, job_gone, drift, older_renderer)
    file = exp(text)
    if by_name:  # status NAME: what the record holds stands for the file
        from arena_run.spec.model import Experiment

        file = Experiment.from_json(live.parent["data"]["experiment.json"])
    plan = make_plan(file, NS, live)
    plan_exit = 1 if plan.problems else (2 if plan.to_review else 0)
    sync, detail = _sync(live.parent, grouped(live), None if by_name else file, NS)
    assert (sync == "in sync") == (plan_exit == 0), (sync, detail, [a.to_dict() for a in plan.actions])


def test_an_upgrade_that_renders_a_running_job_differently_defers_it():
    live, text = state("none", "running", job_gone=False, drift=False, older_renderer=True)
    (action,) = [a for a in make_plan(exp(text), NS, live).actions if a.kind == "TFJob"]
    assert action.op == "defer" and action.tool_caused
    assert "renders this differently (job.env); your file is unchanged" in action.reason
    assert _sync(live.parent, grouped(live), exp(text), NS)[0] == "deferred until the job ends"
    # The record keeps naming the version whose rendering still runs, so the next plan defers again.
    plan = make_plan(exp(text), NS, live)
    assert (plan.parent_last or live.parent)["metadata"]["annotations"][TOOLING] == "arena-run/0.1.0"
    assert make_plan(exp(text), NS, live, replace_running=True).actions[-1].op == "replace"


def test_once_the_job_has_ended_a_render_change_reruns_nothing():
    live, text = state("none", "finished", job_gone=False, drift=False, older_renderer=True)
    plan = make_plan(exp(text), NS, live)
    (action,) = [a for a in plan.actions if a.kind == "TFJob"]
    assert action.op == "unchanged" and "renders this differently" in action.reason
    assert not plan.to_review and _sync(live.parent, grouped(live), exp(text), NS)[0] == "in sync"


def test_an_edit_of_the_file_is_the_users_change_even_after_an_upgrade():
    live, text = state("job command", "running", job_gone=False, drift=False, older_renderer=True)
    (action,) = [a for a in make_plan(exp(text), NS, live).actions if a.kind == "TFJob"]
    assert action.op == "replace" and not action.tool_caused and action.stops_unfinished_job
    assert _sync(live.parent, grouped(live), exp(text), NS)[0] == "changed (not applied)"


def test_an_edit_an_interrupted_apply_left_unwritten_is_still_the_users_after_an_upgrade():
    """An apply writes the parent before any member; killed right after it, the members are as before.
    The record written first must still say what the members were rendered from: were it the edited
    file, an upgraded arena-run would take the unwritten edit for its own rendering and defer it."""
    live, text = state("none", "running", job_gone=False, drift=False, older_renderer=True)
    edited = exp(EDITS["job command"])
    first = make_plan(edited, NS, live).parent_first  # what that (older) apply wrote before it was killed
    assert first is not None
    first["metadata"]["annotations"][TOOLING] = live.parent["metadata"]["annotations"][TOOLING]
    interrupted = live._replace(parent=first)
    (action,) = [a for a in make_plan(edited, NS, interrupted).actions if a.kind == "TFJob"]
    assert action.op == "replace" and not action.tool_caused, action.reason
    assert "forces replacement: job.command" in action.reason
    assert _sync(interrupted.parent, grouped(interrupted), edited, NS)[0] == "changed (not applied)"
