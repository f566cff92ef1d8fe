"""`arena-run apply`: make a cluster (or this machine) match the files, then, with --wait, wait for it.

Every file is validated before the target is contacted, and every plan is
checked before anything is written; problems are one line each, exit 1.
A job that has not finished is stopped only with consent: at the prompt,
which lists each one, or with --replace-running; under -y alone such an
experiment is not written, one line per job says why, and the exit status is
RESTART_REFUSED (the other experiments are applied).
"""

from __future__ import annotations

import os

import sys
import threading
from typing import TYPE_CHECKING, Optional

import click

from .app import cli, examples
from .options import CONTAINER, LOCAL, client, cluster_options, confirm
from .plan import note_processes

if TYPE_CHECKING:
    from rich.table import Table

    from ..api import Client, Consent, ObjectState, Plan, RestartRefused

RESTART_REFUSED = 3  # distinct from 1 (an error) and 2 (plan's "changes"): a CI job can tell it apart


@cli.command(epilog=examples(
    "arena-run apply examples/tf-git",
    "arena-run apply -y --wait -n team-a experiments/",
    "arena-run apply -y --replace-running experiments/   # may stop and re-run unfinished jobs",
    "arena-run apply --local --wait examples/pytorch-ddp",
    "arena-run apply --local --container --wait examples/pytorch-ddp",
    "arena-run apply --local --volume mnist-data=$HOME/data examples/tf-git"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@cluster_options
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option("--adopt", is_flag=True, help="Take over existing objects of the same names.")
@click.option("--rerun", is_flag=True, help="Re-run jobs that have finished.")
@click.option("--replace-running", is_flag=True,
              help="Allow stopping jobs that have not finished (they re-run from the start); -y alone refuses.")
@click.option("--wait", is_flag=True, help="Wait until jobs run (or finish) and serving is available.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds --wait waits.")
@LOCAL
@CONTAINER
@click.option("--volume", "volumes", multiple=True, metavar="NAME=DIR",
              help="--local: the directory a PVC is (default $XDG_DATA_HOME/arena-run/volumes/NAME).")
def apply(paths: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str],
          yes: bool, adopt: bool, rerun: bool, replace_running: bool, wait: bool, timeout: float, local: bool,
          container: bool,
          volumes: tuple[str, ...]) -> int:
    """Make the cluster match the files: create, update, replace, prune.

    With --local, run them on this machine instead: each replica a process,
    with the pod's paths, env and GPUs (with --container, in the job's image);
    --wait follows the job to its end.
    """
    if volumes and not local:
        raise click.UsageError("--volume is for --local: on a cluster a PVC is a PVC")
    claims = parse_volumes(volumes)
    from .. import api
    from . import show

    loaded = api.load(paths)
    c = client(local, kubeconfig, context, namespace, container)
    plans = c.plan(loaded, adopt=adopt, rerun=rerun, replace_running=replace_running)
    show.plans(plans)
    if not isinstance(c.target, api.Cluster) and c.target.runner == "process":
        note_processes(plans)
    if any(p.problems for p in plans):
        show.err.print("Nothing was applied.")
        return 1
    todo = [p for p in plans if p.has_changes]
    unfinished = c.restarts(todo)
    consent: Consent = replace_running
    asked = False
    if unfinished and not replace_running and not yes:
        show.err.print(f"{len(unfinished)} job(s) have not finished; applying stops them:")
        for r in unfinished:
            show.err.print(f"  {r.what()}")
        if not confirm(f"Stop {len(unfinished)} unfinished job(s) (work since they started is lost) and apply?",
                       False):
            show.err.print("Nothing was applied.")
            return 1
        consent, asked = frozenset(r.key for r in unfinished), True
    if isinstance(c.target, api.Cluster):
        # Recording finished jobs is apply's own bookkeeping: nothing to confirm.
        if not asked and any(p.to_review for p in todo) and not confirm("Apply these changes?", yes):
            show.err.print("Nothing was applied.")
            return 1
        code = _apply_to_cluster(c, todo, consent)
        if code or not wait:
            return code
        return _wait_ready(c, plans, timeout)
    # Starting processes here needs no question; stopping ones that run (replace, delete) does, and
    # re-running or forgetting a finished job stops nothing (no terminal needed).
    stops = any(a.stops_running for p in todo for a in p.actions)
    if not asked and stops and not confirm("Stop and replace these on this machine?", yes):
        show.err.print("Nothing was applied.")
        return 1
    # An image pull shows the engine's progress on stderr, before anything starts.
    pulls = (lambda event: show.err.print(str(event), style="dim", markup=False, highlight=False)
             if isinstance(event, api.Pulling) else None)
    refused: list[str] = []
    try:
        results = c.apply(plans, volumes=claims, progress=pulls, replace_running=consent)
    except api.RestartRefused as exc:
        refused, results = [r.experiment for r in exc.refused], exc.results
        _refusal(exc)
    for result in results:
        name = result.plan.experiment
        if result.started:
            show.out.print(f"[green]Started[/] {name} on this machine: {', '.join(result.started)} "
                           f"(arena-run status --local {name}, arena-run logs --local {name} -f)")
        else:  # recorded only, done meanwhile by another apply, or only finished jobs forgotten
            show.out.print(f"[green]Applied[/] {name} on this machine: nothing new to run "
                           f"(arena-run status --local {name})")
    if refused:
        return RESTART_REFUSED
    if not wait:
        return 0
    return _wait_finished(c, plans, timeout)


def _refusal(exc: RestartRefused) -> None:
    from . import show

    for line in exc.problems:
        show.err.print(f"refused: {line}", style="yellow")


def parse_volumes(values: tuple[str, ...]) -> dict[str, str]:
    """--volume NAME=DIR, each a PVC's claim name and the directory it is here."""
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{value!r}: expected NAME=DIR (a PVC's claim name and a directory)",
                                     param_hint="--volume")
        out[name] = os.path.abspath(path)  # the supervisor, and a later apply, may run elsewhere
    return out


def _apply_to_cluster(c: Client, todo: list[Plan], consent: Consent) -> int:
    from .. import api
    from . import show
    from .progress import Reporter

    applied: list[api.Applied] = []
    try:
        with Reporter(show.out, show.err, len(todo), "Applying") as reporter:
            def progress(event: object) -> None:
                if isinstance(event, api.Applied):
                    applied.append(event)
                reporter(event)

            c.apply(todo, progress=progress, replace_running=consent)
    except api.RestartRefused as exc:  # the others were applied; these experiments were not written at all
        _refusal(exc)
        return RESTART_REFUSED
    except api.Interrupted as exc:
        for line in exc.lines():
            show.err.print(line, style="yellow")
        return 130
    except api.ApplyError as exc:
        if not applied:  # refused before any experiment started: nothing was written
            for problem in exc.problems:
                show.err.print(f"error: {problem}", style="red", markup=False)  # an engine's words ([[gpu]]) are text
            show.err.print("Nothing was applied.")
            return 1
        show.err.print("Fix the errors above and apply again: what was applied stays, nothing unfinished was pruned.")
        return 1
    return 0


def _wait_ready(c: Client, plans: list[Plan], timeout: float) -> int:
    """Until jobs run (or finish) and serving is available, as a live table of each object's state."""
    from rich.live import Live
    from rich.table import Table

    from .. import api
    from . import show

    def table(states: list[ObjectState]) -> Table:
        t = Table(box=None, header_style="bold")
        t.add_column("OBJECT")
        t.add_column("STATE")
        for s in states:
            t.add_row(f"{s.kind} {s.name}", f"[green]{s.phase}[/]" if s.done else f"[yellow]{s.phase}[/]")
        return t

    with Live(console=show.out, transient=not show.out.is_terminal, auto_refresh=False) as live:
        try:
            states = c.wait(plans, timeout=timeout,
                              progress=lambda s: live.update(table(s), refresh=True))
        except api.WaitFailed as exc:
            live.update(table(exc.states), refresh=True)
            if exc.failed:
                names = ", ".join(s.name for s in exc.failed)
                failed = exc.failed[0]
                show.err.print(f"[red]error:[/] job failed: {names} "
                               f"(arena-run logs -n {failed.key[1]} {failed.name})")
            else:
                show.err.print(f"[red]error:[/] not ready after {timeout:.0f}s")
            return 1
    show.out.print(f"[green]Ready[/]: {len(states)} object(s).")
    return 0


def _wait_finished(c: Client, plans: list[Plan], timeout: float) -> int:
    """Until every job has ended, following the default replica's log of a single job meanwhile."""
    from .. import api
    from . import show

    jobs = [a for p in plans for a in p.actions if a.key[0].startswith(("TFJob.", "PyTorchJob."))
            and a.op != "keep"]
    stop = threading.Event()
    follower = None
    if len(jobs) == 1 and len(plans) == 1:
        def follow() -> None:
            try:
                for line in c.logs(plans[0].experiment, follow=True, wait=True):
                    if stop.is_set():
                        return
                    sys.stdout.write(line + "\n")
                    sys.stdout.flush()
            except api.LogsError:
                return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
    try:
        states = c.wait(plans, until="finished", timeout=timeout)
    except KeyboardInterrupt:
        stop.set()
        names = " ".join(p.experiment for p in plans)
        show.err.print(f"interrupted: only the wait; what runs goes on on this machine. Follow it with "
                       f"`arena-run logs --local {plans[0].experiment} -f` or `arena-run status --local {names}`, "
                       f"stop it with `arena-run delete --local {names}`", style="yellow")
        return 130
    except api.ApplyError as exc:
        _finish(follower, stop)
        for problem in exc.problems:
            show.err.print(f"error: {problem}", style="red", markup=False)  # an engine's words ([[gpu]]) are text
        name = plans[0].experiment
        show.err.print(f"(arena-run logs --local {name}; arena-run status --local {name})")
        return 1
    _finish(follower, stop)
    done = ", ".join(f"{s.kind} {s.name} {s.phase}" for s in states)
    show.out.print(f"[green]Done[/]: {done or 'nothing to wait for'}.")
    return 0


def _finish(follower: Optional[threading.Thread], stop: threading.Event) -> None:
    """Let the follower print what the ended replica wrote (a short job ends before its log is
    read), then silence it: its stream ends with the replica, so the wait is short."""
    if follower:
        follower.join(timeout=10)
    stop.set()
