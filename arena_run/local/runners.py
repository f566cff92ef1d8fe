"""Which runner a run's pods run in on this machine, process or container, as the planner sees it.

The runner is chosen per apply (`--container`, else ARENA_RUN_LOCAL_RUNNER,
else process) and recorded with each member (Store.put_object).  Switching
it restarts the run in the other runner, so it must be a change the plan
shows, under the same consent as any other restart of a running job (issue
17): the local target's desired members carry the runner as an annotation on
every pod template (objects.labels.RUNNER), and LocalView shows each recorded
member with the runner it was started in.  A pod template change is a spec
change, so the planner calls a switch `forces replacement: runner` for a job
and restarts a Deployment's server, with no rule of its own.  A cluster's
objects never carry it: only the local target stamps them.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional

from ..objects.jobs import node_patch_templates, replica_specs
from ..objects.labels import RUNNER
from .distributed import LOCAL_JOB_KIND_NAMES
from .state import LocalError

RUNNER_ENV = "ARENA_RUN_LOCAL_RUNNER"
RUNNERS = ("process", "container")
RUNS_PODS = LOCAL_JOB_KIND_NAMES + ("Deployment",)  # the kinds whose pods this machine runs


def runner_name(asked: Optional[str] = None) -> str:
    """The runner asked for, else this machine's default (ARENA_RUN_LOCAL_RUNNER), else process."""
    value = (asked or os.environ.get(RUNNER_ENV) or "process").strip().lower()
    if value not in RUNNERS:
        raise LocalError(f"{RUNNER_ENV}={value}: process or container")
    return value


def recorded(entry: dict[str, Any]) -> str:
    """The runner a recorded member was started in (records older than the runner are processes)."""
    return str(entry.get("runner") or "process")


def templates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of a job or Deployment (a TrainJob's: its node pod as Trainer makes it)."""
    if obj.get("kind") == "Deployment":
        return [obj["spec"]["template"]]
    return [spec["template"] for spec in replica_specs(obj).values()]


def _own_templates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates obj holds itself: a TrainJob's are the ones of its runtimePatches (Trainer
    merges their metadata into its node pods; `templates` shows them merged)."""
    return node_patch_templates(obj) if obj.get("kind") == "TrainJob" else templates(obj)


def stamp(obj: dict[str, Any], runner: str) -> dict[str, Any]:
    """obj (changed in place, and returned) with every pod template naming runner; other kinds as they are."""
    if obj.get("kind") in RUNS_PODS:
        for template in _own_templates(obj):
            template.setdefault("metadata", {}).setdefault("annotations", {})[RUNNER] = runner
    return obj


def stamp_all(objects: Iterable[dict[str, Any]], runner: str) -> list[dict[str, Any]]:
    return [stamp(obj, runner) for obj in objects]


def runner_in(obj: dict[str, Any]) -> Optional[str]:
    """The runner obj's pod templates name (None: not stamped, or a kind without pods)."""
    if obj.get("kind") not in RUNS_PODS:
        return None
    for template in templates(obj):
        value = ((template.get("metadata") or {}).get("annotations") or {}).get(RUNNER)
        if value:
            return str(value)
    return None
