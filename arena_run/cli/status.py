"""`arena-run status`: jobs, replicas, GPUs, TensorBoard, serving and sync of experiments."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

import click

from .app import cli
from .options import LOCAL, client, cluster_options, validate_files

if TYPE_CHECKING:
    from rich.console import Group

    from ..api import ExperimentStatus


@cli.command()
@click.argument("targets", nargs=-1, type=str)
@cluster_options
@click.option("-A", "--all-namespaces", is_flag=True, help="Experiments of every namespace.")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@click.option("-w", "--watch", is_flag=True, help="Keep refreshing (Ctrl-C to stop).")
@LOCAL
def status(targets: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str],
           all_namespaces: bool, output: str, watch: bool, local: bool) -> int:
    """Jobs, replicas, GPUs, TensorBoard, serving and sync of experiments.

    TARGETS are files, directories or experiment names; none lists every
    experiment of the namespace (with --local, of this machine).
    """
    from . import show

    validate_files(targets)  # files first, as everywhere
    c = client(local, kubeconfig, context, namespace)
    if local:
        all_namespaces = False  # one namespace here; no NAMESPACE column

    def gather() -> list[ExperimentStatus]:
        return c.status(list(targets) or None, all_namespaces=all_namespaces)

    if output != "table":
        show.structured([s.to_dict() for s in gather()], output)
        return 0
    none = "No local experiments." if local else "No experiments."

    def render(items: list[ExperimentStatus]) -> Group:
        from rich.console import Group
        from rich.text import Text

        parts: list[Text | str] = [show.status_table(items, all_namespaces)] if items else [none]
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
