"""Test-only instrumentation of the real arena-run process (not a fake API).

    python instrumented.py LOG KILL_AFTER arena-run-args...

Runs arena-run's CLI in this process with its one request function (Transport.request) wrapped:
each request it sends is appended to LOG as a JSON line {n, method, path,
dry, t} once its response has arrived; with KILL_AFTER = k > 0 the process
SIGKILLs itself right after the k-th response, as a kill -9 would, so nothing
in arena-run gets to clean up.  A SIGINT is logged ({"sigint": t}) and then
raises KeyboardInterrupt, as Python's own handler does, so a test can check
that no write was sent after it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

from arena_run.cluster.transport import Transport

log_path, kill_after, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
_real = Transport.request
_lock = threading.Lock()
_count = [0]


def _log(entry: dict) -> None:
    with open(log_path, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
        fh.flush()


def _request(self, method, path, **kw):
    try:
        return _real(self, method, path, **kw)
    finally:
        with _lock:
            _count[0] += 1
            _log({"n": _count[0], "method": method, "path": path,
                  "dry": ("dryRun", "All") in (kw.get("query") or []), "t": time.time()})
            if kill_after and _count[0] >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)


def _sigint(signum, frame):
    _log({"sigint": time.time()})
    raise KeyboardInterrupt


Transport.request = _request
signal.signal(signal.SIGINT, _sigint)

from arena_run.cli import main  # noqa: E402

sys.exit(main(args))
