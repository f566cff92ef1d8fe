"""Transient failures on the real control plane: arena-run still converges.

- real 429s from API Priority and Fairness: a PriorityLevelConfiguration with
  one share that rejects, and a FlowSchema sending the limited test user there;
  the API server's own /metrics proves the 429s happened;
- real connection resets: faults.ResettingProxy in front of the API server;
- an expired continue token: etcd really compacted under a paged LIST;
- a followed log silent for longer than the read timeout;
- KUBECONFIG=a:b merged as kubectl merges it (kubectl itself is the referee).

Each test prints the figures it measured (pytest -s shows them); docs/cluster.md's
"Transient failures" quotes them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from arena_run.cluster import connect
from arena_run.cluster import kubeconfig as kc
from arena_run.objects.kinds import KINDS
from arena_run.status.logs import find_container, stream
from arena_testcluster import certs, procs
from cluster_helpers import cri, kubectl_json, serve_logs, until
from faults import ResettingProxy
from tests.experiments import experiment, write

EXPERIMENTS = 12


def experiments(tmp_path: Path, ns: str, count: int = EXPERIMENTS, prefix: str = "f") -> tuple[Path, list]:
    """count small experiments (a TFJob and TensorBoard each) in one directory."""
    root = tmp_path / f"exps-{uuid.uuid4().hex[:6]}"
    names = []
    for i in range(count):
        name = f"{prefix}{i:02d}"
        names.append(name)
        write(root / name / "arena.toml", experiment(name, ns, env={"RUN": str(i)}, tensorboard=True))
    return root, names


def kubectl_diff_is_empty(cluster, root: Path, ns: str) -> None:
    """The referee: kubectl's own server-side dry run of what arena-run applies finds nothing to change."""
    from arena_run.api import load
    from arena_run.plan import desired_members

    objects = [obj for item in load(str(root)) for obj in desired_members(item.experiment, ns)]
    proc = cluster.run_kubectl("diff", "--server-side", "--field-manager=arena-run", "--force-conflicts",
                               "-f", "-", input=yaml.safe_dump_all(objects), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def attempts(err: str) -> list:
    """(method, path, status) of every request `arena-run -v` printed."""
    found = re.findall(r"^arena-run: (GET|PATCH|DELETE|POST|PUT) (\S+) (\d{3}|-) in \d+ ms", err, re.M)
    return [(m, p, s) for m, p, s in found]


# --- real 429s from API Priority and Fairness -------------------------------------------


def _limited_tls(cluster):
    pki = cluster.dir / "pki"
    return procs.tls_context(pki / "ca.crt", pki / "limited.crt", pki / "limited.key")


def _admin_tls(cluster):
    pki = cluster.dir / "pki"
    return procs.tls_context(pki / "ca.crt", pki / "admin.crt", pki / "admin.key")


def _flow_schema_of_limited_user(cluster) -> str:
    """The UID of the FlowSchema the API server put the limited user's request in (its response header)."""
    url = f"{cluster.server}/api/v1/namespaces/{cluster.limited_namespace}/configmaps?limit=1"
    with urllib.request.urlopen(url, context=_limited_tls(cluster), timeout=10) as resp:
        return resp.headers.get("X-Kubernetes-PF-FlowSchema-UID", "")


def _rejected(cluster, level: str) -> int:
    with urllib.request.urlopen(f"{cluster.server}/metrics", context=_admin_tls(cluster), timeout=30) as resp:
        text = resp.read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("apiserver_flowcontrol_rejected_requests_total{") and f'priority_level="{level}"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


@pytest.fixture
def one_seat(cluster):
    """The limited user's requests go to a priority level of one share that rejects instead of queueing."""
    name = f"arena-run-test-one-seat-{uuid.uuid4().hex[:6]}"
    level = {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
             "metadata": {"name": name},
             "spec": {"type": "Limited", "limited": {
                 "nominalConcurrencyShares": 1, "lendablePercent": 0, "borrowingLimitPercent": 0,
                 "limitResponse": {"type": "Reject"}}}}
    schema = {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
              "metadata": {"name": name},
              "spec": {"priorityLevelConfiguration": {"name": name}, "matchingPrecedence": 300,
                       "distinguisherMethod": {"type": "ByUser"},
                       "rules": [{"subjects": [{"kind": "User", "user": {"name": certs.LIMITED_USER}}],
                                  "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                     "namespaces": ["*"], "clusterScope": True}],
                                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}}
    cluster.run_kubectl("apply", "--server-side", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                              "items": [level, schema]}))
    uid = kubectl_json(cluster, "get", "flowschema", name)["metadata"]["uid"]
    try:
        # In force once the API server classifies the user's requests with it (it says so in a header).
        until(lambda: _flow_schema_of_limited_user(cluster) == uid, timeout=60, what="the FlowSchema in force")
        yield name
    finally:
        cluster.run_kubectl("delete", "flowschema", name, "--ignore-not-found")
        cluster.run_kubectl("delete", "prioritylevelconfiguration", name, "--ignore-not-found")
        until(lambda: _flow_schema_of_limited_user(cluster) != uid, timeout=60, what="the FlowSchema gone")


def test_real_429s_from_priority_and_fairness_are_absorbed(cluster, one_seat, tmp_path, run_cli, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_limited))
    ns = cluster.limited_namespace
    root, names = experiments(tmp_path, ns, prefix=f"apf{uuid.uuid4().hex[:4]}-")
    before = _rejected(cluster, one_seat)
    started = time.monotonic()
    try:
        code, out, err = run_cli("-v", "apply", "-y", str(root))
        took = time.monotonic() - started
        rejected = _rejected(cluster, one_seat) - before
        seen = attempts(err)
        got_429 = sum(1 for _, _, s in seen if s == "429")
        assert code == 0, err[-3000:]
        assert rejected > 0 and got_429 > 0, f"no 429 happened (rejected {rejected}); the test proves nothing"
        assert got_429 <= rejected  # every 429 arena-run saw is one the API server counted
        assert "internal error" not in err
        code, out, err2 = run_cli("status", "-n", ns, "-o", "json", *names)
        assert code == 0, err2
        assert sorted(s["name"] for s in json.loads(out)) == names
        assert {s["sync"] for s in json.loads(out)} == {"in sync"}
        kubectl_diff_is_empty(cluster, root, ns)
        with capsys.disabled():
            print(f"\nAPF: apply of {len(names)} experiments ({len(seen)} requests sent, {got_429} answered 429; "
                  f"the API server rejected {rejected}) succeeded in {took:.1f} s")
    finally:
        run_cli("delete", "-y", "-n", ns, *names)


