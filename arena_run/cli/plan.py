"""`arena-run plan`: what apply would change on a cluster or this machine; changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import click

from .app import cli, examples
from .options import CONTAINER, LOCAL, client, cluster_options, output

if TYPE_CHECKING:
    from ..api import Plan

PROCESS_NOTE = ("note: --local runs each replica as a process on this machine: images are not used, "
                "the replicas use this machine's tools")


@cli.command(epilog=examples(
    "arena-run plan examples/tf-git",
    "arena-run plan --diff -n team-a experiments/",
    "arena-run plan --detailed-exitcode -o markdown . > comment.md   # 0 none, 2 changes",
    "arena-run plan --local --all examples/pytorch-ddp"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@cluster_options
@output("markdown", help="markdown: a pull-request comment; json/yaml: the plans (docs/json.md).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 1: error, 2: changes.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Each changed object as a unified YAML diff, live against merged (as kubectl diff).")
@click.option("--adopt", is_flag=True, help="Take over existing objects of the same names.")
@click.option("--rerun", is_flag=True, help="Plan to re-run finished jobs.")
@click.option("-a", "--all", "show_all", is_flag=True, help="List unchanged objects too.")
@LOCAL
@CONTAINER
def plan(paths: tuple[str, ...], namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str],
         output: str, detailed_exitcode: bool, show_diff: bool, adopt: bool, rerun: bool, show_all: bool,
         local: bool, container: bool) -> int:
    """Show what apply would change on the cluster (or with --local, this machine); changes nothing."""
    if local and (show_diff or output == "markdown"):
        raise click.UsageError("--diff and -o markdown compare with a cluster's dry run; not with --local")
    from .. import api
    from . import show

    loaded = api.load(paths)  # every file valid before the target is asked anything
    c = client(local, kubeconfig, context, namespace, container)
    plans = c.plan(loaded, adopt=adopt, rerun=rerun)
    diffs = c.diff(plans) if show_diff else None
    if output in ("json", "yaml"):
        show.plans_json(plans, diffs, output)
    elif output == "markdown":
        from .markdown import markdown

        click.echo(markdown(plans, diffs), nl=False)
    else:
        show.plans(plans, show_all)
        show.diffs(diffs or [])
        if not isinstance(c.target, api.Cluster) and c.target.runner == "process":
            note_processes(plans)
    if any(p.problems for p in plans):
        return 1
    if detailed_exitcode and any(p.to_review for p in plans):
        return 2
    return 0


def note_processes(plans: list[Plan]) -> None:
    """Say, once, that --local runs no image: a job's replicas use this machine's tools."""
    from . import show

    if any(a.desired and a.desired.get("kind") in ("TFJob", "PyTorchJob") for p in plans for a in p.changes):
        show.err.print(PROCESS_NOTE, style="dim")
