"""Commands of arena-run.

Heavy modules (rendering, schema generation, rich, the kubernetes client)
are imported inside the commands that need them: `arena-run validate` runs in
editors and pre-commit hooks on every save, so its start-up is kept close to
the cost of tomllib and pydantic alone.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Optional, Sequence

import click

from .._version import __version__
from ..spec.errors import SpecError, UserError, escape
from .options import output
from .problems import report

if TYPE_CHECKING:
    from ..spec.load import Loaded

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Commands(click.Group):
    """A group whose --help gives each command's whole first sentence, wrapped, never cut off with '...'."""

    group_class = type  # its subgroups (top, data) are Commands too

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def examples(*lines: str) -> str:
    """A command's epilog: Examples, one command line each, kept as written (click's \\b)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


@click.group(cls=Commands, context_settings=CONTEXT, epilog=examples(
    "arena-run init && arena-run validate arena.toml",
    "arena-run plan . && arena-run apply .",
    "arena-run apply --local --wait examples/pytorch-ddp",
    "arena-run status -n team-a",
    "arena-run -v status          # every request the cluster is sent"))
@click.version_option(__version__, "-V", "--version", prog_name="arena-run", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True,
              help="Print every request sent to the cluster on stderr: method, path, status, milliseconds, retries.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Declarative training experiments on Kubernetes.

    Describe data, code, the job, TensorBoard, serving and sweeps in an
    arena.toml beside your code; arena-run turns it into Kubeflow jobs.
    """
    ctx.obj = {"verbose": verbose}


def _load(paths: Sequence[str]) -> list[Loaded]:
    from ..spec.load import load_all

    return load_all(paths)


@cli.command(epilog=examples("arena-run validate arena.toml", "arena-run validate experiments/ -o json"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@output(help="table: one line per file (each problem FILE:LINE:COL: key.path: message); json/yaml: a list of "
             "{file, line, column, path, message}.")
def validate(paths: tuple[str, ...], output: str) -> int:
    """Check experiment files; a directory means every arena.toml/arena.yaml below it.

    Each problem is one line FILE:LINE:COL: key.path: message; the exit
    status is 1 if there is any.  Never contacts a cluster.
    """
    try:
        loaded = _load(paths)
    except SpecError as exc:
        report(exc.problems, output)
        return 1
    if output != "table":
        click.echo("[]")
    else:
        for item in loaded:
            click.echo(f"{escape(item.file)}: {click.style('ok', fg='green')}")
    return 0


@cli.command(epilog=examples("arena-run render arena.toml | kubectl apply -f -", "arena-run render -n team-a -o json ."))
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="The objects as kubectl takes them (a manifest, not a table).")
@click.option("-n", "--namespace", help="Namespace for every object (default: the file's, else none).")
def render(paths: tuple[str, ...], output: str, namespace: Optional[str]) -> int:
    """Print the Kubernetes objects the files mean, offline.

    The YAML is what `kubectl apply -f -` takes; the same file always gives
    the same bytes.
    """
    try:
        loaded = _load(paths)
    except SpecError as exc:
        report(exc.problems)
        return 1
    if namespace is not None:
        problem = _check_namespace(namespace)
        if problem:
            raise click.BadParameter(problem, param_hint="--namespace")
    from ..render import render as render_objects
    from ..render.output import to_json, to_yaml

    objects = [obj for item in loaded for obj in render_objects(item.experiment, namespace)]
    click.echo(to_json(objects) if output == "json" else to_yaml(objects), nl=False)
    return 0


def _check_namespace(namespace: str) -> Optional[str]:
    import re

    from ..spec.types import DNS1123_LABEL_RE

    if len(namespace) > 63 or not re.fullmatch(DNS1123_LABEL_RE, namespace):
        return f"{namespace!r} must be a lowercase DNS label: a-z, 0-9 and '-'"
    return None


@cli.command(epilog=examples("arena-run schema > arena.schema.json"))
def schema() -> int:
    """Print the JSON Schema of arena.toml (what schemas/arena.schema.json holds)."""
    from ..spec.schema import json_schema_text

    click.echo(json_schema_text(), nl=False)
    return 0


@cli.command(epilog=examples("arena-run init", "arena-run init train/arena.yaml --name mnist"))
@click.argument("path", default="arena.toml", type=click.Path())
@click.option("--name", help="Experiment name (default: from the directory's name).")
@click.option("--force", is_flag=True, help="Replace existing files (a link is replaced, never followed).")
def init(path: str, name: Optional[str], force: bool) -> int:
    """Write a commented starter arena.toml (or PATH.yaml, in YAML) and the schema editors check it with.

    PATH is the file, or a directory for its arena.toml; arena.schema.json is
    written beside it.  Both files are written or neither; nothing is
    replaced without --force.
    """
    from ..spec.schema import json_schema_text
    from .starter import init_files

    done = init_files(path, name, force, json_schema_text())
    if done.schema_written:
        click.echo(f"wrote {done.path} and {done.schema}")
    else:
        click.echo(f"wrote {done.path} ({done.schema} is already the current schema)")
    click.echo(f"next: edit it, then `arena-run validate {done.path}` and `arena-run render {done.path}`")
    return 0


@cli.command(epilog=examples("arena-run version"))
def version() -> int:
    """Print arena-run's version and the engines' API versions it renders for."""
    from ..objects.kinds import ENGINES, KINDS

    click.echo(f"arena-run {__version__}")
    for gk, engine in ENGINES.items():
        kind = KINDS[gk]
        click.echo(f"  {kind.kind:<17} {kind.api_version:<30} {engine}")
    return 0


@cli.command(epilog=examples("arena-run completion bash >> ~/.bash_completion",
                             "arena-run completion fish > ~/.config/fish/completions/arena-run.fish"))
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> int:
    """Print a shell completion script.

    \b
    bash: eval "$(arena-run completion bash)"   (in ~/.bashrc)
    zsh:  eval "$(arena-run completion zsh)"    (in ~/.zshrc)
    fish: arena-run completion fish > ~/.config/fish/completions/arena-run.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "arena-run", "_ARENA_RUN_COMPLETE").source())
    return 0


def run(argv: Optional[Sequence[str]] = None) -> int:
    """Run a command; every failure is one line on stderr, never a traceback."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="arena-run", standalone_mode=False)
    except SpecError as exc:
        report(exc.problems)
        return 1
    except UserError as exc:  # the cluster said no, or a plan was refused
        for line in exc.lines():
            click.echo(f"arena-run: {line}", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        # `arena-run render | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0
    except Exception as exc:  # the promise: no traceback reaches a user
        if os.environ.get("ARENA_RUN_DEBUG"):
            raise
        click.echo(f"arena-run: internal error: {type(exc).__name__}: {exc} "
                   "(set ARENA_RUN_DEBUG=1 for a traceback, and please report it)", err=True)
        return 2
    return code if isinstance(code, int) else 0


# The commands that talk to a cluster register themselves on `cli`; their
# heavy imports (the kubernetes client, rich) happen inside each command.
from . import plan, apply, status, delete  # noqa: E402,F401  (each registers its command)
from . import logs, top, prune, data  # noqa: E402,F401
