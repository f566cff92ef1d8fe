"""Reading experiment files: parse, validate, and report every problem located.

The fast path is tomllib (or PyYAML) plus the pydantic models.  Only when a
file has problems are source positions computed (locate.py), so `validate`
on a good file costs little more than importing its libraries.
"""

from __future__ import annotations

import os
from typing import Iterable, NamedTuple, Optional, Sequence

from .errors import KeyPath, Problem, SpecError, format_path
from .model import Experiment

FILE_NAMES = ("arena.toml", "arena.yaml", "arena.yml")
_SKIP_DIRS = {"node_modules", "__pycache__", "venv"}


class Document(NamedTuple):
    file: str
    text: str
    fmt: str  # "toml" or "yaml"


class Loaded(NamedTuple):
    file: str
    experiment: Experiment


def format_of(file: str) -> Optional[str]:
    suffix = os.path.splitext(file)[1].lower()
    return {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)


def read(file: str) -> Document:
    fmt = format_of(file)
    if fmt is None:
        raise SpecError([Problem(file, 0, 0, "", "not an experiment file: expected .toml, .yaml or .yml")])
    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise SpecError([Problem(file, 0, 0, "", "no such file")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(file, 0, 0, "", "is a directory")]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(file, 0, 0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise SpecError([Problem(file, 0, 0, "", f"cannot read: {exc.strerror}")]) from None
    return Document(file, text, fmt)


def load(file: str) -> Experiment:
    """One file to a validated Experiment, or SpecError with every problem."""
    return validate(read(file))


def load_text(text: str, fmt: str = "toml", file: str = "<string>") -> Experiment:
    return validate(Document(file, text, fmt))


def validate(doc: Document) -> Experiment:
    from .rules import check  # after parsing: a syntax error needs no rules

    data = parse(doc)
    nulls = list(_nulls(data, ()))
    if nulls:
        # A key is set or left out, as in TOML; YAML's `key:` with nothing is neither.
        located = _Locator(doc)
        raise SpecError(located.problem(p, "null is not a value: leave the key out instead") for p in nulls)
    try:
        exp = Experiment.model_validate(data)
    except _validation_error() as exc:
        raise SpecError(_from_pydantic(doc, data, exc)) from None
    findings = check(exp)
    if findings:
        located = _Locator(doc)
        raise SpecError(located.problem(f.path, f.message, key=f.at_key) for f in findings)
    return exp


def parse(doc: Document) -> dict:
    if doc.fmt == "yaml":
        return _parse_yaml(doc)
    from ._toml import TOMLDecodeError, loads

    try:
        return loads(doc.text)
    except TOMLDecodeError as exc:
        raise SpecError([_syntax_problem(doc, str(exc))]) from None


def _parse_yaml(doc: Document) -> dict:
    import yaml

    from ._yaml import Recursive, load as yaml_load

    try:
        data = yaml_load(doc.text)
    except (Recursive, yaml.constructor.ConstructorError) as exc:
        if isinstance(exc, yaml.MarkedYAMLError) and "recursive" not in str(exc):
            _marked(doc, exc)
        from .locate import positions

        line, col = positions(doc.text, "yaml").recursion or (1, 1)
        raise SpecError([Problem(doc.file, line, col, "", "syntax error: an alias refers to its own ancestor")]) from None
    except yaml.MarkedYAMLError as exc:
        _marked(doc, exc)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        from ._yaml import POSITIONS_IN_BYTES

        before = doc.text.encode()[: exc.position].decode("utf-8", "replace") if POSITIONS_IN_BYTES \
            else doc.text[: exc.position]
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise SpecError([_syntax_problem(doc, f"character {char!r}: {exc.reason}", (line, col))]) from None
    except yaml.YAMLError as exc:
        raise SpecError([_syntax_problem(doc, str(exc).split("\n")[0])]) from None
    if data is None:
        raise SpecError([Problem(doc.file, 1, 1, "", "the file is empty: an experiment needs at least a name")])
    if not isinstance(data, dict):
        from .locate import positions

        line, col = positions(doc.text, "yaml").root or (1, 1)
        raise SpecError([Problem(doc.file, line, col, "", "expected a mapping of keys at the top of the file")])
    return data


def _nulls(node: object, path: tuple):
    if node is None:
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _nulls(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nulls(value, path + (i,))


def _marked(doc: Document, exc) -> None:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    text = " ".join(p for p in (exc.context, exc.problem) if p)
    raise SpecError([_syntax_problem(doc, text, (line, col))]) from None


def _syntax_problem(doc: Document, message: str, pos: Optional[tuple[int, int]] = None) -> Problem:
    import re

    # tomllib ends its messages with "(at line L, column C)".
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$", message)
    if match:
        message = message[: match.start()]
        if match.group(1):
            pos = (int(match.group(1)), int(match.group(2)))
        else:
            pos = (max(1, doc.text.count("\n") + (0 if doc.text.endswith("\n") else 1)), 1)
    pos = pos or (1, 1)
    # A duplicate key is a syntax error to the parser; say which key it is.
    from .locate import duplicate_at, positions

    dup = duplicate_at(pos, positions(doc.text, doc.fmt))
    if dup:
        # Where the repeated key starts, not where the parser gave up.
        path, again, first = dup
        return Problem(doc.file, again[0], again[1], format_path(path), f"duplicate key (first set at line {first[0]})")
    message = " ".join(message.split())  # one line, whatever the parser said
    return Problem(doc.file, pos[0], pos[1], "", f"syntax error: {message[:1].lower()}{message[1:]}")


def _validation_error() -> type:
    from pydantic import ValidationError

    return ValidationError


class _Locator:
    def __init__(self, doc: Document):
        from .locate import positions

        self.doc = doc
        self.found = positions(doc.text, doc.fmt)

    def problem(self, path: KeyPath, message: str, *, key: bool = False) -> Problem:
        line, col = self.found.find(path, key=key)
        return Problem(self.doc.file, line, col, format_path(path), message)


def _from_pydantic(doc: Document, data: dict, exc) -> list[Problem]:
    from .messages import describe

    located = _Locator(doc)
    problems = {}
    for err in exc.errors(include_url=False):
        about_key = err["type"] in ("extra_forbidden", "missing")
        path, at_key = _data_path(data, err["loc"], about_key)
        at_key = at_key or about_key
        message = describe(err, path, doc.fmt)
        problems.setdefault(path, located.problem(path, message, key=at_key))
    return list(problems.values())


def _data_path(data: object, loc: Sequence, about_key: bool) -> tuple[KeyPath, bool]:
    """Pydantic's error location as a path through the document itself.

    Pydantic adds its own steps (union members, validator names, `[key]`);
    only steps that exist in the data are kept.  The flag says the error is
    about a key (`[key]`), not its value.
    """
    path: list = []
    node = data
    for i, item in enumerate(loc):
        if item == "[key]":
            return tuple(path), True
        if isinstance(node, dict) and item in node:
            node = node[item]
            path.append(item)
        elif isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
            node = node[item]
            path.append(item)
        elif about_key and isinstance(node, dict) and isinstance(item, str) and i == len(loc) - 1:
            path.append(item)  # a missing or unknown key: not in the data, still its name
    return tuple(path), False


def discover(paths: Iterable[str]) -> tuple[list[str], list[Problem]]:
    """Files named, and every arena.toml/arena.yaml/arena.yml below directories named."""
    files: list[str] = []
    problems: list[Problem] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(_walk(p))
            if not found:
                problems.append(Problem(p, 0, 0, "", f"no {' or '.join(FILE_NAMES)} below this directory"))
            files += found
        else:
            files.append(p)
    return list(dict.fromkeys(files)), problems


def _walk(root: str) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in filenames:
            if name in FILE_NAMES:
                yield os.path.join(dirpath, name)


def load_all(paths: Iterable[str]) -> list[Loaded]:
    """Every file validated before any is used: all problems, or all experiments."""
    files, problems = discover(paths)
    loaded: list[Loaded] = []
    for file in files:
        try:
            loaded.append(Loaded(file, load(file)))
        except SpecError as exc:
            problems += exc.problems
    problems += _clashes(loaded)
    if problems:
        raise SpecError(problems)
    return loaded


def _clashes(loaded: list[Loaded]) -> list[Problem]:
    # Two files naming the same experiment in one namespace would fight over
    # the same objects at apply time.
    seen: dict[tuple, str] = {}
    out = []
    for item in loaded:
        exp = item.experiment
        key = (exp.name, exp.namespace)
        if key in seen:
            line, col = _Locator(read(item.file)).found.find(("name",))
            out.append(Problem(item.file, line, col, "name", f"experiment {exp.name!r} is also defined in {seen[key]}"))
        else:
            seen[key] = item.file
    return out
