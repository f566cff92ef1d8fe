"""Real faults between arena-run and the real API server.

`ResettingProxy` is a TCP proxy on 127.0.0.1 in front of the kube-apiserver.
TLS passes through it untouched (arena-run still verifies the apiserver's
certificate, issued for 127.0.0.1), so the only thing it changes is the
connection: on every `every`-th connection it sends a TCP reset (SO_LINGER 0)
to both ends once a chosen number of bytes has passed, in one of three places:

- `server`: partway through what the server sends — mid-response, after the
  server has carried the request out (the case that makes retries dangerous
  for anything not idempotent);
- `client-sent`: right after forwarding bytes the client sent — the request
  reached the server, no answer reaches the client;
- `client-dropped`: instead of forwarding them — the server never sees them.

Thresholds are drawn from a seeded generator, so a run's faults can be
replayed.  It runs as threads of the test process: the test that starts it
stops it (`with ResettingProxy(...) as proxy:`), and nothing outlives it.
"""

from __future__ import annotations

import random
import selectors
import socket
import struct
import threading
from collections import Counter

MODES = ("server", "client-sent", "client-dropped")


class ResettingProxy:
    # Default thresholds from what arena-run's connections carry on the test
    # control plane: 3-14 KB from the client and 5-160 KB from the server
    # (TLS handshake included), so most chosen connections do get reset.
    def __init__(self, target: tuple, *, every: int = 2, server_bytes=(4_000, 16_000),
                 client_bytes=(2_500, 9_000), seed: int = 0):
        self.target = target
        self.every = every
        self.server_bytes = server_bytes
        self.client_bytes = client_bytes
        self._random = random.Random(seed)
        self.connections = 0
        self.resets: Counter = Counter()  # mode -> connections reset there
        self.carried: list = []  # (server bytes, client bytes) of each connection that ended
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list = []
        self._sockets: set = set()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]

    # --- lifecycle ------------------------------------------------------------

    def __enter__(self) -> "ResettingProxy":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        t = threading.Thread(target=self._accept, name="resetting-proxy", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for s in list(self._sockets):
                _close(s)
        for t in self._threads:
            t.join(10)

    @property
    def total_resets(self) -> int:
        return sum(self.resets.values())

    # --- the proxy ----------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            with self._lock:
                n = self.connections
                self.connections += 1
                plan = None
                if self.every and n % self.every == self.every - 1:
                    mode = MODES[(n // self.every) % len(MODES)]
                    lo, hi = self.server_bytes if mode == "server" else self.client_bytes
                    plan = (mode, self._random.randint(lo, hi))
            t = threading.Thread(target=self._pump, args=(client, plan), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, client: socket.socket, plan) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets |= {client, upstream}
        passed = {"server": 0, "client": 0}
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, (client, upstream, "client"))
        sel.register(upstream, selectors.EVENT_READ, (upstream, client, "server"))
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    src, dst, side = key.data
                    data = src.recv(65536)
                    if not data:
                        return
                    if plan and _crosses(plan, side, passed[side], len(data)):
                        mode, at = plan
                        if mode == "server":
                            dst.sendall(data[: max(at - passed[side], 1)])
                        elif mode == "client-sent":
                            dst.sendall(data)
                        with self._lock:
                            self.resets[mode] += 1
                        return
                    dst.sendall(data)
                    passed[side] += len(data)
        except OSError:
            return
        finally:
            sel.close()
            with self._lock:
                self.carried.append((passed["server"], passed["client"]))
            for s in (client, upstream):
                _reset(s)
                with self._lock:
                    self._sockets.discard(s)


def _crosses(plan, side: str, before: int, size: int) -> bool:
    mode, at = plan
    wanted = "server" if mode == "server" else "client"
    return side == wanted and before + size >= at


def _reset(s: socket.socket) -> None:
    """Close with a TCP RST rather than a FIN: what a crashed peer or a middlebox does."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(s)


def _close(s: socket.socket) -> None:
    try:
        s.close()
    except OSError:
        pass
