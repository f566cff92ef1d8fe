"""Where local experiments live on disk, and the locks that keep two CLIs from tripping over each other.

    $XDG_STATE_HOME/arena-run/                 (default ~/.local/state/arena-run)
        resources.json                         GPUs and cores held, machine-wide (flock: resources.lock)
        experiments/<name>/
            apply.lock                         held by an apply or delete of this experiment
            supervisor.json, supervisor.log    the live supervisor's pid; what it said
            supervisor.lock                    held by a supervisor of arena-run 0.1.0 (LEGACY_SUPERVISOR_LOCK)

            parent.json                        the ApplySet parent the planner wrote (the experiment's record)
            objects/<Kind>/<name>.json         {"object": rendered member, "uid": run id, "created": time}
            runs/<uid>/                        one run of a job or a component: status.json, logs/, code/, scratch/

A lock held by a process is released by the kernel when it dies, so "is the
supervisor alive" is a non-blocking flock, not a pid that may be reused.  The
supervisor locks the experiment's directory itself, not a file in it: a lock
file removed by hand would let a second supervisor lock a new one.

Every file is written whole (write, fsync, rename, fsync of the directory),
so a crash leaves the old file or the new one; a file damaged anyway (cut
short, edited by hand) raises Damaged, never reads as absent: an experiment
must not vanish from status while its replicas run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import tempfile
import uuid
from typing import Any, Iterator, Optional

from ..objects.times import format_time, parse_time, utc_now
from ..spec.errors import UserError
from .paths import NotRegular, open_regular


# What a supervisor of arena-run 0.1.0 holds locked instead of the directory.  One started before an
# upgrade still runs its replicas after it: it is alive for today's arena-run, which starts no second one.
LEGACY_SUPERVISOR_LOCK = "supervisor.lock"


class LocalError(UserError):
    """The local target cannot do what was asked (no namespaces, a GPU job without GPUs, ...)."""


def describe(exc: BaseException) -> str:
    """An exception as one line a user can act on: an OS error's reason and path, else its type and text."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        text = f"{exc.strerror}{where}"
    else:
        text = str(exc) if isinstance(exc, (UserError, OSError)) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:400]


def now_iso() -> str:
    return format_time(utc_now())


def parse_iso(text: Optional[str]) -> Optional[float]:
    """A time the state holds as seconds since the epoch (what the supervisor's clocks compare)."""
    moment = parse_time(text)
    return moment.timestamp() if moment else None


def state_home() -> str:
    return _home("XDG_STATE_HOME", (".local", "state"))


def data_home() -> str:
    return _home("XDG_DATA_HOME", (".local", "share"))


def _home(var: str, fallback: tuple[str, ...]) -> str:
    """$var/arena-run, or ~/<fallback>/arena-run: refused in one line when it cannot be a directory."""
    value = os.environ.get(var)
    if value and not os.path.isabs(value):
        raise LocalError(f"{var}={value!r} is not an absolute path: set an absolute one, or unset it for the "
                         f"default ~/{'/'.join(fallback)}")
    path = os.path.join(value or os.path.join(os.path.expanduser("~"), *fallback), "arena-run")
    usable_dir(path, f"{var}={value!r}" if value else f"{var} is unset and HOME={os.path.expanduser('~')!r}")
    return path


def usable_dir(path: str, what: str) -> None:
    """Raise LocalError when path, or the nearest of its parents that exists, is not a directory."""
    probe = path
    while not os.path.lexists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        kind = "a file" if os.path.isfile(probe) else "a dangling link" if os.path.islink(probe) else "not a directory"
        raise LocalError(f"{what}: {probe} is {kind}, so {path} cannot be a directory")


class Damaged(LocalError):
    """A state file that is there but cannot be read: cut short or edited by hand."""

    def __init__(self, path: str, why: str, hint: str = ""):
        super().__init__(f"{path} is damaged ({why})" + (f"; {hint}" if hint else ""))
        self.path, self.why = path, why


