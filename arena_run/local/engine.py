"""The container engine, Podman or Docker, driven only through its documented command line.

No policy lives here: what to run, when to restart it and which GPUs it
gets is the caller's.  This module knows how each engine spells a request
(`run` flags, GPU devices, `inspect` fields), finds the engine, and turns
the engine's refusals into one line naming the cause and what to do.

The engine: `ARENA_RUN_CONTAINER_ENGINE` (a name or a path) when set, else
`podman`, else `docker`, the first of them on PATH.  Podman first: it needs
no daemon, and a `docker` client on PATH often has none to talk to.

Every container, network and volume arena-run makes carries the label
`arena-run.io/managed=true` beside the ones naming what it belongs to, so
a list by label finds all of them after any restart, and delete can leave
none behind.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Mapping, Optional, Sequence

from .state import LocalError

ENGINE_ENV = "ARENA_RUN_CONTAINER_ENGINE"
ENGINES = ("podman", "docker")
LABEL = "arena-run.io/"
MANAGED = LABEL + "managed"
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TIMEOUT = 120.0  # seconds for one engine command that does not pull or follow


class EngineError(LocalError):
    """The engine is missing or refused: one line with the cause and what to do."""


@dataclass(frozen=True)
class Mount:
    source: str  # host path
    target: str  # path in the container
    read_only: bool = False


@dataclass(frozen=True)
class Port:
    container: int
    host: int
    host_ip: str = "127.0.0.1"


@dataclass
class Container:
    """What to run: the engine's `run` flags, as data."""

    name: str
    image: str
    argv: list[str]
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: Optional[str] = None
    mounts: list[Mount] = field(default_factory=list)
    shm_bytes: Optional[int] = None
    cpus: Optional[float] = None
    memory_bytes: Optional[int] = None
    network: Optional[str] = None  # a network's name, or "host" / "none"
    aliases: list[str] = field(default_factory=list)  # names the other containers of the network resolve
    hostname: Optional[str] = None
    gpus: list[str] = field(default_factory=list)  # indices or UUIDs, as nvidia-smi lists them
    ports: list[Port] = field(default_factory=list)


@dataclass(frozen=True)
class State:
    """A container as `inspect` reports it."""

    id: str
    name: str
    status: str  # created, running, paused, exited, ... (the engine's word)
    running: bool
    exit_code: Optional[int]  # once it has exited
    oom_killed: bool
    started_at: str
    finished_at: str
    labels: dict[str, str]
    error: str  # the runtime's complaint when it could not start


Run = Callable[..., "subprocess.CompletedProcess[str]"]


def find(env: Optional[Mapping[str, str]] = None, *, run: Optional[Run] = None) -> "Engine":
    """The engine this machine uses, or EngineError saying how to get one."""
    env = os.environ if env is None else env
    path = env.get("PATH")
    named = (env.get(ENGINE_ENV) or "").strip()
    if named:
        found = shutil.which(named, path=path)
        if found is None:
            raise EngineError(f"{ENGINE_ENV}={named}: no such program on PATH; name podman or docker "
                              f"(or a path to one), or unset it to use the first found")
        return Engine(found, _kind(named, found), run=run)
    for name in ENGINES:
        found = shutil.which(name, path=path)
        if found:
            return Engine(found, name, run=run)
    raise EngineError("--container needs Podman or Docker and neither is on PATH: install one "
                      "(apt install podman), name it in ARENA_RUN_CONTAINER_ENGINE, or run without --container")


def _kind(named: str, path: str) -> str:
    """Which CLI a named program speaks: its name (or its link's target) says docker or podman."""
    for text in (os.path.basename(named).lower(), os.path.basename(os.path.realpath(path)).lower()):
        for name in ENGINES:
            if name in text:
                return name
    return "podman"


GPU_KIND = "nvidia.com/gpu"
CDI_DIRS = ("/etc/cdi", "/var/run/cdi")  # where Podman 4.3 reads CDI specs


def cdi_devices(kind: str = GPU_KIND, dirs: Sequence[str] = CDI_DIRS) -> set[str]:
    """The device names this machine's CDI specs give for kind (`nvidia-ctk cdi generate` names each GPU
    by index and by UUID, and `all`); a spec that cannot be read names none."""
    import yaml

    names: set[str] = set()
    for directory in dirs:
        try:
            files = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in files:
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            try:
                with open(os.path.join(directory, name)) as fh:
                    spec = yaml.safe_load(fh)  # JSON is YAML
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(spec, dict) and spec.get("kind") == kind:
                names |= {str(d["name"]) for d in spec.get("devices") or [] if isinstance(d, dict) and "name" in d}
    return names


