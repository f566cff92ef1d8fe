"""Experiment files as a user writes them, for the tests and benches that need one.

`experiment()` is the document: the keys of arena.toml, with the defaults most
of the suite's experiments share (busybox sleeping, the nodes' /tmp mounted at
/data); `write()` puts it in a file: TOML with [tables], as a user writes it
(or JSON, which is YAML, for a .yaml name).  A test states only what it is about:

    write(tmp_path / "arena.toml", experiment("exp", ns, gpus=1, tensorboard=True))

The TOML writer here is the suite's one (the property tests write their
generated documents with it too).  A file whose spelling is the point (a float
written `0.10`) is written out by hand where it is used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Document = dict[str, Any]
Table = Mapping[str, object]

# Mounted by every experiment unless told otherwise: a directory each node has.
DATA: Table = {"host_path": "/tmp", "mount": "/data"}
TENSORBOARD: Table = {"logdir": "/data/logs"}
SERVE: Table = {"model_path": "/data/model"}


def experiment(
    name: str = "exp",
    namespace: str | None = None,
    *,
    image: str = "busybox:1.36",
    command: str = "sleep 3600",
    data: Sequence[Table] = (DATA,),
    tensorboard: Table | bool = False,
    serve: Table | bool = False,
    sweep: Mapping[str, Sequence[object]] | None = None,
    labels: Mapping[str, str] | None = None,
    code: Table | None = None,
    job: bool = True,
    **job_keys: object,
) -> Document:
    """An experiment's document: [job] of image, command and job_keys (gpus=2, env={...}, ...).

    tensorboard / serve: True for the usual table (TensorBoard of /data/logs,
    serving /data/model), or the table itself.  job=False: no [job] (serving alone).
    """
    doc: Document = {"name": name}
    if namespace is not None:
        doc["namespace"] = namespace
    if labels is not None:
        doc["labels"] = dict(labels)
    if code is not None:
        doc["code"] = dict(code)
    if data:
        doc["data"] = [dict(d) for d in data]
    if job:
        doc["job"] = {"image": image, "command": command, **job_keys}
    elif job_keys:
        raise TypeError(f"job keys {sorted(job_keys)} without a job")
    if sweep is not None:
        doc["sweep"] = {k: list(v) for k, v in sweep.items()}
    if tensorboard:
        doc["tensorboard"] = dict(TENSORBOARD if tensorboard is True else tensorboard)
    if serve:
        doc["serve"] = dict(SERVE if serve is True else serve)
    return doc


def write(path: Path, doc: Mapping[str, object]) -> str:
    """doc in the file at path (its directories made), as TOML, or for .yaml/.yml/.json as JSON; the path as str.

    JSON, which is YAML: every string stays quoted, so no YAML resolver reads "1e3" as a number.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".yaml", ".yml", ".json"):
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(to_toml(doc), encoding="utf-8")
    return str(path)


# --- TOML ------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(s: str) -> str:
    """A TOML basic string holding s exactly."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else toml_string(k)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = repr(v)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {v!r}")


def _is_table_array(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def to_toml(doc: Mapping[str, object], inline: bool = False) -> str:
    """TOML for doc: tables as [headers] and [[arrays]] (or everything inline)."""
    lines: list[str] = []

    def table(d: Mapping[str, object], prefix: list[str]) -> None:
        subtables = []
        for k, v in d.items():
            if not inline and (isinstance(v, dict) or _is_table_array(v)):
                subtables.append((k, v))
            else:
                lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")
        for k, v in subtables:
            path = prefix + [_toml_key(str(k))]
            if isinstance(v, dict):
                lines.extend(["", f"[{'.'.join(path)}]"])
                table(v, path)
            else:
                assert isinstance(v, list)
                for item in v:
                    lines.extend(["", f"[[{'.'.join(path)}]]"])
                    table(item, path)

    table(doc, [])
    return "\n".join(lines) + "\n"
