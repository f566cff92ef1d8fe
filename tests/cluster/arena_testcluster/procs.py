"""Daemons started by PID and stopped by PID, never by name.

Each daemon gets DIR/<name>.pid holding its PID, its start time (field 22 of
/proc/<pid>/stat, in clock ticks since boot) and the binary it runs. Before
signalling, `stop` checks that the PID still has that start time, so a PID
recycled by an unrelated process is never touched. (The start time rather
than /proc/<pid>/exe: a rebuild replaces the binaries under a running
control plane, and `down` must still stop it.)
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    # The kernel picks an unused port; the tiny window before the daemon
    # binds it is an accepted race (as in envtest).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to kill it when
    # its parent exits. Linux only; survives exec. SIGKILL, not SIGTERM: all
    # daemons would get it at once, and a kube-apiserver whose etcd is gone
    # hangs in its graceful shutdown.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(dir: Path, name: str, argv: list[str], env: dict | None = None,
          die_with_parent: bool = False) -> int:
    """Start a daemon in the background, its output in DIR/logs/NAME.log.

    die_with_parent: for daemons a test session starts, so that a killed
    pytest (CI timeout) does not leave a control plane behind. `up` run
    from a shell leaves it off: there the daemons must outlive it.
    """
    log = open(dir / "logs" / f"{name}.log", "ab")
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        # Own session: a Ctrl-C in the shell that ran `up` does not reach them.
        start_new_session=True,
        preexec_fn=_die_with_parent if die_with_parent else None,
        env=env,
        cwd=dir,
    )
    log.close()
    started = _start_time(proc.pid)
    (dir / f"{name}.pid").write_text(f"{proc.pid} {started} {os.path.realpath(argv[0])}\n")
    return proc.pid


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (after the parenthesised command name)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def _start_time(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[19]) if fields else -1


def _read_pidfile(pidfile: Path) -> tuple[int, int] | None:
    try:
        fields = pidfile.read_text().split(maxsplit=2)
    except OSError:
        return None
    try:
        if len(fields) == 2:
            # Written by an earlier version as "PID BINARY": identify the
            # process by its binary instead.
            pid, exe = int(fields[0]), fields[1].strip()
            try:
                real = os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
            except OSError:
                return None
            # A rebuild moves the old bin/ aside (bin.old-*) before deleting it.
            same = real == exe or (
                os.path.basename(real) == os.path.basename(exe)
                and os.path.dirname(os.path.dirname(real)) == os.path.dirname(os.path.dirname(exe))
                and os.path.basename(os.path.dirname(real)).startswith("bin"))
            return (pid, _start_time(pid)) if same else None
        return int(fields[0]), int(fields[1])
    except ValueError:
        return None


def _ours(pid: int, started: int) -> bool:
    """Is pid alive and still the process we started?"""
    fields = _stat(pid)
    # A zombie (exited, not yet reaped) is not alive.
    return fields is not None and fields[0] != "Z" and int(fields[19]) == started


def _reap(pid: int) -> None:
    # If the daemon is our own child (pytest started it), collect its exit
    # status so it does not linger as a zombie.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def alive(dir: Path, name: str) -> bool:
    rec = _read_pidfile(dir / f"{name}.pid")
    if rec is None:
        return False
    _reap(rec[0])
    return _ours(*rec)


def stop(dir: Path, name: str, timeout: float = 15.0) -> None:
    pidfile = dir / f"{name}.pid"
    rec = _read_pidfile(pidfile)
    if rec is None:
        return
    pid, started = rec
    _reap(pid)
    if _ours(pid, started):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not _ours(pid, started):
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as e:
                if e.errno != errno.ESRCH:
                    raise
            _reap(pid)
    pidfile.unlink(missing_ok=True)


def tls_context(ca: Path | None, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    if ca is None:
        ctx = ssl._create_unverified_context()  # components' own self-signed certs
    else:
        ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def wait_http(url: str, what: str, dir: Path, name: str, timeout: float,
              ctx: ssl.SSLContext | None = None) -> None:
    """Poll url until it answers 200; fail fast if the daemon died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        if not alive(dir, name):
            raise RuntimeError(f"{what} exited during startup; see {dir / 'logs' / (name + '.log')}:\n"
                               + log_tail(dir, name))
        try:
            with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}: {e.read()[:2000].decode(errors='replace')}"
        except (OSError, ssl.SSLError) as e:
            last = str(e)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready at {url} after {timeout:.0f} s ({last}); "
                               f"log tail:\n" + log_tail(dir, name))
        time.sleep(0.2)


def log_tail(dir: Path, name: str, lines: int = 30) -> str:
    try:
        text = (dir / "logs" / f"{name}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def peak_rss_kib(dir: Path, name: str) -> int | None:
    """VmHWM (peak resident set) of a running daemon, in KiB."""
    rec = _read_pidfile(dir / f"{name}.pid")
    if rec is None or not _ours(*rec):
        return None
    for line in Path(f"/proc/{rec[0]}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None
