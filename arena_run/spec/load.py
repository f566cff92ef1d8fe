"""Reading experiment files: parse, validate, and report every problem located.

The fast path is tomllib (or PyYAML) plus the pydantic models.  Only when a
file has problems are source positions computed (locate.py), and only for the
paths that have problems, so `validate` on a good file costs little more than
importing its libraries, and a bad one costs time linear in its size.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Optional, Sequence, Union

from pydantic import ValidationError

if TYPE_CHECKING:  # yaml is imported only to read a YAML file
    from yaml import MarkedYAMLError

from .errors import KeyPath, PathItem, Problem, SpecError, format_path
from .files import FILE_NAMES, Document, discover, format_of, read
from .model import Experiment

__all__ = ["FILE_NAMES", "Document", "Loaded", "discover", "format_of", "load", "load_all", "load_text", "parse",
           "read", "validate"]

# Past this many, a file's problems are one mistake repeated: the rest are counted, not listed.
MAX_PROBLEMS = 100
_TOO_DEEP = "nested more than {} levels deep; an experiment file needs at most 5"

Finding = tuple[KeyPath, str, bool]  # path, message, about the key (not its value)


class Loaded(NamedTuple):
    file: str
    experiment: Experiment


def load(file: str) -> Experiment:
    """One file to a validated Experiment, or SpecError with every problem."""
    return validate(read(file))


def load_text(text: str, fmt: str = "toml", file: str = "<string>") -> Experiment:
    return validate(Document(file, text[1:] if text.startswith("\ufeff") else text, fmt))


def validate(doc: Document) -> Experiment:
    from .rules import check  # after parsing: a syntax error needs no rules

    data = parse(doc)
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_from_pydantic(doc, data, exc)) from None
    findings = check(exp)
    if findings:
        raise SpecError(_located(doc, [(f.path, f.message, f.at_key) for f in findings]))
    return exp


def validate_data(data: Any, file: str) -> Experiment:
    """A mapping built in Python (or an Experiment's fields) validated as a file is: the
    same models, the same rules, the same messages; located by key path alone."""
    from .rules import check

    if not isinstance(data, dict):
        raise SpecError([Problem(file, 0, 0, "", f"expected a mapping of an experiment's keys, got {type(data).__name__}")])
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        from .messages import describe

        found: dict[KeyPath, Problem] = {}
        for err in exc.errors(include_url=False):
            about_key = err["type"] in ("extra_forbidden", "missing")
            path, _ = _data_path(data, err["loc"], about_key)
            found.setdefault(path, Problem(file, 0, 0, format_path(path), describe(err, path, "yaml")))
        raise SpecError(list(found.values())) from None
    findings = check(exp)
    if findings:
        raise SpecError([Problem(file, 0, 0, format_path(f.path), f.message) for f in findings])
    return exp


def _located(doc: Document, found: Sequence[Finding], total: Optional[int] = None) -> list[Problem]:
    """Problems at their places, positions computed for their paths only; at most MAX_PROBLEMS listed."""
    from .locate import positions

    total = len(found) if total is None else total
    where = positions(doc.text, doc.fmt, [path for path, _, _ in found[: MAX_PROBLEMS + 1]])
    out = [Problem(doc.file, *where.find(path, key=key), format_path(path), message)
           for path, message, key in found[:MAX_PROBLEMS]]
    if total > MAX_PROBLEMS:
        path = found[MAX_PROBLEMS][0]
        out.append(Problem(doc.file, *where.find(path), format_path(path),
                           f"and {total - MAX_PROBLEMS:,} more problems from here on, not listed"))
    return out


def parse(doc: Document) -> dict[str, Any]:
    """The document as JSON's data model, within the limits of shape.py, or SpecError.

    Null, nan and inf have no place in that model (nor in the JSON Schema's):
    they are refused here, so the schema and the models judge the same data.
    """
    from .shape import problems as shape_problems

    data = _parse_yaml(doc) if doc.fmt == "yaml" else _parse_toml(doc)
    # Before any recursive consumer (the models, the rules) sees the data.
    bad = [(path, message, False) for path, message in shape_problems(data)]
    if bad:
        raise SpecError(_located(doc, bad))
    return data


def _parse_toml(doc: Document) -> dict[str, Any]:
    from ._toml import TOMLDecodeError, loads

    lone_cr = _lone_cr(doc.text)
    if lone_cr is not None:
        # TOML's line breaks are LF and CRLF; read as one, a lone CR (old Mac) would hide lines.
        raise SpecError([Problem(doc.file, *_offset_pos(doc.text, lone_cr), "",
                                 "syntax error: a carriage return without a line feed: TOML lines end in LF or CRLF")])
    try:
        return loads(doc.text)
    except TOMLDecodeError as exc:
        raise SpecError([_syntax_problem(doc, str(exc))]) from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        from .locate import too_deep
        from .shape import MAX_DEPTH

        raise SpecError([Problem(doc.file, *too_deep(doc.text, MAX_DEPTH), "", _TOO_DEEP.format(MAX_DEPTH))]) from None
    except ValueError:  # Python's limit on the digits of an int, which tomllib lets through
        match = re.search(r"[0-9][0-9_]{4300,}", doc.text)
        if not match:
            raise
        raise SpecError([Problem(doc.file, *_offset_pos(doc.text, match.start()), "",
                                 f"an integer of {len(match[0]):,} digits is longer than any count")]) from None


def _lone_cr(text: str) -> Optional[int]:
    at = text.find("\r")
    while at >= 0 and text.startswith("\r\n", at):
        at = text.find("\r", at + 2)
    return at if at >= 0 else None


def _offset_pos(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def _parse_yaml(doc: Document) -> dict[str, Any]:
    import yaml

    from ._yaml import Refused, load as yaml_load

    try:
        data = yaml_load(doc.text)
    except Refused as exc:  # an alias, or nesting past what construction may recurse
        pos = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (1, 1)
        raise SpecError([Problem(doc.file, *pos, "", exc.message)]) from None
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


def _marked(doc: Document, exc: MarkedYAMLError) -> None:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    text = " ".join(p for p in (exc.context, exc.problem) if p)
    raise SpecError([_syntax_problem(doc, text, (line, col))]) from None


def _syntax_problem(doc: Document, message: str, pos: Optional[tuple[int, int]] = None) -> Problem:
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
    from .locate import positions

    dup = positions(doc.text, doc.fmt).duplicate_on(pos[0])
    if dup:
        # Where the repeated key starts, not where the parser gave up.
        path, again, first = dup
        return Problem(doc.file, again[0], again[1], format_path(path), f"duplicate key (first set at line {first[0]})")
    message = " ".join(message.split())  # one line, whatever the parser said
    return Problem(doc.file, pos[0], pos[1], "", f"syntax error: {message[:1].lower()}{message[1:]}")


def _from_pydantic(doc: Document, data: dict[str, Any], exc: ValidationError) -> list[Problem]:
    from .messages import describe

    found: dict[KeyPath, Finding] = {}
    for err in exc.errors(include_url=False):
        about_key = err["type"] in ("extra_forbidden", "missing")
        path, at_key = _data_path(data, err["loc"], about_key)
        if path not in found:
            found[path] = (path, describe(err, path, doc.fmt), at_key or about_key)
    return _located(doc, list(found.values()))


def _data_path(data: object, loc: Sequence[Union[str, int]], about_key: bool) -> tuple[KeyPath, bool]:
    """Pydantic's error location as a path through the document itself.

    Pydantic adds its own steps (union members, validator names, `[key]`);
    only steps that exist in the data are kept.  The flag says the error is
    about a key (`[key]`), not its value.
    """
    path: list[PathItem] = []
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


def problem_at(file: str, path: KeyPath, message: str) -> Problem:
    """A problem about key path of a file that loaded fine (found to clash later, e.g. on a cluster)."""
    from .locate import positions

    if format_of(file) is None or not os.path.exists(file):
        return Problem(file, 0, 0, format_path(path), message)
    doc = read(file)
    line, col = positions(doc.text, doc.fmt, [path]).find(path)
    return Problem(file, line, col, format_path(path), message)


def _clashes(loaded: list[Loaded]) -> list[Problem]:
    # Two files naming the same experiment in one namespace would fight over
    # the same objects at apply time.
    seen: dict[tuple[str, Optional[str]], str] = {}
    out = []
    for item in loaded:
        exp = item.experiment
        key = (exp.name, exp.namespace)
        if key in seen:
            from .locate import positions  # here only: the fast path never loads the locator

            doc = read(item.file)
            line, col = positions(doc.text, doc.fmt, [("name",)]).find(("name",))
            out.append(Problem(item.file, line, col, "name", f"experiment {exp.name!r} is also defined in {seen[key]}"))
        else:
            seen[key] = item.file
    return out