def default_pull_policy(image: str) -> str:
    """Kubernetes' default: Always for `:latest` or no tag (and no digest), else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _gpu_flags(kind: str, gpus: Sequence[str]) -> list[str]:
    if not gpus:
        return []
    if kind == "podman":
        # CDI names: `nvidia-ctk cdi generate` lists each GPU by index and by UUID.
        return [arg for g in gpus for arg in ("--device", f"nvidia.com/gpu={g}")]
    # Docker reads --gpus as CSV: a list of devices must be quoted as one field.
    return ["--gpus", f'"device={",".join(gpus)}"']


def create_argv(kind: str, c: Container) -> list[str]:
    """The arguments of `ENGINE create` for c (without the program itself): labelled, with --init
    (a pid 1 that passes signals on and reaps orphans, as the process runner's sandbox does)."""
    # --pull=never: what to pull, and when, is the caller's (image_pull_policy), with its progress shown.
    argv = ["create", "--name", c.name, "--init", "--pull=never"]
    for key, value in sorted(c.labels.items()):
        argv += ["--label", f"{key}={value}"]
    for key, value in c.env.items():
        argv += ["--env", f"{key}={value}"]
    if c.working_dir:
        argv += ["--workdir", c.working_dir]
    for m in c.mounts:
        # --mount, not -v: a path holding ':' or ',' stays one path (its fields are CSV, so quote them).
        spec = f"type=bind,{_csv('source=' + m.source)},{_csv('destination=' + m.target)}"
        argv += ["--mount", spec + (",readonly" if m.read_only else "")]
    if c.shm_bytes is not None:
        argv += ["--shm-size", f"{c.shm_bytes}b"]
    if c.cpus is not None:
        argv += ["--cpus", f"{c.cpus:g}"]
    if c.memory_bytes is not None:
        argv += ["--memory", f"{c.memory_bytes}b"]
    if c.network:
        argv += ["--network", c.network]
    for alias in c.aliases:
        argv += ["--network-alias", alias]
    if c.hostname:
        argv += ["--hostname", c.hostname]
    for p in c.ports:
        argv += ["--publish", f"{p.host_ip}:{p.host}:{p.container}"]
    argv += _gpu_flags(kind, c.gpus)
    # The image's entrypoint is replaced, as a pod's `command` replaces it.
    if c.argv:
        argv += ["--entrypoint", c.argv[0], c.image, *c.argv[1:]]
    else:
        argv.append(c.image)
    return argv


def _csv(field_text: str) -> str:
    if any(ch in field_text for ch in ',"\r\n'):
        return '"' + field_text.replace('"', '""') + '"'
    return field_text


def _last_line(text: str) -> str:
    # The docker CLI ends a refusal with where to read more ("See 'docker run --help'.") and `docker start`
    # with which containers failed ("Error: failed to start containers: NAME"), after the daemon's words:
    # neither is the cause.
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not _NOT_THE_CAUSE.match(ln.strip())]
    # Podman prefixes its own errors with "Error: "; aardvark and others add noise lines before.
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    line = (errors or lines or ["no message"])[-1]
    return line[len("Error: "):] if line.startswith("Error: ") else line


def explain_run_failure(kind: str, message: str, image: str = "") -> str:
    """What to do about a refused `run`, from the engine's own words."""
    low = message.lower()
    if "nvidia.com/gpu" in low or "cdi" in low:
        return (f"{message}; the GPUs need a CDI spec: install the NVIDIA Container Toolkit and run "
                f"`nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`")
    if "could not select device driver" in low or "capabilities: [[gpu]]" in low:
        return (f"{message}; Docker has no GPU runtime: install the NVIDIA Container Toolkit "
                f"(`nvidia-ctk runtime configure --runtime=docker`) and restart dockerd")
    if "/dev/net/tun" in low:
        return (f"{message}; rootless networks (slirp4netns) need /dev/net/tun open to this user: "
                f"`chmod 0666 /dev/net/tun` (its usual mode), or run the engine as root")
    if "setrlimit" in low or "rlimit" in low:
        return (f"{message}; the engine may not raise the container's ulimits here: set "
                f"default_ulimits (nofile, nproc) within this shell's limits in containers.conf")
    if "cgroup" in low:
        return (f"{message}; the engine cannot manage cgroups here: set cgroup_manager = \"cgroupfs\" in "
                f"containers.conf, or run under a systemd user session")
    if "newuidmap" in low or "subuid" in low or "user namespace" in low or "uid_map" in low:
        return (f"{message}; rootless containers need subordinate ids: add this user to /etc/subuid and "
                f"/etc/subgid, then `podman system migrate`")
    if "executable file not found" in low or ("no such file or directory" in low and "exec" in low):
        return f"{message}; the command is not in the image {image}: check the image or the command"
    return message


