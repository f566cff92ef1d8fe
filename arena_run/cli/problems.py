"""Showing problems: one `FILE:LINE:COL: key.path: message` line each, or JSON."""

from __future__ import annotations

import json
from typing import Sequence

import click

from ..spec.errors import Problem, escape


def report(problems: Sequence[Problem], output: str = "table") -> None:
    if output == "json":
        click.echo(json.dumps([p.to_dict() for p in problems], indent=2))
        return
    if output == "yaml":
        from ..render.output import to_yaml

        click.echo(to_yaml([[p.to_dict() for p in problems]], explicit_start=False), nl=False)
        return
    for p in problems:
        # Plain when piped, so editors and CI annotators can parse it.
        # Control characters escaped (one problem, one line; no terminal escapes from the file).
        where = escape(f"{p.file}:{p.line}:{p.column}:" if p.line else f"{p.file}:")
        path = f" {click.style(escape(p.path), bold=True)}:" if p.path else ""
        click.echo(f"{click.style(where, fg='red')}{path} {escape(p.message)}", err=True, color=None)
