"""The Deployment controller for an experiment's components: TensorBoard and TF Serving.

A component runs when its binary is installed here (else it is Unavailable,
with how to install it; with --container, in its image), on free ports of 127.0.0.1 in place of its pod's
fixed ones (in a container: on its pod's ports, published on free ports of 127.0.0.1), and is started
again whenever it exits, whatever its status, as a Deployment's pod is.  It never holds GPUs or cores in the ledger.
"""

from __future__ import annotations

import shutil
from typing import Any, Optional

from . import distributed
from .jobs import Clock, SystemClock, backoff
from .kubelet import Kubelet, local_ports
from .runs import Replica, Run
from .state import LocalError, describe, now_iso


class ComponentController:
    def __init__(self, kubelet: Kubelet, clock: Optional[Clock] = None):
        self.kubelet = kubelet
        self.clock: Clock = clock or SystemClock()

    def step(self, run: Run) -> None:
        container = run.obj["spec"]["template"]["spec"]["containers"][0]
        binary = (container.get("command") or ["?"])[0]
        if not run.replicas:
            # In a container the binary is the image's to have; on this machine, PATH's.
            found = None
            if run.entry.get("runner") != "container":
                found = installed(binary, run.entry.get("path"))
                if found is None:
                    run.phase, run.reason = "Unavailable", "NotInstalled"
                    run.message = install_hint(binary)
                    return
            ports = [p for p in container.get("ports") or []]
            local = distributed.free_ports(len(ports))
            run.urls = {p.get("name", str(p["containerPort"])): f"http://{distributed.HOST}:{port}"
                        if p.get("name") == "http" else f"{distributed.HOST}:{port}" for p, port in zip(ports, local)}
            mapping = {p["containerPort"]: port for p, port in zip(ports, local)}
            rep = Replica(distributed.Slot("Server", 0, local[0] if local else 0), run.obj["metadata"]["name"])
            if self.kubelet.own_network(run):
                # In its own network namespace the server listens as its pod says; its ports are
                # published on 127.0.0.1 only.
                rep.published = mapping
            else:
                rep.argv = local_ports(list(container.get("command") or []) + list(container.get("args") or []),
                                       mapping)
                if found is not None and rep.argv:
                    rep.argv[0] = found  # as the apply that started it found it
            run.replicas = [rep]
            run.start_time = now_iso()
            run.phase, run.reason, run.message = "Running", "", ""
            try:
                self._launch(run, rep)
            except (LocalError, OSError) as exc:
                self.finish(run, "Failed", "StartFailed", describe(exc))
            return
        rep = run.replicas[0]
        if rep.state == "exited":  # a Deployment's pod restarts, whatever its status
            rep.restarts += 1
            rep.state, rep.due = "backoff", self.clock.monotonic() + backoff(rep.restarts + 1)
            run.phase = "Restarting"
        elif rep.state == "backoff" and self.clock.monotonic() >= rep.due:
            self._launch(run, rep)
            run.phase = "Running"

    def wait(self, run: Run) -> Optional[float]:
        """Seconds until the component must be stepped again (a restart in backoff); None: never."""
        now = self.clock.monotonic()
        waits = [max(r.due - now, 0) for r in run.replicas if r.state == "backoff"]
        return min(waits) if waits else None

    def finish(self, run: Run, phase: str, reason: str, message: str) -> None:
        run.phase, run.reason, run.message = phase, reason, message
        run.completion_time = now_iso()
        run.finished_at = self.clock.time()

    def _launch(self, run: Run, rep: Replica) -> None:
        self.kubelet.start(run, rep, run.obj["spec"]["template"], [], None)


def installed(binary: str, path: Optional[str]) -> Optional[str]:
    """The binary's path on PATH (the given one, else the supervisor's), None when it is not installed."""
    return shutil.which(binary, path=path or None)


def installed_since(run_obj: dict[str, Any], status: Optional[dict[str, Any]]) -> bool:
    """Whether a server's run is Unavailable for want of its binary, which this process's PATH now has."""
    if (status or {}).get("reason") != "NotInstalled":
        return False
    binary = ((run_obj["spec"]["template"]["spec"]["containers"][0].get("command")) or ["?"])[0]
    return installed(binary, None) is not None


def install_hint(binary: str) -> str:
    if binary == "tensorboard":
        return "tensorboard is not installed here: `python3 -m pip install tensorboard`, then apply --local again"
    if binary == "tensorflow_model_server":
        return ("tf-serving is not available locally: tensorflow_model_server is not installed "
                "(https://www.tensorflow.org/tfx/serving/setup); the job runs without it")
    return f"{binary} is not installed here"
