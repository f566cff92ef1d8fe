"""Commands that talk to a cluster: plan, apply, status, delete.

Every file is validated before the cluster is contacted, and every plan is
checked before anything is written; problems are one line each, exit 1.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import click

from .app import cli

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from ..api import Attempt, Cluster, ExperimentStatus, Key, Plan

F = TypeVar("F", bound=Callable[..., int])


def cluster_options(f: F) -> F:
    f = click.option("--context", help="kubeconfig context (default: the current one).")(f)
    f = click.option("--kubeconfig", type=click.Path(), help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")(f)
    f = click.option("-n", "--namespace", help="Namespace (default: the file's, then the context's, then default).")(f)
    return f


LOCAL = click.option("--local", is_flag=True,
                     help="On this machine instead of a cluster (processes; state in $XDG_STATE_HOME/arena-run).")


def _connect(kubeconfig: Optional[str], context: Optional[str]) -> Cluster:
    from ..api import connect

    cluster = connect(kubeconfig, context)
    ctx = click.get_current_context(silent=True)
    verbose = bool(ctx and (ctx.find_object(dict) or {}).get("verbose"))
    cluster.observe(_request_printer(verbose))
    return cluster


# A request that failed twice in a row is said even without -v: one retry is
# routine (a 429 under load), a run of them is worth knowing about.
KEEPS_FAILING = 2


def _request_printer(verbose: bool) -> Callable[[Attempt], None]:
    def printed(attempt: Attempt) -> None:
        if verbose:
            click.echo(f"arena-run: {attempt.line()}", err=True)
        elif attempt.retry_in is not None and attempt.retries + 1 >= KEEPS_FAILING:
            click.echo(f"arena-run: warning: {attempt.method} {attempt.path}: {attempt.error}; "
                       f"sending it again in {attempt.retry_in:.1f} s (retry {attempt.retries + 1})", err=True)
    return printed


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.ClickException("no terminal to confirm on: pass --yes to go ahead")
    return click.confirm(question, default=False)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@cluster_options
@click.option("-o", "--output", type=click.Choice(["text", "json", "markdown"]), default="text",
              help="markdown: a pull-request comment.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 1: error, 2: changes.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Each changed object as a unified YAML diff, live against merged (as kubectl diff).")
@click.option("--adopt", is_flag=True, help="Take over existing objects of the same names.")
@click.option("--rerun", is_flag=True, help="Plan to re-run finished jobs.")
@click.option("-v", "--verbose", is_flag=True, help="List unchanged objects too.")
@LOCAL
def plan(paths: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], output: str, detailed_exitcode: bool,
         show_diff: bool, adopt: bool, rerun: bool, verbose: bool, local: bool) -> int:
    """Show what apply would change on the cluster (or with --local, this machine); changes nothing."""
    if local:
        from . import local as on_machine

        if show_diff or output == "markdown":
            raise click.UsageError("--diff and -o markdown compare with a cluster's dry run; not with --local")
        return on_machine.plan(paths, output, detailed_exitcode, rerun, verbose)
    from ..api import diff, load, plan as make_plans
    from . import show

    loaded = load(paths)  # every file valid before the cluster is asked anything
    cluster = _connect(kubeconfig, context)
    plans = make_plans(loaded, cluster, namespace=namespace, adopt=adopt, rerun=rerun)
    diffs = diff(plans, cluster) if show_diff else None
    if output == "json":
        show.plans_json(plans, diffs)
    elif output == "markdown":
        from .markdown import markdown

        click.echo(markdown(plans, diffs), nl=False)
    else:
        show.plans(plans, verbose)
        show.diffs(diffs or [])
    if any(p.problems for p in plans):
        return 1
    if detailed_exitcode and any(p.to_review for p in plans):
        return 2
    return 0


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@cluster_options
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option("--adopt", is_flag=True, help="Take over existing objects of the same names.")
@click.option("--rerun", is_flag=True, help="Re-run jobs that have finished.")
@click.option("--wait", is_flag=True, help="Wait until jobs run (or finish) and serving is available.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds --wait waits.")
@LOCAL
@click.option("--volume", "volumes", multiple=True, metavar="NAME=DIR",
              help="--local: the directory a PVC is (default $XDG_DATA_HOME/arena-run/volumes/NAME).")
def apply(paths: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], yes: bool, adopt: bool, rerun: bool,
          wait: bool, timeout: float, local: bool, volumes: tuple[str, ...]) -> int:
    """Make the cluster match the files: create, update, replace, prune.

    With --local, run them on this machine instead: each replica a process,
    with the pod's paths, env and GPUs; --wait follows the job to its end.
    """
    if local:
        from . import local as on_machine

        return on_machine.apply(paths, yes, rerun, wait, timeout, volumes)
    if volumes:
        raise click.UsageError("--volume is for --local: on a cluster a PVC is a PVC")
    from ..api import load, plan as make_plans
    from ..api import Applied, ApplyError, Interrupted
    from . import show

    loaded = load(paths)
    cluster = _connect(kubeconfig, context)
    plans = make_plans(loaded, cluster, namespace=namespace, adopt=adopt, rerun=rerun)
    show.plans(plans)
    if any(p.problems for p in plans):
        show.err.print("Nothing was applied.")
        return 1
    todo = [p for p in plans if p.has_changes]
    # Recording finished jobs is apply's own bookkeeping: nothing to confirm.
    if any(p.to_review for p in todo) and not _confirm("Apply these changes?", yes):
        show.err.print("Nothing was applied.")
        return 1
    from ..api import apply_plans
    from .progress import Reporter

    applied: list[Applied] = []
    try:
        with Reporter(show.out, show.err, len(todo), "Applying") as reporter:
            def progress(event: object) -> None:
                if isinstance(event, Applied):
                    applied.append(event)
                reporter(event)

            apply_plans(cluster, todo, progress=progress)
    except Interrupted as exc:
        for line in exc.lines():
            show.err.print(line, style="yellow")
        return 130
    except ApplyError as exc:
        if not applied:  # refused before any experiment started: nothing was written
            for problem in exc.problems:
                show.err.print(f"error: {problem}", style="red")
            show.err.print("Nothing was applied.")
            return 1
        show.err.print("Fix the errors above and apply again: what was applied stays, nothing unfinished was pruned.")
        return 1
    if wait:
        return _wait(cluster, plans, timeout)
    return 0


def _wait(cluster: Cluster, plans: list[Plan], timeout: float) -> int:
    from rich.live import Live
    from rich.table import Table

    from ..api import WaitTimeout, wait as wait_ready
    from . import show

    def table(states: dict[Key, tuple[bool, str]]) -> Table:
        t = Table(box=None, header_style="bold")
        t.add_column("OBJECT")
        t.add_column("STATE")
        for key, (ok, what) in states.items():
            t.add_row(f"{key[0].split('.')[0]} {key[2]}", f"[green]{what}[/]" if ok else f"[yellow]{what}[/]")
        return t

    with Live(console=show.out, transient=not show.out.is_terminal, auto_refresh=False) as live:
        try:
            states = wait_ready(plans, cluster, timeout=timeout, progress=lambda s: live.update(table(s), refresh=True))
        except WaitTimeout as exc:
            info = exc.args[0]
            live.update(table(info["states"]), refresh=True)
            if info["failed"]:
                names = ", ".join(k[2] for k in info["failed"])
                show.err.print(f"[red]error:[/] job failed: {names} (arena-run logs {info['failed'][0][2]})")
            else:
                show.err.print(f"[red]error:[/] not ready after {timeout:.0f}s")
            return 1
    show.out.print(f"[green]Ready[/]: {len(states)} object(s).")
    return 0


@cli.command()
@click.argument("targets", nargs=-1, type=str)
@cluster_options
@click.option("-A", "--all-namespaces", is_flag=True, help="Experiments of every namespace.")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@click.option("-w", "--watch", is_flag=True, help="Keep refreshing (Ctrl-C to stop).")
@LOCAL
def status(targets: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool, output: str,
           watch: bool, local: bool) -> int:
    """Jobs, replicas, GPUs, TensorBoard, serving and sync of experiments.

    TARGETS are files, directories or experiment names; none lists every
    experiment of the namespace (with --local, of this machine).
    """
    if local:
        from . import local as on_machine

        return on_machine.status(targets, output)
    from ..api import status as collect
    from . import show

    for t in targets:  # validate files first, as everywhere
        if os.path.exists(t):
            from ..api import load

            load(t)
    cluster = _connect(kubeconfig, context)

    def gather() -> list[ExperimentStatus]:
        return collect(cluster, list(targets) or None, namespace=namespace, all_namespaces=all_namespaces)

    if output != "table":
        show.structured([s.to_dict() for s in gather()], output)
        return 0

    def render(items: list[ExperimentStatus]) -> Group:
        from rich.console import Group
        from rich.text import Text

        parts: list[Text | str] = [show.status_table(items, all_namespaces)] if items else ["No experiments."]
        if len(items) == 1:
            parts += show.status_detail(items[0])
        return Group(*parts)

    items = gather()
    if not watch:
        show.out.print(render(items))
        return 0 if items or not targets else 1
    from rich.live import Live

    try:
        if not show.out.is_terminal:
            # Piped (a log, a script): no screen to redraw, so print the table
            # now and again each time it changes, as `kubectl get -w` does.
            shown = [s.to_dict() for s in items]
            show.out.print(render(items))
            while True:
                time.sleep(2)  # the refresh interval, as on a terminal
                items = gather()
                if [s.to_dict() for s in items] != shown:
                    shown = [s.to_dict() for s in items]
                    show.out.print(render(items))
        with Live(render(items), console=show.out, auto_refresh=False) as live:
            while True:
                time.sleep(2)
                live.update(render(gather()), refresh=True)
    except KeyboardInterrupt:
        return 0


@cli.command()
@click.argument("targets", nargs=-1, required=True, type=str)
@cluster_options
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.option("--wait", is_flag=True, help="Wait until every object (and its pods) is gone.")
@click.option("--timeout", type=float, default=300, show_default=True)
@LOCAL
def delete(targets: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], yes: bool, wait: bool,
           timeout: float, local: bool) -> int:
    """Delete experiments (files, directories or names): every object, then the parent.

    With --local: stop every process of the experiment and forget its state.
    """
    if local:
        from . import local as on_machine

        return on_machine.delete(targets, yes)
    from .. import api
    from . import show

    cluster = _connect(kubeconfig, context)
    found = []
    for exp in api.find(list(targets), cluster, namespace=namespace):
        if not exp.exists:
            show.out.print(f"Experiment {exp.name} in {exp.namespace}: nothing to delete.")
            continue
        show.out.print(f"Experiment [bold cyan]{exp.name}[/] in {exp.namespace}:")
        show.objects(exp)
        found.append(exp)
    if not found:
        return 0
    if not _confirm("Delete these?", yes):
        show.err.print("Nothing was deleted.")
        return 1
    from .progress import Reporter

    with Reporter(show.out, show.err, len(found), "Deleting") as progress:
        api.delete(found, cluster, wait=wait, timeout=timeout, progress=progress)
    show.out.print(f"[green]Deleted[/] {len(found)} experiment(s).")
    return 0
