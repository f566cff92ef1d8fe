"""The local runner's stamp (arena_run.local.runners) in the planner: the user's choice, never the renderer's."""

from __future__ import annotations

import copy

from arena_run.local.runners import runner_in, stamp, stamp_all
from arena_run.objects.applyset import TOOLING
from arena_run.plan import desired_members, make_plan

from .test_plan import EXP, NS, exp, member, recorded

RUNNING = {"conditions": [{"type": "Running", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}


def _older_render_running(runner: str):
    """Live as an older arena-run applied EXP in `runner`: its TFJob running, its env spelled otherwise."""
    live = recorded()
    live.parent["metadata"]["annotations"][TOOLING] = "arena-run/0.1.0"
    job = member(live, "TFJob")
    job["status"] = copy.deepcopy(RUNNING)
    container = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    container["env"] = [dict(e, value="1.1") if e["name"] == "VERSION" else e for e in container["env"]]
    for obj in live.members.values():
        stamp(obj, runner)
    return live


def _job_action(plan):
    return next(a for a in plan.actions if a.kind == "TFJob")


def test_a_render_change_of_a_running_job_is_deferred_whatever_its_runner():
    # The file edited elsewhere (TensorBoard's cpu): the job's difference is still the renderer's.
    edited = exp(EXP.replace('cpu = "500m"', 'cpu = "1"'))
    for runner in ("process", "container"):
        live = _older_render_running(runner)
        plan = make_plan(edited, NS, live, desired=stamp_all(desired_members(edited, NS), runner))
        action = _job_action(plan)
        assert action.op == "defer" and action.tool_caused, (runner, action.op, action.reason)


def test_a_switch_of_runner_is_the_users_even_when_the_renderer_changed_too():
    live = _older_render_running("process")
    plan = make_plan(exp(), NS, live, desired=stamp_all(desired_members(exp(), NS), "container"))
    action = _job_action(plan)
    assert action.op == "replace" and not action.tool_caused and action.stops_unfinished_job
    assert "runner (--container)" in action.reason


def test_the_stamp_names_the_runner_of_every_pod_template_and_of_nothing_else():
    objects = stamp_all(desired_members(exp(), NS), "container")
    stamped = {(o["kind"], runner_in(o)) for o in objects}
    assert stamped == {("TFJob", "container"), ("Deployment", "container"), ("Service", None)}
