"""`arena-run delete`: every object of an experiment, then its ApplySet parent (--local: its processes and state)."""

from __future__ import annotations

from typing import Optional

import click

from .app import cli, examples
from .options import LOCAL, client, cluster_options, confirm


@cli.command(epilog=examples("arena-run delete examples/tf-git", "arena-run delete -y --wait -n team-a mnist",
                             "arena-run delete --local mnist"))
@click.argument("targets", nargs=-1, required=True, type=str)
@cluster_options
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.option("--wait", is_flag=True, help="Wait until every object (and its pods) is gone.")
@click.option("--timeout", type=float, default=300, show_default=True)
@LOCAL
def delete(targets: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str],
           yes: bool, wait: bool, timeout: float, local: bool) -> int:
    """Delete experiments (files, directories or names): every object, then the parent.

    With --local: stop every process of the experiment and forget its state.
    """
    from . import show

    c = client(local, kubeconfig, context, namespace)
    if local:
        from .. import api

        here = c.target
        assert not isinstance(here, api.Cluster)
        # Names only: a damaged record must not stop its own deletion (reading it would refuse).
        names = [name for name, _ in api.resolve_names(here, targets, None)]
        # Forgetting what has finished stops nothing: asked only when something of it runs.
        busy = [name for name in names if here.running(name)]
        if busy and not confirm(f"Stop and delete {', '.join(busy)} on this machine (it runs now)?", yes):
            show.err.print("Nothing was deleted.")
            return 1
        deleted = {d.name for d in c.delete(names)}
        for name in names:
            show.out.print(f"[green]Deleted[/] {name}: nothing of it runs on this machine any more" if name in deleted
                           else f"Experiment {name}: nothing to delete.")
        return 0
    found = []
    for exp in c.find(targets):
        if not exp.exists:
            show.out.print(f"Experiment {exp.name} in {exp.namespace}: nothing to delete.")
            continue
        show.out.print(f"Experiment [bold cyan]{exp.name}[/] in {exp.namespace}:")
        show.objects(exp)
        found.append(exp)
    if not found:
        return 0
    if not confirm("Delete these?", yes):
        show.err.print("Nothing was deleted.")
        return 1
    from .progress import Reporter

    with Reporter(show.out, show.err, len(found), "Deleting") as progress:
        c.delete(found, wait=wait, timeout=timeout, progress=progress)
    show.out.print(f"[green]Deleted[/] {len(found)} experiment(s).")
    return 0
