"""The commands with --local: the same files and output, run on this machine (arena_run.api's *_local)."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Optional

import click

if TYPE_CHECKING:
    from ..api import Plan

PROCESS_NOTE = ("note: --local runs each replica as a process on this machine: images are not used, "
                "the replicas use this machine's tools")


def parse_volumes(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{value!r}: expected NAME=DIR (a PVC's claim name and a directory)",
                                     param_hint="--volume")
        out[name] = path
    return out


def _note_images(plans: list[Plan]) -> None:
    from . import show

    if any(a.desired and a.desired.get("kind") in ("TFJob", "PyTorchJob") for p in plans for a in p.changes):
        show.err.print(PROCESS_NOTE, style="dim")


def plan(paths: tuple[str, ...], output: str, detailed_exitcode: bool, rerun: bool, verbose: bool) -> int:
    from ..api import load, plan_local
    from . import show

    plans = plan_local(load(paths), rerun=rerun)
    if output == "json":
        show.plans_json(plans)
    else:
        show.plans(plans, verbose)
        _note_images(plans)
    if any(p.problems for p in plans):
        return 1
    if detailed_exitcode and any(p.to_review for p in plans):
        return 2
    return 0


def apply(paths: tuple[str, ...], yes: bool, rerun: bool, wait: bool, timeout: float,
          volumes: tuple[str, ...]) -> int:
    from ..api import apply_local, load, plan_local
    from .live import _confirm
    from . import show

    claims = parse_volumes(volumes)
    plans = plan_local(load(paths), rerun=rerun)
    show.plans(plans)
    _note_images(plans)
    if any(p.problems for p in plans):
        show.err.print("Nothing was applied.")
        return 1
    todo = [p for p in plans if p.has_changes]
    # Starting processes here needs no question; stopping ones that run (replace, delete) does.
    stops = any(a.op in ("replace", "delete") for p in todo for a in p.actions)
    if stops and not _confirm("Stop and replace these on this machine?", yes):
        show.err.print("Nothing was applied.")
        return 1
    apply_local(plans, volumes=claims)
    for p in todo:
        show.out.print(f"[green]Started[/] {p.experiment} on this machine "
                       f"(arena-run status --local {p.experiment}, arena-run logs --local {p.experiment} -f)")
    if not wait:
        return 0
    return _wait(plans, timeout)


def _wait(plans: list[Plan], timeout: float) -> int:
    """Follow the default replica's log of a single job while waiting for every job to end."""
    from .. import api
    from . import show

    jobs = [a for p in plans for a in p.actions if a.key[0].startswith(("TFJob.", "PyTorchJob."))
            and a.op != "keep"]
    stop = threading.Event()
    follower = None
    if len(jobs) == 1 and len(plans) == 1:
        view = api.local_view()

        def follow() -> None:
            try:
                for chunk in api.logs(plans[0].experiment, view, namespace=api.LOCAL_NAMESPACE, follow=True,
                                      wait=True):
                    if stop.is_set():
                        return
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.buffer.flush()
            except api.LogsError:
                return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
    try:
        states = api.wait_local(plans, timeout=timeout)
    except api.ApplyError as exc:
        _finish(follower, stop)
        for problem in exc.problems:
            show.err.print(f"error: {problem}", style="red")
        name = plans[0].experiment
        show.err.print(f"(arena-run logs --local {name}; arena-run status --local {name})")
        return 1
    _finish(follower, stop)
    done = ", ".join(f"{k[0]} {k[1]} {s[0]}" for k, s in states.items())
    show.out.print(f"[green]Done[/]: {done or 'nothing to wait for'}.")
    return 0


def _finish(follower: Optional[threading.Thread], stop: threading.Event) -> None:
    """Let the follower print what the ended replica wrote (a short job ends before its log is
    read), then silence it: its stream ends with the replica, so the wait is short."""
    if follower:
        follower.join(timeout=10)
    stop.set()


def status(targets: tuple[str, ...], output: str) -> int:
    from ..api import load, status_local
    from . import show

    for t in targets:
        if os.path.exists(t):
            load(t)
    items = status_local(list(targets) or None)
    if output != "table":
        show.structured([s.to_dict() for s in items], output)
        return 0
    if not items:
        show.out.print("No local experiments.")
        return 0 if not targets else 1
    show.out.print(show.status_table(items, False))
    if len(items) == 1:
        for line in show.status_detail(items[0]):
            show.out.print(line)
    return 0


def delete(targets: tuple[str, ...], yes: bool) -> int:
    from ..api import delete_local, load
    from .live import _confirm
    from . import show

    names = []
    for t in targets:
        names += [i.experiment.name for i in load(t)] if os.path.exists(t) else [t]
    if not _confirm(f"Stop and delete {', '.join(names)} on this machine?", yes):
        show.err.print("Nothing was deleted.")
        return 1
    deleted = delete_local(names)
    for name in names:
        show.out.print(f"[green]Deleted[/] {name}" if name in deleted else f"Experiment {name}: nothing to delete.")
    return 0


def experiment_name(target: str) -> str:
    from ..api import load

    if os.path.exists(target):
        found = [i.experiment.name for i in load(target)]
        if len(found) != 1:
            raise click.ClickException(f"{target} holds {len(found)} experiments: name one of them ({', '.join(found)})")
        return found[0]
    return target