# --- real connection resets ----------------------------------------------------------


def _through(cluster, proxy, tmp_path) -> Path:
    """A copy of the admin kubeconfig whose server is the proxy (same certificate: 127.0.0.1)."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    path = tmp_path / "kubeconfig-through-proxy"
    path.write_text(json.dumps(config))
    return path


def test_connection_resets_are_absorbed_by_apply_status_and_wait(cluster, namespace, tmp_path, run_cli, capsys, monkeypatch):
    target = ("127.0.0.1", int(cluster.server.rsplit(":", 1)[1]))
    root, names = experiments(tmp_path, namespace, count=8)
    with ResettingProxy(target, every=2, seed=8) as proxy:
        monkeypatch.setenv("KUBECONFIG", str(_through(cluster, proxy, tmp_path)))
        started = time.monotonic()
        code, out, err = run_cli("-v", "apply", "-y", str(root))
        assert code == 0, err[-3000:]
        code, out, err2 = run_cli("-v", "status", "-n", namespace, "-o", "json")
        assert code == 0, err2[-3000:]
        assert {s["name"]: s["sync"] for s in json.loads(out)} == {n: "in sync" for n in names}
        code, out, err3 = run_cli("-v", "apply", "-y", "--wait", "--timeout", "120", str(root))
        assert code == 0, err3[-3000:]
        assert "No changes" in out and "Ready:" in out
        took = time.monotonic() - started
    seen = attempts(err + err2 + err3)
    failed = [a for a in seen if a[2] == "-"]
    assert proxy.total_resets > 0 and failed, f"no reset reached arena-run ({dict(proxy.resets)}, {proxy.connections} connections, {sorted(proxy.carried)})"
    assert "internal error" not in err + err2 + err3
    kubectl_diff_is_empty(cluster, root, namespace)
    with capsys.disabled():
        print(f"\nresets: {proxy.total_resets} of {proxy.connections} connections reset ({dict(proxy.resets)}); "
              f"{len(failed)} of {len(seen)} requests got no answer and were sent again; "
              f"apply + status + apply --wait of {len(names)} experiments succeeded in {took:.1f} s")


# --- paging, and a continue token outliving etcd's compaction -----------------------------


def _etcd(cluster, call: str, body: dict) -> dict:
    port = cluster.info["ports"]["etcd"]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v3/{call}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _compact_etcd(cluster) -> None:
    """Compact etcd at its current revision: every continue token of an older one is expired."""
    key = base64.b64encode(b"/registry/").decode()
    revision = int(_etcd(cluster, "kv/range", {"key": key, "limit": 1})["header"]["revision"])
    _etcd(cluster, "kv/compaction", {"revision": revision, "physical": True})


def test_lists_are_paged_and_an_expired_continue_restarts_the_list(cluster, kube, namespace):
    # Events: the kind the API server keeps no watch cache for (kube-apiserver's
    # default --watch-cache-sizes), so continue tokens are answered by etcd and
    # expire with its compaction, as they do in production for any kind once
    # the cache has moved on.
    items = [{"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"page-{i}", "namespace": namespace, "labels": {"paged": "yes"}},
              "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
              "reason": "Test", "message": f"event {i}", "type": "Normal"}
             for i in range(7)]
    cluster.run_kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    kube.page_size = 3
    seen = []
    kube.observe(seen.append)
    listed = kube.list(KINDS["Event"], namespace, selector="paged=yes")
    assert sorted(o["metadata"]["name"] for o in listed) == [f"page-{i}" for i in range(7)]
    assert [("continue=" in a.path, a.status) for a in seen] == [(False, 200), (True, 200), (True, 200)]

    seen.clear()
    compacted = []

    def compact_after_first_page(attempt):
        if not compacted and attempt.status == 200:
            compacted.append(True)
            # A write moves etcd past the revision of the first page; compacting
            # there makes that revision, and the token pointing at it, unreadable.
            cluster.run_kubectl("create", "configmap", f"bump-{uuid.uuid4().hex[:6]}", "-n", namespace)
            _compact_etcd(cluster)

    kube.observe(compact_after_first_page)
    listed = kube.list(KINDS["Event"], namespace, selector="paged=yes")
    assert sorted(o["metadata"]["name"] for o in listed) == [f"page-{i}" for i in range(7)]
    statuses = [(("continue=" in a.path), ("limit=" in a.path), a.status) for a in seen]
    assert statuses == [(False, True, 200), (True, True, 410), (False, False, 200)], statuses


# --- logs -f: silence is not an error ------------------------------------------------


def test_a_followed_log_outlives_the_read_timeout_and_ends_on_ctrl_c_or_with_the_pod(cluster, kube, namespace, tmp_path, run_cli):
    root, (name,) = experiments(tmp_path, namespace, count=1)
    assert run_cli("apply", "-y", str(root))[0] == 0
    pod = f"{name}-worker-0"
    until(lambda: (kubectl_json(cluster, "-n", namespace, "get", "pod", pod).get("status") or {}).get("phase")
          == "Running" if cluster.run_kubectl("-n", namespace, "get", "pod", pod, check=False).returncode == 0
          else False, what="worker running")
    log = tmp_path / "worker.log"
    serve_logs(cluster, namespace, pod, log, cri(["first"]))

    kube.read_timeout = 1.0  # what a silent follow used to die of, made short
    target = until(lambda: (lambda t: t if t.started else None)(find_container(kube, name, namespace)),
                   what="log target")
    got: list = []
    failure: list = []

    def follow():
        try:
            for chunk in until(lambda: stream(kube, target, follow=True), timeout=30, what="log stream"):
                got.append(chunk.decode())
        except Exception as exc:  # noqa: BLE001 — the assertion below shows it
            failure.append(exc)

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    until(lambda: "".join(got) == "first\n" or failure, timeout=30, what="first line")
    # The subject of this test is silence itself: three read timeouts without a byte.
    reader.join(3 * kube.read_timeout)
    assert not failure and reader.is_alive(), failure
    with log.open("a") as fh:
        fh.write(cri(["after the silence"]))
    until(lambda: "".join(got) == "first\nafter the silence\n" or failure, timeout=30, what="the next line")
    assert not failure, failure

    # The CLI's follow, with no read timeout, still stops at once on Ctrl-C.
    proc = subprocess.Popen([sys.executable, "-m", "arena_run", "logs", "-f", "-n", namespace, name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, KUBECONFIG=str(cluster.kubeconfig)))
    try:
        assert proc.stdout.readline() == "first\n"
        assert proc.stdout.readline() == "after the silence\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0  # as `arena-run logs -f` ends on Ctrl-C: quietly
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # The container ends: the follow ends too, cleanly, with every line
    # (kwok, unlike a kubelet, keeps the stream open: arena-run notices itself).
    with log.open("a") as fh:
        fh.write(cri(["last words"]))
    until(lambda: "".join(got).endswith("last words\n") or failure, timeout=30, what="the last line")
    cluster.run_kubectl("-n", namespace, "annotate", "pod", pod, f"{cluster.info['exit_code_annotation']}=0")
    until(lambda: not reader.is_alive(), timeout=60, what="the follow to end with the pod")
    assert not failure, failure
    assert "".join(got) == "first\nafter the silence\nlast words\n"


# --- KUBECONFIG=a:b, with kubectl as the referee -----------------------------------------

NAMES = st.sampled_from(["n-a", "n-b", "n-c"])


@st.composite
def kubeconfig_files(draw):
    files = []
    for i in range(draw(st.integers(1, 4))):
        if draw(st.booleans()) and i:
            files.append(None)  # a missing file in the list
            continue
        clusters = {n: {"server": f"https://f{i}-{n}.example:6443"} for n in draw(st.lists(NAMES, unique=True))}
        users = {n: {"token": f"f{i}-{n}"} for n in draw(st.lists(NAMES, unique=True))}
        contexts = {n: {"cluster": draw(NAMES), "user": draw(NAMES), "namespace": f"f{i}-{n}"}
                    for n in draw(st.lists(NAMES, unique=True))}
        config = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
                  "users": [{"name": n, "user": u} for n, u in users.items()],
                  "contexts": [{"name": n, "context": c} for n, c in contexts.items()]}
        if draw(st.booleans()):
            config["current-context"] = draw(NAMES)
        files.append(config)
    return files


def _named(config: dict) -> dict:
    return {section: {e["name"]: e[section[:-1]] for e in config.get(section) or []}
            for section in ("clusters", "users", "contexts")} | {"current": config.get("current-context", "")}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kubeconfig_files())
def test_kubeconfig_merges_as_kubectl_merges(cluster, tmp_path, files):
    where = tmp_path / uuid.uuid4().hex[:8]
    where.mkdir()
    paths = []
    for i, config in enumerate(files):
        path = where / f"config-{i}"
        if config is not None:
            path.write_text(yaml.safe_dump(config))
        paths.append(str(path))
    env = {**os.environ, "KUBECONFIG": os.pathsep.join(paths)}
    proc = subprocess.run([str(cluster.kubectl), "config", "view", "--raw", "-o", "json"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    merged, found = kc.load(paths)
    assert found == [p for p, c in zip(paths, files) if c is not None]
    assert _named(merged) == _named(json.loads(proc.stdout))
