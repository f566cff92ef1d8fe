"""Whatever a server does to a request, arena-run says one line: a ClusterError, never an internal error.

These servers are not Kubernetes: they are what sits between a user and one
when something is wrong (a login page, a proxy that cuts answers short or
never answers, a server shutting down).  The same faults against the real API
server are in tests/cluster/test_faults.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from arena_run.cluster import ClusterError, RetryPolicy, connect

QUICK = RetryPolicy(base=0.01, cap=0.05, max_elapsed=2.0)


class Script:
    """A tiny HTTP server answering each request with the next scripted behaviour (the last one repeats)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.seen: list = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                script.seen.append((self.command, self.path))
                answer = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
                answer(self)

            do_GET = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def answer(status, body=b"", headers=None, length=None):
    def respond(h):
        if h.headers.get("Content-Length"):
            h.rfile.read(int(h.headers["Content-Length"]))
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        if length is not None:
            h.close_connection = True
    return respond


def silent(h):
    h.rfile.read(int(h.headers.get("Content-Length") or 0))
    threading.Event().wait(5)  # never answers within the client's read timeout
    h.close_connection = True


LIST = json.dumps({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": []}).encode()


def kubeconfig(tmp_path, server):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "s", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "s", "user": "u", "namespace": "ns"}}],
    }))
    return str(path)


