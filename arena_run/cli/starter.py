"""What `arena-run init` writes, and how: short, valid, explained by its comments, and written safely.

Safely means: never through a link (a link at a target is replaced, never
followed, and only with --force), never over a file without --force, the
experiment file and arena.schema.json both or neither (temporary files in the
target directory, then renames), and every refusal one line before anything
is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from typing import NamedTuple, Optional

from ..spec.errors import SpecError, UserError, escape

_TOML = '''\
#:schema ./arena.schema.json
# An arena-run experiment. Reference: `arena-run schema`, or hover in an editor.
name = "{name}"                 # names every object: the job, {name}-tensorboard, ...
# namespace = "team-a"          # default: --namespace, then the kube context's

# [code]                        # sync the code into the pods before they start
# git = "https://github.com/you/your-repo.git"   # lands at <working_dir>/code/<repo>
# ref = "main"
# secret = "git-creds"          # a Secret with username/password keys

[[data]]                        # a volume every replica mounts
pvc = "training-data"           # or host_path = "/mnt/data"
mount = "/data"

[job]
type = "tf"                     # or "pytorch"
image = "tensorflow/tensorflow:2.16.1-gpu"
command = "python train.py --data /data --logdir /data/logs/{name}"
gpus = 1                        # per worker
workers = 1
# ps = 1                        # parameter servers (tf)
# cpu = "4"
# memory = "16Gi"

[tensorboard]                   # delete this table to go without
logdir = "/data/logs/{name}"

# [serve]                       # serve the trained model
# type = "tf-serving"           # or "kserve"
# model_path = "/data/models/{name}"

# [sweep]                       # one job per point; the command may say {{{{lr}}}}
# lr = [0.001, 0.01]
'''

# The same starter for a file named .yaml: a user who asks for arena.yaml
# expects YAML in it, not TOML.  The name is quoted: `null` and `true` are
# valid experiment names that YAML would read otherwise.
_YAML = '''\
# yaml-language-server: $schema=./arena.schema.json
# An arena-run experiment. Reference: `arena-run schema`, or hover in an editor.
name: "{name}"                  # names every object: the job, {name}-tensorboard, ...
# namespace: team-a             # default: --namespace, then the kube context's

# code:                         # sync the code into the pods before they start
#   git: https://github.com/you/your-repo.git   # lands at <working_dir>/code/<repo>
#   ref: main
#   secret: git-creds           # a Secret with username/password keys

data:
  - pvc: training-data          # a volume every replica mounts; or host_path: /mnt/data
    mount: /data

job:
  type: tf                      # or pytorch
  image: tensorflow/tensorflow:2.16.1-gpu
  command: python train.py --data /data --logdir /data/logs/{name}
  gpus: 1                       # per worker
  workers: 1
  # ps: 1                       # parameter servers (tf)
  # cpu: "4"
  # memory: 16Gi

tensorboard:                    # delete this block to go without
  logdir: /data/logs/{name}

# serve:                        # serve the trained model
#   type: tf-serving            # or kserve
#   model_path: /data/models/{name}

# sweep:                        # one job per point; the command may say {{{{lr}}}}
#   lr: [0.001, 0.01]
'''

FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
SCHEMA_FILE = "arena.schema.json"


def starter(name: str, fmt: str = "toml") -> str:
    return (_YAML if fmt == "yaml" else _TOML).format(name=name)


def suggest_name(directory: str) -> str:
    """A valid experiment name from a directory's name, e.g. My_Project -> my-project."""
    base = re.sub(r"[^a-z0-9-]+", "-", os.path.basename(directory).lower()).strip("-")
    base = re.sub(r"^[^a-z]+", "", base)[:40].rstrip("-")
    return base or "my-experiment"


class Written(NamedTuple):
    path: str
    schema: str
    schema_written: bool  # False: an identical arena.schema.json was already there


