"""A private dockerd (Debian's docker.io, 20.10) for the Docker path's tests, on a unix socket of the test's.

It listens on DIR/docker.sock only (no TCP, no default bridge, no iptables
rules on the host), keeps its images, containers and state under DIR, and is
stopped by the PID that started it; dockerd stops the containerd it started.
The flags are this machine's (cgroupfs: systemd is not PID 1; ulimits within
the runner's own, as tests/containers/containers.conf gives Podman), never
arena-run's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..waiting import until

# Directories dockerd and containerd's shims make at fixed paths whatever --exec-root says; removed
# afterwards when this dockerd made them and left them empty.
FIXED_DIRS = ("/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd")


class Dockerd:
    def __init__(self, directory: Path, path: str = ""):
        """path: dockerd's PATH when given (dockerd looks for nvidia-container-runtime-hook there once, at start)."""
        self.dir = directory
        self.socket = directory / "docker.sock"
        self.host = "unix://" + str(self.socket)
        self._made = [d for d in FIXED_DIRS if not os.path.exists(d)]
        argv = [shutil.which("dockerd") or "dockerd", "--host", self.host,
                "--data-root", str(directory / "data"), "--exec-root", str(directory / "exec"),
                "--pidfile", str(directory / "dockerd.pid"),
                "--bridge=none", "--iptables=false", "--ip6tables=false",
                "--exec-opt", "native.cgroupdriver=cgroupfs",
                "--default-ulimit", "nofile=1024:1024", "--default-ulimit", "nproc=1024:1024"]
        with open(directory / "dockerd.log", "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PATH": path} if path else None)
        until(lambda: self.proc.poll() is not None or self.docker("info").returncode == 0, timeout=60,
              interval=0.05, what="dockerd answering docker info")
        if self.proc.poll() is not None:
            raise RuntimeError("dockerd exited: " + self.log())
        # The containerd dockerd started (its child): gone once dockerd has stopped, or stopped by its PID.
        self.containerd = int((directory / "exec" / "containerd" / "containerd.pid").read_text())

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=self.env())

    def log(self) -> str:
        return (self.dir / "dockerd.log").read_text(errors="replace")[-4000:]

    def leftovers(self) -> list[str]:
        """Containers, networks (but dockerd's own host and none) and volumes this dockerd still has."""
        out = []
        for args in (("ps", "--all", "--format", "container {{.Names}}"),
                     ("network", "ls", "--format", "network {{.Name}}"),
                     ("volume", "ls", "--format", "volume {{.Name}}")):
            out += [ln for ln in self.docker(*args).stdout.splitlines()
                    if ln and ln not in ("network host", "network none")]
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            until(lambda: not _alive(self.containerd), timeout=10, interval=0.05, what="containerd")
        except AssertionError:  # dockerd killed before it could stop its containerd
            os.kill(self.containerd, 9)
        for d in self._made:
            try:
                os.rmdir(d)
            except OSError:  # not empty: something else uses it
                pass

    def mounts(self) -> list[str]:
        """Mount points under this dockerd's directory (none once it has stopped)."""
        with open("/proc/self/mounts") as fh:
            return [ln.split()[1] for ln in fh if ln.split()[1].startswith(str(self.dir))]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
