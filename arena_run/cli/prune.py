"""`arena-run prune`: delete experiments whose jobs all finished long enough ago."""

from __future__ import annotations

from typing import Optional

import click

from .app import cli, examples
from .options import ALL_NAMESPACES, LOCAL, client, cluster_options, confirm


@cli.command(epilog=examples("arena-run prune --since 7d --dry-run", "arena-run prune -A --since 12h -y",
                             "arena-run prune --local --since 1d"))
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
    c = client(local, kubeconfig, context, namespace)
    candidates = c.prune(older_than, dry_run=True, all_namespaces=all_namespaces)
    if not candidates:
        ns = api.namespace_of(c.target, namespace, all_namespaces)
        show.out.print(f"Nothing to prune: no experiment{' in ' + ns if ns else ''} finished more than {since} ago.")
        return 0
    found = []
    for cand in candidates:
        exp = api.lookup(c.target, cand.name, cand.namespace)
        if not exp.exists:
            continue
        jobs = ", ".join(f"{n} {p}" for n, p in cand.jobs)
        show.out.print(f"Experiment [bold cyan]{cand.name}[/] in {cand.namespace}: finished {cand.ago} ago ({jobs})")
        show.objects(exp)
        found.append(exp)
    if dry_run or not found:
        return 0
    if not confirm(f"Delete these {len(found)} experiment(s)?", yes):
        show.err.print("Nothing was deleted.")
        return 1
    from .progress import Reporter

    with Reporter(show.out, show.err, len(found), "Deleting") as progress:
        c.delete(found, progress=progress)
    show.out.print(f"[green]Deleted[/] {len(found)} experiment(s).")
    return 0
