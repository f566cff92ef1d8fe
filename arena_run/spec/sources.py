"""What a command or a call names: files, directories, experiments, or bare experiment names.

`arena-run status mnist` and `arena-run status examples/mnist` both work: a
path that exists is read (every arena.toml/arena.yaml below a directory), and
anything else is taken as the name of an experiment already applied.  That
one rule lives here, so plan, status, logs and delete agree on it.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping, Union

from .load import Loaded, load_all, load_text, validate_data
from .model import Experiment

# One thing to read experiments from: a file or directory (str or path), the
# text of a file (TOML or YAML: a string with a line break), a mapping of an
# experiment's keys, an Experiment built in Python, or one already loaded.
Source = Union[str, os.PathLike[str], Mapping[str, Any], Experiment, Loaded]
Sources = Union[Source, Iterable[Source]]

IN_PYTHON = "<python>"  # the file of an Experiment that came from no file
IN_TEXT = "<text>"  # the file of one given as text
_TOML_LINE = re.compile(r'^\s*(\[|[A-Za-z0-9_".-]+\s*=)', re.M)  # a table header or key = value


def each(sources: Sources) -> list[Source]:
    """The sources one by one (a single one is a list of itself)."""
    if isinstance(sources, (str, os.PathLike, Mapping, Experiment, Loaded)):
        return [sources]
    return list(sources)


def is_text(item: object) -> bool:
    """A string with a line break is a file's text, never a path or a name."""
    return isinstance(item, str) and "\n" in item


def text_format(text: str) -> str:
    """toml when a line reads as TOML (a [table] or key = value), else yaml."""
    return "toml" if _TOML_LINE.search(text) else "yaml"


def _in_python(item: Union[Mapping[str, Any], Experiment, str]) -> Loaded:
    """Text, a mapping or an Experiment, validated by the rules every file meets."""
    if isinstance(item, str):
        return Loaded(IN_TEXT, load_text(item, text_format(item), IN_TEXT))
    if isinstance(item, Experiment):
        # Built by model_validate or by hand, it is checked again as a whole:
        # the cross-field rules (spec.rules) are not the model's validators.
        data = item.model_dump(mode="python", by_alias=True, exclude_unset=True)
        return Loaded(IN_PYTHON, validate_data(data, IN_PYTHON))
    return Loaded(IN_PYTHON, validate_data(dict(item), IN_PYTHON))


def load_sources(sources: Sources) -> list[Loaded]:
    """Every experiment the sources hold, validated before any is used.

    Experiments given as objects come first, then those read from files (in
    the order load_all reads them).
    """
    from .errors import SpecError

    ready: list[Loaded] = []
    paths: list[str] = []
    problems = []
    for item in each(sources):
        given: Union[Mapping[str, Any], Experiment, str]
        if isinstance(item, Loaded):
            ready.append(item)
            continue
        if isinstance(item, (Mapping, Experiment)):
            given = item
        elif isinstance(item, str) and is_text(item):
            given = item
        else:
            paths.append(os.fspath(item))
            continue
        try:
            ready.append(_in_python(given))
        except SpecError as exc:
            problems += exc.problems
    try:
        loaded = load_all(paths) if paths else []
    except SpecError as exc:
        problems += exc.problems
    if problems:
        raise SpecError(problems)
    return ready + loaded


def is_name(item: Source) -> bool:
    """Whether the item is taken as an experiment's name: a string or path where nothing exists."""
    if isinstance(item, (Mapping, Experiment, Loaded)):
        return False
    return not is_text(item) and not os.path.exists(os.fspath(item))


def experiments_or_names(sources: Sources) -> list[Union[Loaded, str]]:
    """Each source as the experiments it holds, or, for what is no existing path, a bare experiment name.

    Files are validated as everywhere: a bad one raises SpecError before any
    name is used.
    """
    out: list[Union[Loaded, str]] = []
    for item in each(sources):
        if isinstance(item, (str, os.PathLike)) and is_name(item):
            out.append(os.fspath(item))
        else:
            out += load_sources(item)
    return out


def names(sources: Sources) -> list[str]:
    """The experiment name of each source: its files' experiments, or itself as a bare name."""
    return [x if isinstance(x, str) else x.experiment.name for x in experiments_or_names(sources)]
