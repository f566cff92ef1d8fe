"""The container runner: each replica in its own image, through the engine (arena_run.local.engine).

It satisfies the runner seam (arena_run.local.runner.Runner) with the same
Launch the process runner gets, plus what only a container needs, in
`Launch.extra`:

    image, pull_policy      the pod's image and imagePullPolicy
    cpus, memory            the container's limits (cores, bytes), as the kubelet gives them to the runtime
    gpus                    the UUIDs this replica holds (disjoint per replica: the ledger's doing)
    labels                  experiment, job, run, role, index: what names the container to a later reader
    network, hostname       the job's own network (None for a server: the engine's default), the pod's name
    ports                   a server's (pod port, port of 127.0.0.1) pairs to publish

What start returns is a small follower process (`python -m
arena_run.local.containers`), so the supervisor's loop stays as it is: it
copies the container's output into the replica's log file, waits for the
container, removes it, and exits with the container's exit status (137 for
a container killed or removed from outside: a failed replica, as a killed
process is).  The follower dies with the supervisor (parent-death signal)
and then removes its container, so a dead supervisor leaves no container
running, as it leaves no process.

A job's replicas share a network of their own (`arena-run-<run uid>`,
made before its first replica starts, removed once the run's last container
is: Kubelet.stop), each reached there by its pod's name (hostname and
network alias) at the port its pod declares, the addresses TF_CONFIG and
MASTER_ADDR give (local.distributed), as a cluster's headless Services do.
Nothing else is on it, and nothing of it is published.  A server (TensorBoard,
serving) listens as its pod says in a network namespace of its own (the
engine's default network), its ports published on 127.0.0.1 only.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import subprocess
import sys
from typing import Any, Callable, Optional

from ..objects.gpus import pod_gpus
from . import engine as engines
from .engine import Container, Engine, Mount, Port
from .paths import open_log
from .runners import RUNS_PODS, templates
from .runner import Handle, Launch

PR_SET_PDEATHSIG = 1
KILLED = 137  # what a shell reports for SIGKILL; a container gone from outside counts as killed
LABELS = {engines.MANAGED: "true"}


def store_label(root: str) -> str:
    """Which state directory a container belongs to: two users (or tests) of one engine never mix."""
    return hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:12]


def container_name(run_uid: str, pod: str, start: int) -> str:
    # The run's uid makes it unique on the engine (another state directory may run the same experiment).
    return f"arena-run-{run_uid}-{pod}-{start}"


def cpus_of(text: Optional[str]) -> Optional[float]:
    if not text:
        return None
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def bytes_of(text: Optional[str]) -> Optional[int]:
    if not text:
        return None
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "k": 10**3, "M": 10**6,
             "G": 10**9, "T": 10**12, "P": 10**15, "m": 10**-3}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text))


def network_name(run_uid: str) -> str:
    return f"arena-run-{run_uid}"


def extra(container: dict[str, Any], gpus: list[str], *, experiment: str, job: str,
          uid: str, role: str, index: int, pod: str, start: int, published: Optional[dict[int, int]] = None,
          job_network: bool = True) -> dict[str, Any]:
    """What a container needs beyond the process runner's Launch (see the module's docstring).

    published: a server's pod ports -> ports of 127.0.0.1; job_network: on the job's own network
    (a job's replica), else on the engine's default one (a server)."""
    limits = (container.get("resources") or {}).get("limits") or {}
    return {
        "image": container.get("image") or "", "pull_policy": container.get("imagePullPolicy"),
        "cpus": cpus_of(limits.get("cpu")), "memory": bytes_of(limits.get("memory")),
        "gpus": gpus, "container_name": container_name(uid, pod, start),
        "network": network_name(uid) if job_network else None, "hostname": pod,
        "ports": sorted((published or {}).items()),
        "labels": {engines.LABEL + "experiment": experiment, engines.LABEL + "job": job,
                   engines.LABEL + "run": uid, engines.LABEL + "replica": pod,
                   engines.LABEL + "role": role.lower(), engines.LABEL + "index": str(index)},
    }


def images(objects: list[dict[str, Any]]) -> dict[str, Optional[str]]:
    """image -> the pull policy its pods ask for (Always wins: one pull serves every pod)."""
    out: dict[str, Optional[str]] = {}
    for obj in objects:
        for t in templates(obj) if obj.get("kind") in RUNS_PODS else []:
            for c in (t.get("spec") or {}).get("containers") or []:
                policy = c.get("imagePullPolicy") or engines.default_pull_policy(c["image"])
                if out.get(c["image"]) != "Always":
                    out[c["image"]] = policy
    return out


def prepare(objects: list[dict[str, Any]], progress: Optional[Callable[[str], None]] = None) -> Engine:
    """Before anything starts: the engine answers, can give the GPUs asked for, and every image the
    objects run is here (pulled as their policies say, the engine's progress passed on); else EngineError."""
    engine = engines.find()
    engine.check()
    if engine.kind == "podman" and any(pod_gpus(t.get("spec") or {}) for o in objects if o.get("kind") in RUNS_PODS
                                       for t in templates(o)):
        check_cdi_gpus()
    for image, policy in images(objects).items():
        engine.ensure_image(image, policy, progress)
    return engine


def check_cdi_gpus() -> None:
    """That Podman can give each of this machine's GPUs by UUID (the name the ledger gives them by):
    a CDI spec names them; else EngineError saying how to make one."""
    from . import gpus as inventory

    named = engines.cdi_devices()
    missing = [g.uuid for g in inventory.detect().gpus if g.uuid not in named]
    if missing:
        where = " or ".join(engines.CDI_DIRS)
        raise engines.EngineError(
            f"the jobs ask for GPUs and no CDI spec in {where} names {', '.join(missing)} as a "
            f"{engines.GPU_KIND} device: install the NVIDIA Container Toolkit and run `nvidia-ctk cdi generate "
            f"--output=/etc/cdi/nvidia.yaml` (or run without --container)")


def container_for(launch: Launch) -> Container:
    extra = launch.extra
    return Container(
        name=str(extra["container_name"]), image=str(extra["image"]), argv=list(launch.argv),
        labels={**LABELS, **{k: str(v) for k, v in (extra.get("labels") or {}).items()}},
        env=dict(launch.env),  # the pod's own: this machine's environment stays out of the image
        working_dir=launch.working_dir or None,
        mounts=[Mount(m["source"], m["target"], bool(m.get("read_only"))) for m in launch.mounts],
        shm_bytes=launch.shm, cpus=extra.get("cpus"), memory_bytes=extra.get("memory"),
        network=extra.get("network"), aliases=[str(extra["hostname"])] if extra.get("network") else [],
        hostname=extra.get("hostname"), gpus=list(extra.get("gpus") or []),
        ports=[Port(int(inside), int(outside)) for inside, outside in extra.get("ports") or []],
    )


class ContainerRunner:
    """Start and stop replicas as containers of one engine."""

    def __init__(self, store_root: str, engine: Optional[Engine] = None):
        self.engine = engine or engines.find()
        self.store = store_label(store_root)
        self.names: dict[int, str] = {}  # follower pid -> its container

    def start(self, launch: Launch) -> Handle:
        c = container_for(launch)
        c.labels[engines.LABEL + "store"] = self.store
        self.engine.remove(c.name)  # a leftover of a supervisor killed between create and follow
        if c.network:
            # Labelled as its containers are, so a sweep finds it after any crash.
            keep = ("experiment", "run")
            self.engine.create_network(c.network, {**LABELS, engines.LABEL + "store": self.store,
                                                   **{k: v for k, v in c.labels.items()
                                                      if k in {engines.LABEL + w for w in keep}}})
        self.engine.run(c)
        os.makedirs(os.path.dirname(launch.log), exist_ok=True)
        with open_log(launch.log) as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "arena_run.local.containers", self.engine.path, self.engine.kind, c.name,
                 str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.names[proc.pid] = c.name
        return proc

    def stop(self, proc: Handle, sig: int = signal.SIGTERM) -> None:
        name = self.names.get(proc.pid)
        if name is not None and proc.poll() is None:
            self.engine.signal(name, "KILL" if sig == signal.SIGKILL else "TERM")

    def release(self, run_uid: str) -> None:
        """The run is over and none of its containers is left: remove its network (none: nothing to do)."""
        self.engine.remove_network(network_name(run_uid))


def _die_with_parent() -> None:
    # SIGTERM, not SIGKILL: the follower removes its container before it goes.  Blocked until the
    # follower has its handler (a blocked signal stays pending across exec), so none is lost.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def sweep(engine: Engine, store_root: str, experiment: Optional[str] = None) -> int:
    """Remove every container and network arena-run made for this state directory (one experiment's
    when named); how many there were."""
    labels = {**LABELS, engines.LABEL + "store": store_label(store_root)}
    if experiment is not None:
        labels[engines.LABEL + "experiment"] = experiment
    found = engine.containers(labels)
    engine.remove(*[s.id for s in found])
    networks = engine.networks(labels)
    engine.remove_network(*networks)
    volumes = engine.volumes(labels)
    engine.remove_volume(*volumes)
    return len(found) + len(networks) + len(volumes)


def follow(engine: Engine, name: str, parent: int) -> int:
    """Copy the container's output to stdout until it ends; remove it; its exit status."""

    def leave(*_: object) -> None:  # the supervisor died: take the container down with us
        engine.remove(name)
        os._exit(KILLED)

    signal.signal(signal.SIGTERM, leave)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if os.getppid() != parent:  # it died before the parent-death signal was set
        leave()
    out = os.fdopen(sys.stdout.fileno(), "wb", closefd=False)
    logs = engine.follow_logs(name, out)
    logs.wait()
    code: Optional[int] = None
    while code is None:
        state = engine.inspect(name)
        if state is None:
            out.write(f"arena-run: container {name} was removed from outside\n".encode())
            return KILLED
        if state.exit_code is not None:
            code = state.exit_code
            if state.oom_killed:
                out.write(f"arena-run: container {name} was killed for memory (OOMKilled)\n".encode())
            break
        # `logs --follow` can end before the container does (the engine restarted): wait on it.
        result = engine.call("wait", name, timeout=None)
        if result.returncode != 0 and engine.inspect(name) is None:
            continue
    engine.remove(name)
    return code if 0 <= code <= 255 else KILLED


def main(argv: list[str]) -> int:
    path, kind, name, parent = argv
    return follow(Engine(path, kind), name, int(parent))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