def arena_run(*args, kubeconfig):
    return subprocess.run([sys.executable, "-m", "arena_run", *args, "--kubeconfig", kubeconfig],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("body, content_type, said", [
    (b"<html><body>Please log in</body></html>", "text/html",
     "is not JSON: '<html><body>Please log in</body></html>'"),
    (b'["a", "list"]', "application/json", "is not a Kubernetes object but a list"),
], ids=["not-json", "json-not-an-object"])
def test_an_answer_that_is_no_object_is_one_line(tmp_path, body, content_type, said):
    with Script(answer(200, body, {"Content-Type": content_type})) as s:
        proc = arena_run("status", kubeconfig=kubeconfig(tmp_path, s.url))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "internal error" not in proc.stderr
    assert said in proc.stderr


def test_an_answer_that_breaks_off_is_retried_then_one_line(tmp_path):
    with Script(answer(200, LIST[:10], length=len(LIST))) as s:
        cluster = connect(kubeconfig(tmp_path, s.url), retry=QUICK)
        with pytest.raises(ClusterError, match=r"broke off.*\(after \d+ attempts in"):
            cluster.transport.request("GET", "/api/v1/namespaces/ns/configmaps")
        assert len(s.seen) > 1 and cluster.retries["GET"] == len(s.seen) - 1


def test_a_read_timeout_is_retried_for_a_read_then_one_line(tmp_path):
    with Script(silent) as s:
        cluster = connect(kubeconfig(tmp_path, s.url), retry=QUICK)
        cluster.read_timeout = 0.3
        with pytest.raises(ClusterError, match=r"read timed out \(after \d+ attempts"):
            cluster.transport.request("GET", "/api/v1/namespaces/ns/configmaps")
        assert cluster.retries["GET"] >= 1


def test_a_write_that_may_have_run_is_not_sent_twice(tmp_path):
    with Script(silent) as s:
        cluster = connect(kubeconfig(tmp_path, s.url), retry=QUICK)
        cluster.read_timeout = 0.3
        with pytest.raises(ClusterError, match=r"read timed out$"):
            cluster.transport.request("PATCH", "/api/v1/namespaces/ns/configmaps/x", body={"data": {}},
                          content_type="application/merge-patch+json")
        assert len(s.seen) == 1 and not cluster.retries


def test_503_and_429_are_retried_as_told_and_every_attempt_is_observed(tmp_path):
    busy = answer(503, b'{"kind":"Status","message":"shutting down"}', {"Retry-After": "0"})
    limited = answer(429, b'{"kind":"Status","message":"too many requests"}', {"Retry-After": "0"})
    with Script(busy, limited, answer(200, LIST)) as s:
        cluster = connect(kubeconfig(tmp_path, s.url), retry=QUICK)
        seen = []
        cluster.observe(seen.append)
        from arena_run.objects.kinds import KINDS

        assert cluster.list(KINDS["ConfigMap"], "ns") == []
    assert [(a.status, a.retries, a.retry_in is not None) for a in seen] == [
        (503, 0, True), (429, 1, True), (200, 2, False)]
    assert seen[-1].path == "/api/v1/namespaces/ns/configmaps?limit=500"
    assert cluster.requests["GET"] == 1 and cluster.retries["GET"] == 2


def test_a_refused_connection_fails_at_once(tmp_path):
    with Script(answer(200, LIST)) as s:
        url = s.url
    cluster = connect(kubeconfig(tmp_path, url))  # nothing listens there any more
    with pytest.raises(ClusterError, match=r"connection refused$"):
        cluster.transport.request("GET", "/api/v1/namespaces/ns/configmaps")
    assert not cluster.retries


@pytest.mark.parametrize("where", [["-v", "status"], ["status", "-v"]], ids=["before", "after the command"])
def test_verbose_prints_each_request(tmp_path, where):
    # `-v` means one thing wherever it is written: every request (plan's old -v is now --all).
    with Script(answer(503, b"{}", {"Retry-After": "0"}), answer(200, LIST)) as s:
        proc = subprocess.run([sys.executable, "-m", "arena_run", *where, "--kubeconfig",
                               kubeconfig(tmp_path, s.url), "-o", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert all(re.fullmatch(r"arena-run: GET /\S+ \d{3} in \d+ ms.*", line) for line in lines), lines
    (busy,) = [line for line in lines if " 503 in " in line]  # the first request, whichever it was
    path = busy.split()[2]
    assert re.fullmatch(r"arena-run: GET \S+ 503 in \d+ ms; again in \d\.\d\d s", busy)
    assert sum(1 for line in lines if line.startswith(f"arena-run: GET {path} 200 in ") and
               line.endswith(" ms (retry 1)")) == 1
    assert len(lines) == len(s.seen)


def test_a_request_failing_twice_is_said_without_verbose(tmp_path):
    busy, ok, answered = answer(503, b"{}", {"Retry-After": "0"}), answer(200, LIST), {}

    def twice_busy_per_path(h):  # status sends its LISTs side by side: each fails twice, then works
        path = h.path.split("?")[0]
        answered[path] = answered.get(path, 0) + 1
        (busy if answered[path] <= 2 else ok)(h)

    with Script(twice_busy_per_path) as s:
        proc = arena_run("status", "-o", "json", kubeconfig=kubeconfig(tmp_path, s.url))
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.splitlines()  # the first failure of each is routine, the second is said
    assert len(warnings) == len(answered) > 0
    for warning in warnings:
        assert re.fullmatch(r"arena-run: warning: GET /\S+: 503 Service Unavailable; "
                            r"sending it again in 0\.0 s \(retry 2\)", warning), warning


def test_cancel_ends_a_retry_wait_at_once(tmp_path):
    with Script(answer(429, b"{}", {"Retry-After": "20"})) as s:
        cluster = connect(kubeconfig(tmp_path, s.url))
        failure: list = []

        def call():
            try:
                cluster.transport.request("GET", "/api/v1/namespaces/ns/configmaps")
            except ClusterError as exc:
                failure.append(str(exc))

        rejected = threading.Event()
        cluster.observe(lambda a: rejected.set())
        caller = threading.Thread(target=call)
        caller.start()
        assert rejected.wait(10)  # the first 429 is in: now it waits 20 s
        cluster.cancel()
        caller.join(5)
        assert not caller.is_alive()
    assert failure == ["interrupted: GET /api/v1/namespaces/ns/configmaps was not sent again"]
    with pytest.raises(ClusterError, match="^interrupted: GET /api was not sent$"):
        cluster.transport.request("GET", "/api")
