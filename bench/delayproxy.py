"""A TCP proxy on 127.0.0.1 that puts a network between a client and the API server.

Every byte is delayed by rtt/2 on its way to the server and by rtt/2 on its
way back, as a link of that round-trip time would: each chunk read is stamped
with the moment it may leave and written then, so bytes in flight pipeline
and bandwidth is kept (a slow link of a fixed latency, not a slow server).
A new connection costs one round trip before its first byte reaches the
server, as TCP's handshake does: a client's connect() returns at once here,
so its first bytes are held until rtt after the accept.  TLS passes through
untouched (the server's certificate covers 127.0.0.1, whatever the port), so
each TLS handshake pays its own round trips as it would on the network.

It runs as its own process (so its event loop never shares a GIL with what it
measures) and is stopped by the process that started it:

    with DelayProxy("127.0.0.1", 6443, rtt_ms=20) as proxy:
        proxy.port          # connect here instead
        proxy.connections() # connections accepted so far

or from a shell, until interrupted:

    python bench/delayproxy.py --rtt-ms 20 --target 127.0.0.1:6443 [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

CHUNK = 256 * 1024
EOF = b""


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float,
                not_before: float) -> None:
    """Copy reader to writer, each chunk leaving `delay` after it arrived (and never before not_before)."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                queue.put_nowait((max(time.monotonic(), not_before) + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((0.0, EOF))

    reading = asyncio.ensure_future(read())
    try:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        reading.cancel()


class _Server:
    def __init__(self, target: tuple[str, int], rtt: float, log: Optional[Path]):
        self.target = target
        self.half = rtt / 2
        self.rtt = rtt
        self.log = open(log, "a", buffering=1) if log else None

    async def handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        accepted = time.monotonic()
        if self.log:
            self.log.write(f"open {accepted:.6f}\n")
        try:
            s_reader, s_writer = await asyncio.open_connection(*self.target)
        except OSError:
            c_writer.close()
            return
        for w in (c_writer, s_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake's round trip: the client's first bytes leave rtt after the accept.
        up = asyncio.ensure_future(_pump(c_reader, s_writer, self.half, accepted + self.rtt))
        down = asyncio.ensure_future(_pump(s_reader, c_writer, self.half, 0.0))
        try:
            await asyncio.wait([up, down], return_when=asyncio.ALL_COMPLETED)
        except asyncio.CancelledError:  # the proxy is stopping: drop the connection
            up.cancel()
            down.cancel()
        for w in (c_writer, s_writer):
            try:
                w.close()
            except OSError:
                pass


async def _serve(target: tuple[str, int], rtt: float, port: int, log: Optional[Path],
                 orphaned_stop: bool = False) -> None:
    handler = _Server(target, rtt, log)
    server = await asyncio.start_server(handler.handle, "127.0.0.1", port, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    print(bound, flush=True)  # the starter reads the port from here
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if orphaned_stop:
        parent = os.getppid()

        async def watch_parent() -> None:
            # Started by DelayProxy: a starter killed before it could stop us leaves nothing behind.
            while os.getppid() == parent:
                await asyncio.sleep(1)
            stop.set()

        asyncio.ensure_future(watch_parent())
    async with server:
        await stop.wait()


class DelayProxy:
    """The proxy as a child process of this one; stopped (by its pid) on exit from the with block."""

    def __init__(self, host: str, port: int, rtt_ms: float, listen_port: int = 0):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the delay proxy forwards to 127.0.0.1 only, not {host}")
        self.target = (host, port)
        self.rtt_ms = rtt_ms
        self.listen_port = listen_port
        self.port = 0
        self._proc: Optional[subprocess.Popen[str]] = None
        self._log = Path(tempfile.mkstemp(prefix="delayproxy-", suffix=".log")[1])

    def __enter__(self) -> "DelayProxy":
        cmd = [sys.executable, str(Path(__file__).resolve()), "--rtt-ms", str(self.rtt_ms),
               "--target", f"{self.target[0]}:{self.target[1]}", "--port", str(self.listen_port),
               "--log", str(self._log), "--with-parent"]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the delay proxy did not start: {line!r}")
        self.port = int(line)
        return self

    def connections(self) -> int:
        """Connections accepted so far (each paid a handshake's round trip, and TLS its own)."""
        try:
            return sum(1 for line in self._log.read_text().splitlines() if line.startswith("open "))
        except OSError:
            return 0

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._proc = None
        self._log.unlink(missing_ok=True)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add")
    ap.add_argument("--target", required=True, help="127.0.0.1:PORT of the API server")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (127.0.0.1); 0: any free one")
    ap.add_argument("--log", type=Path, help="append a line per accepted connection here")
    ap.add_argument("--with-parent", action="store_true", help="stop when the process that started it is gone")
    args = ap.parse_args()
    host, _, port = args.target.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        sys.exit(f"delayproxy: forwards to 127.0.0.1 only, not {host}")
    asyncio.run(_serve((host, int(port)), args.rtt_ms / 1000, args.port, args.log, args.with_parent))


if __name__ == "__main__":
    main()
