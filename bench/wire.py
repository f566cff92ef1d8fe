"""arena-run and kubectl as commands, across a network of a given round-trip time.

What the benches share: a delay proxy per round-trip time (delayproxy.py) in
front of the control plane of tests/cluster, a kubeconfig whose server is that
proxy, and one run of a command with what it cost:

- requests: arena-run's own request log (`-v`: a line per attempt, each read
  the moment it is written, its start the arrival less the milliseconds it
  states) and kubectl's (`-v=6`: klog stamps each response line, with its
  milliseconds);
- round trips: the longest chain of those requests each of which started only
  after the one before it had its answer — what the network makes the command
  wait for, however many of its requests overlap — and the connections the
  proxy accepted meanwhile (each a handshake's round trip plus TLS's);
- the control plane's CPU seconds meanwhile (its daemons, from DIR/*.pid), and
  the command's own (user + system);
- floor = rtt × (round trips + 2) + control plane CPU-s / cores: the wait for
  that chain over one connection (its TCP and TLS handshakes are the 2), and
  the server's work spread over every core; what this pattern of requests
  costs with a client that takes no time.

Every run starts once the control plane is quiet (`settle`), so one command's
aftermath (controllers creating pods, a namespace being deleted) does not land
in the next one's time.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

from delayproxy import DelayProxy

VERBS = ("GET", "PATCH", "POST", "PUT", "DELETE")


def parse_rtts(text: str) -> list[float]:
    """--rtt-ms 0,5,20,50 -> [0.0, 5.0, 20.0, 50.0]"""
    return [float(t) for t in text.split(",") if t.strip()]


# --- the control plane's CPU -----------------------------------------------


def control_plane_cpu(cp_dir: Path) -> float:
    """CPU seconds (user + system) used so far by the daemons of the control plane (DIR/*.pid)."""
    total = 0
    for pidfile in Path(cp_dir).glob("*.pid"):
        try:
            stat = Path(f"/proc/{pidfile.read_text().split()[0]}/stat").read_text()
        except (OSError, IndexError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def settle(cp_dir: Path, quiet: float = 0.25, limit: float = 60) -> None:
    """Until the control plane uses under `quiet` of a core (sampled each half
    second): the controllers' reactions to the last run's objects are over, so
    they do not land in the next run's time."""
    deadline = time.monotonic() + limit
    last = control_plane_cpu(cp_dir)
    while time.monotonic() < deadline:
        time.sleep(0.5)  # a sampling period, not a wait for an event
        now = control_plane_cpu(cp_dir)
        if now - last < quiet * 0.5:
            return
        last = now


# --- the network -----------------------------------------------------------


class Network:
    """One delay proxy per round-trip time in front of the control plane, each with
    its kubeconfig (and kubectl's discovery cache, warmed once, as a user's is)."""

    def __init__(self, cp, rtts: list[float], tmp: Path):
        self.cp = cp
        self.rtts = rtts
        self.tmp = tmp
        self._stack = ExitStack()
        self.proxies: dict[float, Optional[DelayProxy]] = {}
        self.kubeconfigs: dict[float, Path] = {}

    def __enter__(self) -> "Network":
        config = json.loads(Path(self.cp.kubeconfig).read_text())
        server = urlparse(config["clusters"][0]["cluster"]["server"])
        for rtt in self.rtts:
            path = self.tmp / f"kubeconfig-{rtt:g}ms"
            proxy = None
            if rtt > 0:
                proxy = self._stack.enter_context(DelayProxy(server.hostname or "", server.port or 443, rtt))
                for c in config["clusters"]:
                    c["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
            else:
                for c in config["clusters"]:
                    c["cluster"]["server"] = server.geturl()
            path.write_text(json.dumps(config))
            path.chmod(0o600)
            self.proxies[rtt], self.kubeconfigs[rtt] = proxy, path
            # kubectl caches discovery per server (host and port): fill it once, untimed.
            subprocess.run([str(self.cp.kubectl), f"--kubeconfig={path}", *self.kubectl_flags(), "api-resources"],
                           capture_output=True, check=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def kubectl_flags(self) -> list[str]:
        return [f"--cache-dir={self.tmp / 'kubectl-cache'}"]

    def env(self, rtt: float) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfigs[rtt]), "PYTHONWARNINGS": "ignore"}

    def connections(self, rtt: float) -> int:
        proxy = self.proxies[rtt]
        return proxy.connections() if proxy else 0


# --- one command -------------------------------------------------------------


@dataclass
class Run:
    """One run of one command through one network."""

    label: str
    rtt_ms: float
    seconds: float
    requests: dict[str, int]
    round_trips: int
    connections: int
    cp_cpu: float  # the control plane's CPU seconds meanwhile
    own_cpu: float  # the command's CPU seconds
    peak_mb: float
    intervals: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def floor(self) -> float:
        return self.rtt_ms / 1000 * (self.round_trips + 2) + self.cp_cpu / (os.cpu_count() or 1)

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.requests.items() if verb in ("PATCH", "POST", "PUT", "DELETE"))

    def shown_requests(self) -> str:
        return " ".join(f"{n} {verb}" for verb, n in sorted(self.requests.items())) or "0"


def round_trips(intervals: list[tuple[float, float]], slack: float) -> int:
    """The longest chain of requests each started after the one before had its answer
    (less slack: stamps are taken a little after the fact); 0 without requests."""
    if not intervals:
        return 0
    spans = sorted(intervals, key=lambda se: se[1])
    ends = [e for _, e in spans]
    depth: list[int] = []
    best_upto: list[int] = []  # max depth among spans[:i+1]
    for k, (start, end) in enumerate(spans):
        # the spans (by end) that had their answer before this one started; never itself
        i = min(bisect.bisect_right(ends, start + slack) - 1, k - 1)
        d = 1 + (best_upto[i] if i >= 0 else 0)
        depth.append(d)
        best_upto.append(max(d, best_upto[-1] if best_upto else 0))
    return max(depth)


_ARENA_LINE = re.compile(r"^arena-run: (GET|PATCH|POST|PUT|DELETE) (\S+) (\S+) in (\d+) ms")
_KLOG_TIME = re.compile(r"^[IWEF]\d{4} (\d\d):(\d\d):(\d\d)\.(\d{6})")
_KUBECTL_MS = re.compile(r'"Response" verb="(\w+)".*?milliseconds=(\d+)')


def _arena_lines(stream, sink: list[tuple[float, str]]) -> None:
    for raw in iter(stream.readline, b""):
        sink.append((time.monotonic(), raw.decode(errors="replace")))


def run(label: str, cmd: list[str], network: Network, rtt: float, *, tool: str,
        quiet: bool = True, ok: tuple[int, ...] = (0,)) -> Run:
    """Run cmd (arena-run with -v, or kubectl with -v=6: `tool` says which) through
    the network of that rtt, once the control plane is quiet; what it cost."""
    cp_dir = Path(network.cp.dir)
    if quiet:
        settle(cp_dir)
    before_cpu, before_conn = control_plane_cpu(cp_dir), network.connections(rtt)
    lines: list[tuple[float, str]] = []
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=network.env(rtt), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    reader = threading.Thread(target=_arena_lines, args=(proc.stderr, lines), daemon=True)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    reader.join()
    cp_cpu = control_plane_cpu(cp_dir) - before_cpu
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        tail = "".join(text for _, text in lines[-20:])
        raise RuntimeError(f"{' '.join(cmd)}: exit {code}:\n{tail}")
    requests: dict[str, int] = {}
    intervals = []
    for arrived, text in lines:
        if tool == "arena-run":
            m = _ARENA_LINE.match(text)
            if not m:
                continue
            verb, ms = m.group(1), int(m.group(4))
            if "dryRun=All" in m.group(2):
                verb = "dry-run " + verb
            intervals.append((arrived - ms / 1000, arrived))
        else:
            m = _KUBECTL_MS.search(text)
            t = _KLOG_TIME.match(text)
            if not m or not t:
                continue
            verb, ms = m.group(1), int(m.group(2))
            if "dryRun=All" in text:
                verb = "dry-run " + verb
            h, mi, s, us = (int(x) for x in t.groups())
            end = h * 3600 + mi * 60 + s + us / 1e6
            intervals.append((end - ms / 1000, end))
        requests[verb] = requests.get(verb, 0) + 1
    slack = rtt / 2000 if rtt else 0.0005
    done = Run(label, rtt, seconds, requests, round_trips(intervals, slack),
               network.connections(rtt) - before_conn, cp_cpu,
               usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, intervals)
    print(f"  {label} ({tool}, {rtt:g} ms): {seconds:.2f} s, {done.round_trips} round trips, "
          f"{done.shown_requests()}", file=sys.stderr, flush=True)
    return done


def arena_run_command(*args: str) -> list[str]:
    """The arena-run command of this interpreter's environment (the checkout's venv), with its request log."""
    _compiled()
    script = Path(sys.executable).with_name("arena-run")
    return [str(script) if script.exists() else shutil.which("arena-run") or "arena-run", "-v", *args]


_COMPILED: list[bool] = []


def _compiled() -> None:
    """The checkout's bytecode, once, as `pip install` writes it for an installed arena-run: an editable
    install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at every start
    (about 0.1 s), which no user's command pays."""
    if not _COMPILED:
        import compileall

        compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "arena_run"), quiet=1)
        _COMPILED.append(True)


def kubectl_command(network: Network, *args: str) -> list[str]:
    return [str(network.cp.kubectl), *network.kubectl_flags(), *args, "-v=6"]


def median_run(runs: list[Run]) -> Run:
    """The run of median time (its requests and round trips with it)."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2]


def alternate(pairs: list[tuple[Callable[[], Run], Callable[[], Run]]], repeats: int
              ) -> list[tuple[list[Run], list[Run]]]:
    """Each (a, b) run `repeats` times, who goes first alternating round by round."""
    out: list[tuple[list[Run], list[Run]]] = [([], []) for _ in pairs]
    for r in range(repeats):
        for i, (a, b) in enumerate(pairs):
            if r % 2 == 0:
                out[i][0].append(a())
                out[i][1].append(b())
            else:
                out[i][1].append(b())
                out[i][0].append(a())
    return out


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
