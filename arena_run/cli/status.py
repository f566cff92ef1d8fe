"""`arena-run status`: jobs, replicas, GPUs, TensorBoard, serving and sync of experiments."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

import click

from .app import cli, examples
from .options import LOCAL, client, cluster_options, output, validate_files

if TYPE_CHECKING:
    from rich.console import Group

    from ..api import ExperimentStatus


@cli.command(epilog=examples(
    "arena-run status",
    "arena-run status -A -o wide | awk '$5 == \"Failed\"'",
    "arena-run status examples/tf-git -w",
    "arena-run status --local mnist -o json"))
@click.argument("targets", nargs=-1, type=str)
@cluster_options
@click.option("-A", "--all-namespaces", is_flag=True, help="Experiments of every namespace.")
@output("wide", help="wide: one row per job, one value per cell (for awk, grep); json/yaml: docs/json.md.")
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

    none = "No local experiments." if local else "No experiments."

    def render(items: list[ExperimentStatus]) -> Group:
        from rich.console import Group
        from rich.text import Text

        wide = output == "wide"
        parts: list[Text | str] = [show.status_table(items, all_namespaces, wide)] if items else [none]
        if len(items) == 1 and not wide:
            parts += show.status_detail(items[0])
        return Group(*parts)

    items = gather()
    code = 0 if items or not targets else 1  # named experiments not found: 1, whatever -o says
    if output in ("json", "yaml"):
        show.structured([s.to_dict() for s in items], output)
        return code
    if not watch:
        show.out.print(render(items))
        return code
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
