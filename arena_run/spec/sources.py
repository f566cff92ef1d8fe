"""What a command or a call names: files, directories, experiments, or bare experiment names.

`arena-run status mnist` and `arena-run status examples/mnist` both work: a
path that exists is read (every arena.toml/arena.yaml below a directory), and
anything else is taken as the name of an experiment already applied.  That
one rule lives here, so plan, status, logs and delete agree on it.
"""

from __future__ import annotations

import os
from typing import Iterable, Union

from .load import Loaded, load_all
from .model import Experiment

# One thing to read experiments from: a file or directory (str or path), an
# Experiment built in Python, or one already loaded.
Source = Union[str, "os.PathLike[str]", Experiment, Loaded]
Sources = Union[Source, Iterable[Source]]

IN_PYTHON = "<python>"  # the file of an Experiment that came from no file


def each(sources: Sources) -> list[Source]:
    """The sources one by one (a single one is a list of itself)."""
    if isinstance(sources, (str, os.PathLike, Experiment, Loaded)):
        return [sources]
    return list(sources)


def load_sources(sources: Sources) -> list[Loaded]:
    """Every experiment the sources hold, validated before any is used.

    Experiments given as objects come first, then those read from files (in
    the order load_all reads them).
    """
    ready: list[Loaded] = []
    paths: list[str] = []
    for item in each(sources):
        if isinstance(item, Loaded):
            ready.append(item)
        elif isinstance(item, Experiment):
            ready.append(Loaded(IN_PYTHON, item))
        else:
            paths.append(os.fspath(item))
    return ready + (load_all(paths) if paths else [])


def is_name(item: Source) -> bool:
    """Whether the item is taken as an experiment's name: a string or path where nothing exists."""
    return not isinstance(item, (Experiment, Loaded)) and not os.path.exists(os.fspath(item))


def experiments_or_names(sources: Sources) -> list[Union[Loaded, str]]:
    """Each source as the experiments it holds, or, for what is no existing path, a bare experiment name.

    Files are validated as everywhere: a bad one raises SpecError before any
    name is used.
    """
    out: list[Union[Loaded, str]] = []
    for item in each(sources):
        if isinstance(item, (Experiment, Loaded)) or os.path.exists(os.fspath(item)):
            out += load_sources(item)
        else:
            out.append(os.fspath(item))
    return out


def names(sources: Sources) -> list[str]:
    """The experiment name of each source: its files' experiments, or itself as a bare name."""
    return [x if isinstance(x, str) else x.experiment.name for x in experiments_or_names(sources)]
