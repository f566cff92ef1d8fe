"""`arena-run prune`: delete experiments whose jobs all finished long enough ago."""

from __future__ import annotations

from typing import Optional

import click

from .app import cli
from .options import ALL_NAMESPACES, LOCAL, cluster_options, confirm, target


@cli.command()
@cluster_options
@ALL_NAMESPACES
@click.option("--since", required=True, help="Finished longer ago than this, e.g. 7d, 12h.")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@LOCAL
def prune(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool,
          since: str, yes: bool, dry_run: bool, local: bool) -> int:
    """Delete experiments whose jobs all finished longer ago than --since.

    Never one with anything running or pending.
    """
    from .. import api
    from . import show

    older_than = api.parse_duration(since)
    cluster = target(local, kubeconfig, context)
    candidates = api.prunable(cluster, older_than, namespace=namespace, all_namespaces=all_namespaces)
    if not candidates:
        ns = api.namespace_of(cluster, namespace, all_namespaces)
        show.out.print(f"Nothing to prune: no experiment{' in ' + ns if ns else ''} finished more than {since} ago.")
        return 0
    found = []
    for c in candidates:
        exp = api.lookup(cluster, c.name, c.namespace)
        if not exp.exists:
            continue
        jobs = ", ".join(f"{n} {p}" for n, p in c.jobs)
        show.out.print(f"Experiment [bold cyan]{c.name}[/] in {c.namespace}: finished {c.ago} ago ({jobs})")
        show.objects(exp)
        found.append(exp)
    if dry_run or not found:
        return 0
    if not confirm(f"Delete these {len(found)} experiment(s)?", yes):
        show.err.print("Nothing was deleted.")
        return 1
    from .progress import Reporter

    with Reporter(show.out, show.err, len(found), "Deleting") as progress:
        api.delete(cluster, found, progress=progress)
    show.out.print(f"[green]Deleted[/] {len(found)} experiment(s).")
    return 0
