"""Starting and stopping one replica: the seam between the kubelet and what runs a container.

A runner turns a Launch — what the rendered pod says to run, resolved to
this machine by the kubelet (host directories of its volumes, the code
checkout, the pod's env with the operator's variables, the GPUs it was
given) — into a Handle: a running thing with a pid whose exit
status is the container's.  ProcessRunner runs it in an unprivileged user +
mount + pid namespace through util-linux `unshare` and
arena_run.local.sandbox, on this machine's own environment and network.  A
container runner (containers.py) implements the same two methods from the
same Launch (what only it needs, such as the image, in `extra`); the kubelet
chooses the runner of each run (`Kubelet.runner_for`), and the controllers
and the planner do not change.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from .paths import open_log
from .state import LocalError, write_json

PR_SET_PDEATHSIG = 1


@dataclass
class Launch:
    name: str  # the pod's name, e.g. mnist-worker-0
    argv: list[str]  # command + args of the container (a server's with its ports made local)
    env: dict[str, str]  # the pod's own: the container's, the operator's, CUDA_VISIBLE_DEVICES, HOSTNAME
    working_dir: str
    mounts: list[dict[str, Any]]  # [{"source": host path, "target": path in the pod, "read_only": bool}]
    shm: int  # bytes
    log: str  # host path of the log file (appended to)
    scratch: str  # host directory private to this start (overlay uppers, the new root)
    extra: dict[str, Any] = field(default_factory=dict)  # what only one kind of runner needs


class Handle(Protocol):
    """A started container as the kubelet watches it: subprocess.Popen is one."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> Optional[int]: ...  # None while it runs; negative: killed by that signal

    def poll(self) -> Optional[int]: ...

    def wait(self, timeout: Optional[float] = None) -> int: ...  # subprocess.TimeoutExpired when it runs on


class Runner(Protocol):
    def start(self, launch: Launch) -> Handle: ...

    def stop(self, proc: Handle, sig: int = signal.SIGTERM) -> None: ...  # the container and its children


def _unshare_argv() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        raise LocalError("--local needs util-linux `unshare` (apt install util-linux) to give replicas "
                         "the pod's paths; it is not on PATH")
    argv = [unshare]
    if os.geteuid() != 0:
        argv += ["--user", "--map-root-user"]
    return argv + ["--mount", "--pid", "--fork", "--kill-child"]


_checked: dict[str, Any] = {}


def check_namespaces() -> None:
    """Raise LocalError saying what is missing when replicas cannot get their own namespaces here."""
    if "ok" in _checked:
        return
    argv = _unshare_argv() + ["true"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError as exc:
        raise LocalError(f"--local: cannot run {argv[0]}: {exc.strerror}") from None
    if result.returncode != 0:
        why = (result.stderr.strip().splitlines() or ["no message"])[-1]
        hint = ("unprivileged user namespaces are disabled: enable them (sysctl user.max_user_namespaces, "
                "kernel.unprivileged_userns_clone, or the AppArmor restriction "
                "kernel.apparmor_restrict_unprivileged_userns=0) or run as root")
        raise LocalError(f"--local runs each replica in its own user, mount and pid namespace, and this machine "
                         f"refused one ({' '.join(argv[:-1])}: {why}); {hint}")
    _checked["ok"] = True


def _die_with_parent(parent: int) -> Callable[[], None]:
    def setup() -> None:
        # If the supervisor dies (even by SIGKILL) its replicas die with it:
        # `unshare --kill-child` then takes the whole pid namespace down.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)
    return setup


class ProcessRunner:
    def start(self, launch: Launch) -> Handle:
        os.makedirs(launch.scratch, exist_ok=True)
        spec_path = os.path.join(launch.scratch, "sandbox.json")
        write_json(spec_path, {
            "root": os.path.join(launch.scratch, "root"), "scratch": launch.scratch,
            "working_dir": launch.working_dir, "mounts": launch.mounts, "shm": launch.shm,
            # A process sees this machine's environment, the pod's own on top.
            "argv": launch.argv, "env": {**user_env(), **launch.env},
        })
        os.makedirs(os.path.dirname(launch.log), exist_ok=True)
        with open_log(launch.log) as log:
            return subprocess.Popen(
                _unshare_argv() + [sys.executable, "-m", "arena_run.local.sandbox", spec_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()), env=_sandbox_env(),
            )

    def stop(self, proc: Handle, sig: int = signal.SIGTERM) -> None:
        try:
            os.killpg(proc.pid, sig)  # the replica's own process group, children included
        except ProcessLookupError:
            pass


def user_env() -> dict[str, str]:
    """This machine's environment as the user has it, not as arena-run's own virtualenv made it:
    a job's `python3` is the user's, not the interpreter arena-run happens to run in."""
    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:  # arena-run runs in a virtualenv (pipx, a venv, an activated one)
        own = os.path.join(sys.prefix, "bin")
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p and os.path.realpath(p) != os.path.realpath(own)]
        env["PATH"] = os.pathsep.join(path)
        if env.get("VIRTUAL_ENV") and os.path.realpath(env["VIRTUAL_ENV"]) == os.path.realpath(sys.prefix):
            del env["VIRTUAL_ENV"]
            env.pop("VIRTUAL_ENV_PROMPT", None)
    return env


def _sandbox_env() -> dict[str, str]:
    # What the sandbox's own Python needs to start; the command gets the
    # Launch's env, not this.
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    return env


def describe(launch: Launch) -> str:
    return json.dumps({"argv": launch.argv, "working_dir": launch.working_dir})


def default_runner(mode: Optional[str] = None) -> Runner:
    if mode in (None, "process"):
        return ProcessRunner()
    raise LocalError(f"local runner {mode!r} is not available (process is)")