class Engine:
    """One engine binary and how its CLI is called."""

    def __init__(self, path: str, kind: str, *, run: Optional[Run] = None):
        self.path, self.kind = path, kind
        self._run: Run = run or subprocess.run

    def __repr__(self) -> str:
        return f"Engine({self.kind} at {self.path})"

    # --- calling the CLI --------------------------------------------------------------
    def call(self, *args: str, timeout: Optional[float] = TIMEOUT,
             stdin: Optional[bytes] = None) -> "subprocess.CompletedProcess[str]":
        try:
            if stdin is not None:
                done = self._run([self.path, *args], capture_output=True, timeout=timeout, input=stdin)
                return subprocess.CompletedProcess(done.args, done.returncode, _text(done.stdout),
                                                   _text(done.stderr))
            return self._run([self.path, *args], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise EngineError(f"{self.path}: not found any more; install {self.kind} or set {ENGINE_ENV}") from None
        except subprocess.TimeoutExpired:
            raise EngineError(f"{self.kind} {args[0]} did not answer in {timeout:.0f}s; "
                              f"check `{self.kind} info` on this machine") from None

    def _ok(self, *args: str, what: str = "", timeout: Optional[float] = TIMEOUT) -> str:
        result = self.call(*args, timeout=timeout)
        if result.returncode != 0:
            raise EngineError(f"{self.kind} {what or args[0]}: {_last_line(result.stderr or result.stdout)}")
        return result.stdout

    def check(self) -> None:
        """That the engine answers (Docker's daemon runs, Podman's storage opens)."""
        result = self.call("version", "--format", "{{.Server.Version}}" if self.kind == "docker" else
                           "{{.Client.Version}}")
        if result.returncode != 0:
            why = _last_line(result.stderr or result.stdout)
            if self.kind == "docker":
                raise EngineError(f"docker cannot reach its daemon ({why}): start it (systemctl start docker), "
                                  f"or use Podman ({ENGINE_ENV}=podman)")
            raise EngineError(f"podman does not work here ({why}): see `podman info`")

    # --- images -----------------------------------------------------------------------
    def image_present(self, image: str) -> bool:
        return self.call("image", "inspect", "--format", "{{.Id}}", image).returncode == 0

    def pull(self, image: str, progress: Optional[Callable[[str], None]] = None,
             timeout: Optional[float] = 3600) -> None:
        """Pull image, each line of the engine's progress to progress; EngineError when it cannot."""
        try:
            proc = subprocess.Popen([self.path, "pull", image], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError:
            raise EngineError(f"{self.path}: not found any more; install {self.kind} or set {ENGINE_ENV}") from None
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if progress is not None:
                progress(line.rstrip("\n"))
        code = proc.wait(timeout=timeout)
        if code != 0:
            raise EngineError(f"image {image} cannot be pulled ({_last_line(chr(10).join(lines))}): check its name "
                              f"and registry login, or build or load it here and set image_pull_policy = \"Never\"")

    def ensure_image(self, image: str, policy: Optional[str] = None,
                     progress: Optional[Callable[[str], None]] = None) -> bool:
        """Make image present as policy says (None: Kubernetes' default); True when it pulled."""
        policy = policy or default_pull_policy(image)
        if policy not in PULL_POLICIES:
            raise EngineError(f"image_pull_policy {policy!r}: one of {', '.join(PULL_POLICIES)}")
        if policy == "Never":
            if not self.image_present(image):
                raise EngineError(f"image {image} is not on this machine and image_pull_policy is Never: "
                                  f"`{self.kind} pull {image}` (or build it), or allow pulling")
            return False
        if policy == "IfNotPresent" and self.image_present(image):
            return False
        self.pull(image, progress)
        return True

    # --- containers -------------------------------------------------------------------
    def run(self, c: Container) -> str:
        """Create and start c (detached); its id, or EngineError saying what to do, nothing left behind."""
        result = self.call(*create_argv(self.kind, c))
        if result.returncode == 0:
            cid = (result.stdout.strip().splitlines() or [c.name])[-1]
            result = self.call("start", c.name)
            if result.returncode != 0 and c.working_dir and _MISSING_WORKDIR in result.stderr:
                # Podman 4 creates a working directory only when the image names it (Docker and
                # the kubelet always do): make the missing part in the created container, then start.
                self._make_dir(c.name, c.working_dir)
                result = self.call("start", c.name)
            if result.returncode == 0:
                return cid
        message = _last_line(result.stderr or result.stdout)
        self.call("rm", "--force", c.name)  # a created container keeps its name taken
        raise EngineError(f"{self.kind} run {c.name}: {explain_run_failure(self.kind, message, c.image)}")

    def _make_dir(self, name: str, path: str) -> None:
        """Create path in the container (not started), leaving its existing parents as the image has them."""
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts) - 1, -1, -1):
            # a tar of the missing components only, unpacked into the deepest parent that exists
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for i in range(depth, len(parts)):
                    info = tarfile.TarInfo("/".join(parts[depth:i + 1]))
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            parent = "/" + "/".join(parts[:depth])
            if self.call("cp", "-", f"{name}:{parent}", stdin=buf.getvalue()).returncode == 0:
                return

    def inspect(self, name: str) -> Optional[State]:
        """The container's state, or None when there is no such container."""
        result = self.call("container", "inspect", name)
        if result.returncode != 0:
            return None
        items = json.loads(result.stdout or "[]")
        return _state(items[0]) if items else None

    def containers(self, labels: Optional[Mapping[str, str]] = None) -> list[State]:
        """Every container (running or not) carrying all of labels."""
        ids = [i for i in self._ok("ps", "--all", "--no-trunc", *_filters(labels), "--format", "{{.ID}}",
                                   what="ps").split() if i]
        if not ids:
            return []
        result = self.call("container", "inspect", *ids)
        # A container removed between ps and inspect: inspect still prints the others.
        return [_state(item) for item in json.loads(result.stdout or "[]")]

    def logs_argv(self, name: str, *, follow: bool = False, tail: Optional[int] = None) -> list[str]:
        argv = [self.path, "logs"]
        if follow:
            argv.append("--follow")
        if tail is not None:
            argv += ["--tail", str(tail)]
        return argv + [name]

    def logs(self, name: str, *, tail: Optional[int] = None) -> str:
        """What the container wrote so far, stdout and stderr together."""
        result = self.call(*self.logs_argv(name, tail=tail)[1:])
        if result.returncode != 0:
            raise EngineError(f"{self.kind} logs {name}: {_last_line(result.stderr)}")
        return result.stdout + result.stderr

    def follow_logs(self, name: str, out: IO[bytes], *, tail: Optional[int] = None) -> "subprocess.Popen[bytes]":
        """`logs --follow` writing into out; it ends when the container does."""
        return subprocess.Popen(self.logs_argv(name, follow=True, tail=tail), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)

    def signal(self, name: str, sig: str = "TERM") -> None:
        self.call("kill", "--signal", sig, name)  # already stopped: nothing to do

    def stop(self, name: str, grace: float = 3.0) -> None:
        self.call("stop", "--time", str(max(int(grace), 0)), name, timeout=grace + TIMEOUT)

    def remove(self, *names: str) -> None:
        if names:
            self.call("rm", "--force", *names)

    # --- networks and volumes ---------------------------------------------------------
    def create_network(self, name: str, labels: Optional[Mapping[str, str]] = None) -> None:
        args = ["network", "create"]
        for key, value in sorted((labels or {}).items()):
            args += ["--label", f"{key}={value}"]
        result = self.call(*args, name)
        if result.returncode != 0 and not self._has_network(name):
            raise EngineError(f"{self.kind} network create {name}: {_last_line(result.stderr)}")

    def _has_network(self, name: str) -> bool:
        return self.call("network", "inspect", name).returncode == 0

    def networks(self, labels: Optional[Mapping[str, str]] = None) -> list[str]:
        out = self._ok("network", "ls", *_filters(labels), "--format", "{{.Name}}", what="network ls")
        return [n for n in out.split() if n]

    def remove_network(self, *names: str) -> None:
        if names:
            self.call("network", "rm", *names)

    def volumes(self, labels: Optional[Mapping[str, str]] = None) -> list[str]:
        out = self._ok("volume", "ls", *_filters(labels), "--format", "{{.Name}}", what="volume ls")
        return [n for n in out.split() if n]

    def remove_volume(self, *names: str) -> None:
        if names:
            self.call("volume", "rm", "--force", *names)