def read_json(path: str, default: Any = None, *, shape: type = object) -> Any:  # Any: whatever JSON it holds
    """The file's JSON; default when there is no file; Damaged when it is not JSON (or not of `shape`)."""
    try:
        with os.fdopen(open_regular(path), encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return default
    except NotRegular as exc:  # a FIFO would block the reader, a link read whatever it names
        raise Damaged(path, f"{exc.what} in place of the file arena-run wrote") from None
    except (ValueError, UnicodeDecodeError):  # writes are whole, so only a hand (or a disk) cuts one short
        raise Damaged(path, "not JSON: cut short or edited by hand") from None
    if not isinstance(data, shape):
        raise Damaged(path, f"a JSON {type(data).__name__}, not the {shape.__name__} arena-run wrote")
    return data


def write_json(path: str, data: Any) -> None:
    """Whole or not at all, across a crash too: a reader sees the old file or the new one, never half of one."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def locked(path: str, *, shared: bool = False) -> Iterator[None]:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def held(path: str) -> bool:
    """Whether some process holds an exclusive lock on path, a file or a directory (a supervisor is alive)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class Store:
    """The state of local experiments; every path below $XDG_STATE_HOME/arena-run."""

    def __init__(self, root: Optional[str] = None) -> None:
        self.root = root or state_home()

    # --- layout -----------------------------------------------------------------
    def experiments_dir(self) -> str:
        return os.path.join(self.root, "experiments")

    def dir(self, experiment: str) -> str:
        return os.path.join(self.experiments_dir(), experiment)

    def names(self) -> list[str]:
        """The experiments recorded here: those with a record, and those whose record is gone while
        members remain (damage: parent() says so, rather than a running job going unseen)."""
        try:
            found = os.listdir(self.experiments_dir())
        except FileNotFoundError:
            return []
        return sorted(n for n in found
                      if os.path.lexists(os.path.join(self.dir(n), "parent.json")) or self.has_members(n))

    def has_members(self, experiment: str) -> bool:
        """Whether any member of the experiment is recorded (its record aside)."""
        root = os.path.join(self.dir(experiment), "objects")
        try:
            kinds = os.listdir(root)
        except (FileNotFoundError, NotADirectoryError):
            return False
        for kind in kinds:
            try:
                if any(name.endswith(".json") for name in os.listdir(os.path.join(root, kind))):
                    return True
            except (FileNotFoundError, NotADirectoryError):
                continue
        return False

    def apply_lock(self, experiment: str) -> contextlib.AbstractContextManager[None]:
        return locked(os.path.join(self.dir(experiment), "apply.lock"))

    def supervisor_lock_path(self, experiment: str) -> str:
        """What the supervisor holds locked for its whole life: the experiment's directory."""
        return self.dir(experiment)

    def supervisor_alive(self, experiment: str) -> bool:
        return held(self.supervisor_lock_path(experiment)) or self.legacy_supervisor_alive(experiment)

    def legacy_supervisor_alive(self, experiment: str) -> bool:
        """Whether a supervisor of arena-run 0.1.0 is alive (it locked supervisor.lock, not the directory)."""
        return held(os.path.join(self.dir(experiment), LEGACY_SUPERVISOR_LOCK))

    def wait_supervisor_gone(self, experiment: str) -> None:
        """Until the experiment's supervisor has exited (its lock is free exactly when it is)."""
        for path, flags in ((self.supervisor_lock_path(experiment), os.O_DIRECTORY),
                            (os.path.join(self.dir(experiment), LEGACY_SUPERVISOR_LOCK), 0)):
            try:
                fd = os.open(path, os.O_RDONLY | flags | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
            finally:
                os.close(fd)

    def supervisor_pid(self, experiment: str) -> Optional[int]:
        """The pid the live supervisor wrote; None when none is alive."""
        path = os.path.join(self.dir(experiment), "supervisor.json")
        pid = read_json(path, {}, shape=dict).get("pid")
        if not self.supervisor_alive(experiment):
            return None
        if not isinstance(pid, int):
            raise Damaged(path, "no pid", "the supervisor is alive: arena-run delete --local "
                          f"{experiment} stops it")
        return pid

    def wake_supervisor(self, experiment: str) -> bool:
        """SIGHUP the experiment's live supervisor (it reconciles and rewrites its status); False when there is none."""
        pid = self.supervisor_pid(experiment)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGHUP)
            return True
        except ProcessLookupError:
            return False

    def resources_lock(self) -> contextlib.AbstractContextManager[None]:
        return locked(os.path.join(self.root, "resources.lock"))

    def resources_path(self) -> str:
        return os.path.join(self.root, "resources.json")

    # --- the record the planner reads -------------------------------------------
    def parent(self, experiment: str) -> Optional[dict[str, Any]]:
        path = os.path.join(self.dir(experiment), "parent.json")
        try:
            parent: Optional[dict[str, Any]] = read_json(path, shape=dict)
            if parent is not None and not isinstance(parent.get("metadata"), dict):
                raise Damaged(path, "no metadata")
            # apply writes the record before a new experiment's first member (apply/local.py), as the
            # ApplySet parent on a cluster: members without one are a record removed by hand.
            if parent is None and self.has_members(experiment):
                raise Damaged(path, "missing, while members of the experiment are recorded")
        except Damaged as exc:
            raise Damaged(path, exc.why,
                          f"arena-run apply --local --adopt FILE writes it again from the file; "
                          f"arena-run delete --local {experiment} stops and forgets the experiment") from None
        return parent

    def write_parent(self, experiment: str, parent: dict[str, Any]) -> None:
        write_json(os.path.join(self.dir(experiment), "parent.json"), parent)

    def objects(self, experiment: str) -> list[dict[str, Any]]:
        """[{"object", "uid", "created", "base"}] of the experiment's members, any kind."""
        out = []
        root = os.path.join(self.dir(experiment), "objects")
        for kind in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            for name in sorted(os.listdir(os.path.join(root, kind))):
                if name.endswith(".json"):
                    entry = self._entry(os.path.join(root, kind, name), experiment)
                    if entry:
                        out.append(entry)
        return out

    def object_path(self, experiment: str, kind: str, name: str) -> str:
        return os.path.join(self.dir(experiment), "objects", kind, name + ".json")

    def object(self, experiment: str, kind: str, name: str) -> Optional[dict[str, Any]]:
        return self._entry(self.object_path(experiment, kind, name), experiment)

    def _entry(self, path: str, experiment: str) -> Optional[dict[str, Any]]:
        hint = f"arena-run delete --local {experiment} stops and forgets the experiment; then apply it again"
        try:
            entry: Optional[dict[str, Any]] = read_json(path, shape=dict)
        except Damaged as exc:
            raise Damaged(path, exc.why, hint) from None
        if entry is not None and not (isinstance(entry.get("object"), dict) and isinstance(entry.get("uid"), str)):
            raise Damaged(path, "not an object arena-run recorded", hint)
        return entry

    def put_object(self, experiment: str, obj: dict[str, Any], *, new_run: bool, base: str = "",
                   volumes: Optional[dict[str, Any]] = None, runner: Optional[str] = None) -> dict[str, Any]:
        """Record a member; new_run gives it a new run id (the supervisor then runs it afresh)."""
        kind, name = obj["kind"], obj["metadata"]["name"]
        old = self.object(experiment, kind, name)
        entry = {
            "object": obj,
            "uid": uuid.uuid4().hex[:12] if new_run or old is None else old["uid"],
            "created": now_iso() if new_run or old is None else old["created"],
            "base": base or (old or {}).get("base", ""),
            "volumes": volumes if volumes is not None else (old or {}).get("volumes", {}),
            # process or container: a run keeps the runner it was started with
            "runner": (runner if new_run or old is None else (old or {}).get("runner")) or "process",
            # Where a server's binary is looked for: the PATH of the apply that started the run (the
            # supervisor's own is that of the apply that started it, maybe before the install).
            "path": os.environ.get("PATH", "") if new_run or old is None else (old or {}).get("path", ""),
        }
        write_json(self.object_path(experiment, kind, name), entry)
        return entry

    def remove_object(self, experiment: str, kind: str, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.object_path(experiment, kind, name))

    # --- runs ------------------------------------------------------------------------
    def run_dir(self, experiment: str, uid: str) -> str:
        return os.path.join(self.dir(experiment), "runs", uid)

    def run_status(self, experiment: str, uid: str) -> Optional[dict[str, Any]]:
        """What the run's supervisor last wrote; Damaged when it cannot be read (the supervisor rewrites it)."""
        status: Optional[dict[str, Any]] = read_json(os.path.join(self.run_dir(experiment, uid), "status.json"),
                                                     shape=dict)
        return status

    def run_ids(self, experiment: str) -> list[str]:
        root = os.path.join(self.dir(experiment), "runs")
        return sorted(os.listdir(root)) if os.path.isdir(root) else []

    def log_path(self, experiment: str, uid: str, replica: str) -> str:
        return os.path.join(self.run_dir(experiment, uid), "logs", replica + ".log")

    def remove_experiment(self, experiment: str) -> None:
        shutil.rmtree(self.dir(experiment), ignore_errors=True)
