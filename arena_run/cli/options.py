"""What the commands on a target share: its options, connecting to it, and asking before a change.

The target is a cluster (--kubeconfig, --context, -n) or, with --local, this
machine; `client()` gives the arena_run.Client of the one a command's options
name.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import click

if TYPE_CHECKING:
    from ..api import Attempt, Client, Cluster

F = TypeVar("F", bound=Callable[..., int])


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().ensure_object(dict)["verbose"] = True


# `arena-run plan -v ...` means what `arena-run -v plan ...` does: every request on stderr.
VERBOSE = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_verbose, is_eager=True,
                       help="Print every request sent to the cluster on stderr (as arena-run -v).")


def cluster_options(f: F) -> F:
    f = VERBOSE(f)
    f = click.option("--context", help="kubeconfig context (default: the current one).")(f)
    f = click.option("--kubeconfig", type=click.Path(), help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")(f)
    f = click.option("-n", "--namespace", help="Namespace (default: the file's, then the context's, then default).")(f)
    return f


LOCAL = click.option("--local", is_flag=True,
                     help="On this machine instead of a cluster (processes; state in $XDG_STATE_HOME/arena-run).")
class OutputFormat(click.Choice[str]):
    """-o: the same names for every command; `text`, what validate and plan called the table, still works."""

    ALIASES = {"text": "table"}

    def convert(self, value: object, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> str:
        return super().convert(self.ALIASES.get(str(value), value), param, ctx)


def output(*more: str, help: str = "json/yaml: for scripts (the shapes of docs/json.md).") -> Callable[[F], F]:
    """-o table|json|yaml, with more (wide, markdown) where a command has them."""
    return click.option("-o", "--output", type=OutputFormat(["table", *more, "json", "yaml"]), default="table",
                        show_default=True, help=help)


OUTPUT = output()
CONTAINER = click.option("--container", is_flag=True,
                         help="--local: each replica in its job's image, through Podman or Docker "
                              "(ARENA_RUN_LOCAL_RUNNER=container: this machine's default).")
ALL_NAMESPACES = click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace.")


def client(local: bool, kubeconfig: Optional[str] = None, context: Optional[str] = None,
           namespace: Optional[str] = None, container: bool = False) -> Client:
    """A Client of this machine with --local (which has one namespace: -n is not asked; its replicas in
    their images with --container), else of the cluster of the kubeconfig and context, its requests
    printed as -v asks."""
    from ..api import Client

    if container and not local:
        raise click.UsageError("--container is for --local: on a cluster every pod runs in its image")
    if local:
        return Client(local=True, runner="container" if container else None)
    return Client(target=connect(kubeconfig, context), namespace=namespace)


def connect(kubeconfig: Optional[str], context: Optional[str]) -> Cluster:
    """The cluster, its requests printed on stderr with the global -v (and runs of retries without it)."""
    from ..api import connect as connection

    cluster = connection(kubeconfig, context)
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


def confirm(question: str, yes: bool) -> bool:
    """--yes, else the answer on the terminal (no terminal: refused, never assumed)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.ClickException("no terminal to confirm on: pass --yes to go ahead")
    try:
        return click.confirm(question, default=False)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort too: still 130
            raise KeyboardInterrupt from None
        click.echo(err=True)  # ctrl-D, the end of input, is a no; the terminal's line ends here
        return False


def validate_files(targets: tuple[str, ...]) -> None:
    """A bad file among TARGETS is its located problems, before the target is asked anything."""
    from ..api import load

    for t in targets:
        if os.path.exists(t):
            load(t)