_MISSING_WORKDIR = "does not exist on container"
_NOT_THE_CAUSE = re.compile(r"^((See|Run) '(docker|podman) [^']*--help'|Error: failed to start containers?: )")


def _text(data: Any) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")


def _filters(labels: Optional[Mapping[str, str]]) -> list[str]:
    out: list[str] = []
    for key, value in sorted((labels or {}).items()):
        out += ["--filter", f"label={key}={value}"]
    return out


def _state(item: dict[str, Any]) -> State:
    state = item.get("State") or {}
    config = item.get("Config") or {}
    status = str(state.get("Status") or "")
    running = bool(state.get("Running"))
    exited = status in ("exited", "stopped", "dead") or (not running and bool(state.get("FinishedAt"))
                                                         and not str(state.get("FinishedAt")).startswith("0001"))
    return State(
        id=str(item.get("Id") or ""), name=str(item.get("Name") or "").lstrip("/"), status=status,
        running=running, exit_code=int(state.get("ExitCode") or 0) if exited else None,
        oom_killed=bool(state.get("OOMKilled")), started_at=str(state.get("StartedAt") or ""),
        finished_at=str(state.get("FinishedAt") or ""), labels=dict(config.get("Labels") or {}),
        error=str(state.get("Error") or ""),
    )
