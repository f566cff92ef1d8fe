"""What a kubelet does for a pod on this machine: env, mounts, ports, logs; start, reap and stop its container.

The controllers (jobs.py, components.py) decide what should run; the kubelet
turns a replica and its pod template into a Launch — everything resolved to
this machine: the pod's env, host directories for its volumes, the shared
memory size, its log file, a scratch directory private to this start — and
hands it to a Runner (runner.py), the one seam between "what runs" and "how":
the process runner today, a container runner beside it, neither known to the
controllers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any, Optional

from ..objects.quantity import Quantity
from . import code as code_sync
from . import distributed
from .runner import Launch, Runner
from .runs import Replica, Run
from .paths import PathError, make_beneath, open_log
from .state import LocalError, data_home, now_iso

if TYPE_CHECKING:  # imported where used: the container runner loads only for a run that asks for it
    from .containers import ContainerRunner

GRACE = 3.0  # seconds between SIGTERM and SIGKILL when stopping a replica


class Kubelet:
    """Runs pods' containers through one Runner, and tells the controllers how they ended."""

    def __init__(self, runner: Runner, experiment: str = "", store_root: str = ""):
        self.runner = runner
        self.experiment = experiment
        self.store_root = store_root
        self._containers: Optional[ContainerRunner] = None
        self.stopping = False  # the supervisor is going: start nothing more

    def runner_for(self, run: Run) -> Runner:
        """The runner that starts and stops this run's containers: the container runner for a run
        applied with --container (its image, through Podman or Docker), else the one given."""
        if run.entry.get("runner") != "container":
            return self.runner
        if self._containers is None:
            from .containers import ContainerRunner as Containers

            self._containers = Containers(self.store_root)
        return self._containers

    def own_network(self, run: Run) -> bool:
        """Whether the run's pods get network namespaces of their own (in containers: a job's replicas
        share a network of the job's, reached by their pods' names), not this machine's network."""
        return run.entry.get("runner") == "container"

    def init(self, run: Run, pod: dict[str, Any]) -> None:
        """The pod's init container: fetch the code into the run's code/ (as arena-run's init container would)."""
        with open_log(os.path.join(self.logs(run), "init.log")) as log:
            code_sync.sync((pod.get("initContainers") or [None])[0], os.path.join(run.dir, "code"),
                           run.entry.get("base", ""), log)

    def start(self, run: Run, rep: Replica, template: dict[str, Any], env: list[tuple[str, str]],
              devices: Optional[list[str]]) -> None:
        """Start the replica's container (again, after a restart) from its pod template.

        env: what the controller adds after the container's own (the operator's
        variables); devices: the GPUs the pod was given (CUDA_VISIBLE_DEVICES),
        None for a pod that asks for no device assignment at all.
        """
        pod = template["spec"]
        container = pod["containers"][0]
        pod_env: dict[str, str] = {}
        for item in container.get("env") or []:
            if "value" not in item:
                raise LocalError(f"env {item['name']}: valueFrom is a cluster feature; --local needs a value")
            pod_env[item["name"]] = item["value"]
        pod_env.update(env)
        if devices is not None:
            # No GPU asked for: none given, as on a cluster (so no replica uses another's GPU unseen).
            pod_env["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
        pod_env["HOSTNAME"] = rep.pod
        mounts, shm = self._mounts(run, pod, container)
        argv = list(container.get("command") or []) + list(container.get("args") or [])
        argv = argv if rep.argv is None else rep.argv
        n = rep.restarts
        scratch = os.path.join(run.dir, "scratch", f"{rep.pod}-{n}")
        if n:
            shutil.rmtree(os.path.join(run.dir, "scratch", f"{rep.pod}-{n - 1}"), ignore_errors=True)
        log = os.path.join(self.logs(run), f"{rep.slot.role.lower()}-{rep.slot.replica_index}.log")
        launch = Launch(rep.pod, argv, pod_env, container.get("workingDir") or "/", mounts, shm, log, scratch)
        if run.entry.get("runner") == "container":
            from .containers import extra

            launch.extra = extra(container, list(devices or []), experiment=self.experiment,
                                 job=run.obj["metadata"]["name"], uid=run.uid, role=rep.slot.role,
                                 index=rep.slot.replica_index, pod=rep.pod, start=n, published=rep.published,
                                 job_network=run.is_job)
        rep.proc = self.runner_for(run).start(launch)
        rep.state, rep.started, rep.finished, rep.exit_code = "running", now_iso(), None, None

    def reap(self, run: Run) -> None:
        """Replicas whose container ended become `exited`, with the exit code a pod's status would show."""
        for rep in run.replicas:
            code = rep.proc.poll() if rep.state == "running" and rep.proc is not None else None
            if code is not None:
                rep.exit_code = _exit_code(code)
                rep.finished = now_iso()
                rep.state = "exited"

    def stop(self, run: Run) -> None:
        """Stop every container of the run (SIGTERM, then SIGKILL after GRACE); none is left `running`.

        A container that ended by itself before the signal (a worker finishing
        as its master does, or one reaped but not yet judged when another
        failed the job) keeps its own exit: succeeded or failed by its status.
        One that exits 0 however it was asked to end succeeded, as a pod's
        container with status 0 does (it may have ended between the reap and
        the signal); `stopped` is what this stop ended with any other status.
        """
        self.reap(run)
        live = [r.proc for r in run.replicas if r.state == "running" and r.proc is not None]
        for proc in live:
            self.runner_for(run).stop(proc, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for proc in live:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                self.runner_for(run).stop(proc, signal.SIGKILL)
                proc.wait()
        for rep in run.replicas:
            if rep.state == "exited":
                rep.state = "succeeded" if rep.exit_code == 0 else "failed"
            elif rep.state in ("running", "backoff", "waiting"):
                rep.finished = rep.finished or now_iso()
                if rep.state == "running" and rep.proc is not None and rep.proc.returncode is not None:
                    rep.exit_code = _exit_code(rep.proc.returncode)
                rep.state = "succeeded" if rep.state == "running" and rep.exit_code == 0 else "stopped"
        if self._containers is not None and self.own_network(run):
            # Every container of the run is gone (each follower removed its own before exiting): its network goes too.
            self._containers.release(run.uid)

    def logs(self, run: Run) -> str:
        path = os.path.join(run.dir, "logs")
        os.makedirs(path, exist_ok=True)
        return path

    def _mounts(self, run: Run, pod: dict[str, Any], container: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        mapping = run.entry.get("volumes") or {}
        mounts, shm = [], 64 * 2**20
        for vm in container.get("volumeMounts") or []:
            vol = volumes.get(vm["name"], {})
            read_only = bool(vm.get("readOnly"))
            if "persistentVolumeClaim" in vol:
                claim = vol["persistentVolumeClaim"]["claimName"]
                source = mapping.get(claim) or os.path.join(data_home(), "volumes", claim)
                read_only = read_only or bool(vol["persistentVolumeClaim"].get("readOnly"))
                os.makedirs(source, exist_ok=True)
            elif "hostPath" in vol:
                source = vol["hostPath"]["path"]
            elif "emptyDir" in vol and vol["name"] == "dshm":
                shm = Quantity.parse(str(vol["emptyDir"].get("sizeLimit") or "64Mi")).ceil()
                continue
            elif "emptyDir" in vol and vol["name"] == "code":
                source = os.path.join(run.dir, "code")
            elif "emptyDir" in vol:
                source = os.path.join(run.dir, "volumes", vol["name"])
                os.makedirs(source, exist_ok=True)
            else:
                raise LocalError(f"volume {vm['name']}: not something --local can provide")
            mount = {"source": source, "target": vm["mountPath"], "read_only": read_only}
            if vm.get("subPath"):
                # Made, and later mounted (the sandbox), with no link inside the volume followed.
                try:
                    make_beneath(source, vm["subPath"])
                except (PathError, OSError) as exc:
                    raise LocalError(f"volume {vm['name']} subPath {vm['subPath']}: {exc}") from None
                mount.update(source=os.path.join(source, vm["subPath"]), volume=source, sub_path=vm["subPath"])
            mounts.append(mount)
        return mounts, shm


def _exit_code(returncode: int) -> int:
    """A signal's death as a container's status shows it (SIGKILL: 137)."""
    return returncode if returncode >= 0 else 128 - returncode


def local_ports(argv: list[str], ports: dict[int, int]) -> list[str]:
    """The pod's fixed ports and 0.0.0.0 in a server's arguments, turned into free ones on 127.0.0.1.

    Replicas share this machine's network, so a server cannot have the port
    its pod template names; it gets a free one, and its arguments say so.
    """
    out = []
    for i, arg in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if arg == "0.0.0.0":
            arg = distributed.HOST
        elif prev.startswith("--") and "port" in prev and arg.isdigit() and int(arg) in ports:
            arg = str(ports[int(arg)])
        elif arg.startswith("--") and "port=" in arg:
            flag, _, value = arg.partition("=")
            if value.isdigit() and int(value) in ports:
                arg = f"{flag}={ports[int(value)]}"
        out.append(arg)
    return out
