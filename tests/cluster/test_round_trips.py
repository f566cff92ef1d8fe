"""Round trips across a network: what arena-run waits for, counted, never timed.

The API server is put 400 ms away by bench/delayproxy.py (every byte delayed
by half of it each way, TLS untouched), and every request arena-run sends is
stamped by an observer: its start (the answer's arrival less the attempt's
own time) and its answer.  Round trips are the longest chain of requests each
sent only after the one before it had its answer — independent requests sent
side by side count once, however many they are.  The time those take is
measured in bench/apply.py and bench/scale.py; here only the counts, which
do not depend on the machine's speed: waiting can only lengthen a chain, so
a count is an upper bound of the dependencies, reached unless an answer is
late by most of a round trip (then an unrelated request can follow another).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from arena_run import api
from arena_run.cluster import connect

from tests.experiments import experiment, write

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # the benches' delay proxy and their count of round trips

from delayproxy import DelayProxy  # noqa: E402
from wire import round_trips as chain  # noqa: E402

RTT_MS = 400
EXPERIMENTS = 6  # a TFJob, a Deployment and a Service each: 18 objects


class Stamps:
    """(method, path, start, answered) of every attempt, as the observer saw them."""

    def __init__(self, kube):
        self.seen: list[tuple[str, str, float, float]] = []
        self._lock = threading.Lock()
        kube.observe(self)

    def __call__(self, attempt) -> None:
        now = time.monotonic()
        with self._lock:
            self.seen.append((attempt.method, attempt.path, now - attempt.ms / 1000, now))

    def during(self, fn) -> list[tuple[str, str, float, float]]:
        with self._lock:
            self.seen.clear()
        fn()
        with self._lock:
            return list(self.seen)


def round_trips(seen) -> int:
    # A quarter of the round trip of slack: stamps are taken a little after the fact.
    return chain([(s, e) for _, _, s, e in seen], RTT_MS / 4000)


def writes(seen) -> int:
    return sum(1 for method, path, _, _ in seen if method != "GET" and "dryRun=All" not in path)


@pytest.fixture
def far(cluster, tmp_path, monkeypatch):
    """arena-run's connection to the control plane through a link of RTT_MS, and the proxy."""
    config = json.loads(Path(cluster.kubeconfig).read_text())
    host, port = config["clusters"][0]["cluster"]["server"].removeprefix("https://").split(":")
    # Enough requests in flight for every object of the apply at once.
    monkeypatch.setenv("ARENA_RUN_CONCURRENCY", "32")
    with DelayProxy(host, int(port), rtt_ms=RTT_MS) as proxy:
        for c in config["clusters"]:
            c["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        path = tmp_path / "kubeconfig-far"
        path.write_text(json.dumps(config))
        kube = connect(str(path))
        yield kube, proxy
        kube.close()


def test_an_apply_across_a_network_waits_for_its_dependencies_only(far, namespace, tmp_path):
    kube, proxy = far
    stamps = Stamps(kube)
    exps = tmp_path / "experiments"
    for i in range(EXPERIMENTS):
        write(exps / f"e{i}" / "arena.toml", experiment(f"e{i}", namespace, tensorboard=True))

    first = stamps.during(lambda: api.apply(kube, str(exps)))
    # Parents and members listed side by side; the namesakes of what is
    # missing; every dry run at once; the recheck of those names; the
    # parents (each its experiment's lock); the members: 6, and one more
    # where a parent's answer came late enough for another experiment's
    # members to follow this one's (before: 15).
    assert round_trips(first) <= 7, sorted((s, m, p) for m, p, s, _ in first)
    assert writes(first) == 3 * EXPERIMENTS + EXPERIMENTS  # one per object, one per experiment

    again = stamps.during(lambda: api.apply(kube, str(exps)))
    assert {m for m, *_ in again} == {"GET"}
    assert round_trips(again) == 1  # the parents and the members of each kind, side by side

    assert round_trips(stamps.during(lambda: api.plan(kube, str(exps)))) == 1
    assert round_trips(stamps.during(lambda: api.status(kube, namespace=namespace))) == 1
    # One connection pool: a connection (and TLS handshake) per request in flight, not per request.
    assert proxy.connections() <= 32
