"""A Docker Engine API for the docker CLI where no Docker engine runs: Podman's, on a unix socket.

This machine (and CI) has the docker client and no dockerd.  `podman system
service` answers the Docker Engine API, so the real docker CLI can drive
arena-run's Docker path end to end: its flags parsed by docker itself, its
requests sent as a dockerd would receive them, containers run by Podman.  A
recording proxy in front keeps the bytes the CLI sent, so a test can read
the request body a real dockerd would be given (a GPU's DeviceRequests,
which Podman 4.3's compat API accepts and ignores).

What this does not show: dockerd's own behaviour (its default bridge, its
NVIDIA runtime hook, its error words).  Both servers are unix sockets in a
directory of the test's, stopped by the PID that started them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

from ..waiting import until


class RecordingProxy:
    """Forwards each connection on `path` to `upstream`, keeping what clients sent."""

    def __init__(self, path: str, upstream: str):
        self.path, self.upstream = path, upstream
        self.sent = bytearray()
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    with self._lock:
                        self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def requests(self) -> bytes:
        with self._lock:
            return bytes(self.sent)

    def created(self) -> list[dict]:
        """The body of each `POST .../containers/create` the clients sent, in order (JSON)."""
        text = self.requests().decode(errors="replace")
        out, decoder = [], json.JSONDecoder()
        at = text.find("/containers/create")
        while at != -1:
            body = text.index("\r\n\r\n", at) + 4
            value, _ = decoder.raw_decode(text, body)
            out.append(value)
            at = text.find("/containers/create", body)
        return out

    def close(self) -> None:
        self._server.close()


class DockerAPI:
    """`podman system service` on DIR/podman.sock, the recording proxy on DIR/docker.sock."""

    def __init__(self, directory: Path, env: dict[str, str]):
        self.podman_sock = str(directory / "podman.sock")
        self.docker_host = "unix://" + str(directory / "docker.sock")
        with open(directory / "service.log", "wb") as log:
            self.proc = subprocess.Popen(["podman", "system", "service", "--time=0", "unix://" + self.podman_sock],
                                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        until(lambda: os.path.exists(self.podman_sock) or self.proc.poll() is not None, timeout=30, interval=0.05,
              what="podman system service's socket")
        if self.proc.poll() is not None:
            raise RuntimeError("podman system service exited: " + (directory / "service.log").read_text())
        self.proxy = RecordingProxy(str(directory / "docker.sock"), self.podman_sock)

    def stop(self) -> None:
        self.proxy.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