def init_files(path: str, name: Optional[str], force: bool, schema_text: str) -> Written:
    """Write the starter at path (a file, or a directory for its arena.toml) and arena.schema.json beside it."""
    named_dir = path.endswith(("/", os.sep))  # `init my-project/`, as the tour runs it
    if named_dir or os.path.isdir(path):
        path = os.path.join(path, "arena.toml")
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise UserError(f"{escape(path)}: an experiment file ends in .toml or .yaml (`validate DIR` finds "
                        "arena.toml and arena.yaml)")
    directory = os.path.dirname(path) or "."
    text = starter(_check_name(name) if name is not None else suggest_name(os.path.abspath(directory)), fmt)
    _check_starter(text, fmt, path, name)

    # A directory named as one (`my-project/`) is made, one level only: a typo in its parent still refuses.
    made = named_dir and not os.path.lexists(directory) and os.path.isdir(os.path.dirname(os.path.abspath(directory)))
    if made:
        os.mkdir(directory)
    try:
        if not os.path.isdir(directory):
            why = "is not a directory" if os.path.lexists(directory) else "does not exist"
            raise UserError(f"cannot write {escape(path)}: {escape(directory)} {why}")
        schema = os.path.join(directory, SCHEMA_FILE)
        _may_replace(path, force)
        write_schema = _may_replace(schema, force, same_as=schema_text)
        _write_both(directory, [(path, text)] + ([(schema, schema_text)] if write_schema else []))
    except BaseException:
        if made:  # both files or neither, and no directory either
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return Written(path, schema, write_schema)


def _check_name(name: str) -> str:
    from ..spec.types import DNS1035_LABEL_RE

    if len(name) > 63 or not re.fullmatch(DNS1035_LABEL_RE, name):
        raise UserError(f"--name {name!r}: an experiment name is a lowercase DNS label: a-z, 0-9 and '-', "
                        "starting with a letter, at most 63 characters")
    return name


def _check_starter(text: str, fmt: str, path: str, name: Optional[str]) -> None:
    from ..spec.load import load_text

    try:
        load_text(text, fmt, path)  # the starter must itself be valid, whatever the name
    except SpecError as exc:  # the name passes alone but not in what it names (too long for a derived name)
        raise UserError(f"--name {name!r}: " + "; ".join(p.message for p in exc.problems)) from None


def _may_replace(target: str, force: bool, same_as: Optional[str] = None) -> bool:
    """Whether target is to be written: absent, or there and --force.  Links are looked at, never through."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise UserError(f"cannot write {escape(target)}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"cannot write {escape(target)}: it is a directory")
    if same_as is not None and stat.S_ISREG(st.st_mode) and _holds(target, same_as):
        return False  # the very file that would be written: nothing to overwrite
    if not force:
        what = "a link" if stat.S_ISLNK(st.st_mode) else "a file" if stat.S_ISREG(st.st_mode) else "something"
        raise UserError(f"{escape(target)} exists ({what}); use --force to replace it")
    return True


def _holds(path: str, text: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            return fh.read(len(text.encode()) + 1) == text.encode()
    except OSError:
        return False


def _write_both(directory: str, files: list[tuple[str, str]]) -> None:
    """Each text to a new temporary file in directory, then each renamed over its target; on a failure,
    the temporary files and the targets that did not exist before are removed."""
    umask = os.umask(0)
    os.umask(umask)
    new = [t for t, _ in files if not os.path.lexists(t)]
    temps: list[str] = []
    done: list[str] = []
    target = files[0][0]
    try:
        for target, text in files:
            temp = os.path.join(directory, f".arena-run-init-{os.getpid()}-{len(temps)}.tmp")
            # O_EXCL | O_NOFOLLOW: a new file, never one a link points at.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666 & ~umask)
            temps.append(temp)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        # The experiment file last: it appears only once the schema is in place.
        for (target, _), temp in reversed(list(zip(files, temps))):
            os.replace(temp, target)  # replaces a link itself, never what it points at
            done.append(target)
    except BaseException as exc:
        for temp in temps:
            _unlink(temp)
        for path in done:
            if path in new:
                _unlink(path)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {escape(target)}: {exc.strerror}") from None
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
