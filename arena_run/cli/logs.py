"""`arena-run logs`: an experiment's job log (its chief, or worker 0), or another replica's, as in Arena."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional

import click

from .app import cli, examples
from . import options
from .options import LOCAL, cluster_options, validate_files

if TYPE_CHECKING:
    from ..api import PodContainer


@cli.command(epilog=examples("arena-run logs mnist -f", "arena-run logs mnist --role ps --index 1 --tail 50",
                             "arena-run logs sweep --point 3fa2c1de --since 10m",
                             "arena-run logs --local mnist --component tensorboard"))
@click.argument("target", metavar="TARGET")
@cluster_options
@click.option("--role", help="Replica type (chief, worker, ps, evaluator, master); default: chief, else worker.")
@click.option("--index", type=click.IntRange(min=0), help="Replica index (default 0).")
@click.option("--point", help="A sweep point: its job name or its 8-digit suffix.")
@click.option("--component", type=click.Choice(["job", "tensorboard", "serving"]), default="job", show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep streaming; wait for a pod that has not started.")
@click.option("--tail", type=click.IntRange(min=0), help="Only the last N lines.")
@click.option("--since", help="Only lines newer than this, e.g. 10m, 2h.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@LOCAL
def logs(target: str, namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str],
         role: Optional[str], index: Optional[int], point: Optional[str], component: str, follow: bool,
         tail: Optional[int], since: Optional[str], timestamps: bool, local: bool) -> int:
    """Logs of an experiment's job: its chief (or worker 0), or another replica.

    TARGET is an experiment name or its file.
    """
    from .. import api
    from . import show

    experiment = target  # the experiment; `on` is the target it runs on
    validate_files((experiment,))  # a bad file is its located problems, before the target is asked
    since_delta = api.parse_duration(since) if since else None
    if local and (since or timestamps):
        raise click.UsageError("--since and --timestamps need a cluster's log times; not with --local")
    on = options.client(local, kubeconfig, context, namespace).target
    found = api.log_container(on, experiment, namespace=namespace, component=component, role=role, index=index,
                              point=point)
    if not found.started:
        if not follow or found.never:
            show.err.print(f"{found.what}: {found.reason}" + ("" if found.never else "; -f waits for it"))
            return 1
        said: set[str] = set()

        def waiting(c: PodContainer) -> None:
            if c.reason not in said:
                said.add(c.reason)
                show.err.print(f"{c.what}: {c.reason}; waiting…")

        found = api.log_container(on, experiment, namespace=namespace, component=component, role=role,
                                  index=index, point=point, wait=True, on_wait=waiting)
    out = sys.stdout.buffer
    try:
        for chunk in api.logs(on, found, follow=follow, tail=tail, since=since_delta, timestamps=timestamps):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        return 0
    return 0
