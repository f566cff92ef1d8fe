"""Each way a kubeconfig gives credentials and TLS settings, against the real API server, as a user runs arena-run.

Static credentials (a token, a token file, a client certificate as data or as
files) are read by arena_run.cluster.kubeconfig alone, so such a command never
imports the `kubernetes` package; an exec plugin goes through the official
client's loader, which runs the plugin again whenever its token has expired.
Every command runs as a new process, which also reports the modules it loaded.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.experiments import experiment, write

pytestmark = pytest.mark.cluster


def arena_run(kubeconfig: Path, *argv: str) -> tuple[int, str, str, set]:
    """(exit code, stdout, stderr, top-level packages imported) of `arena-run ARGV` with KUBECONFIG=kubeconfig."""
    code = (
        "import sys, json\n"
        "from arena_run.cli import main\n"
        f"rc = main({list(argv)!r})\n"
        "print(json.dumps({'rc': rc, 'modules': sorted({m.split('.')[0] for m in sys.modules})}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(kubeconfig.parent), "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    *lines, last = proc.stdout.splitlines() or [""]
    result = json.loads(last)
    return result["rc"], "\n".join(lines), proc.stderr, set(result["modules"])


def admin(cluster) -> tuple[dict, dict]:
    """The admin kubeconfig's cluster and user entries."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    return config["clusters"][0]["cluster"], config["users"][0]["user"]


def kubeconfig(path: Path, cluster_entry: dict, user_entry: dict, namespace: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": cluster_entry}],
        "users": [{"name": "u", "user": user_entry}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": namespace}}],
    }))
    return path


@pytest.fixture
def token(cluster, namespace) -> str:
    """A service account's token (TokenRequest), allowed to do anything in the test's namespace only."""
    cluster.run_kubectl("create", "serviceaccount", "runner", "-n", namespace)
    cluster.run_kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "runner", "namespace": namespace},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}))
    cluster.run_kubectl("create", "rolebinding", "runner", "-n", namespace, "--role=runner",
                        f"--serviceaccount={namespace}:runner")
    return cluster.run_kubectl("create", "token", "runner", "-n", namespace, "--duration=1h").stdout.strip()


def test_a_token_applies_and_reads_without_the_kubernetes_package(cluster, namespace, token, tmp_path):
    server, _ = admin(cluster)
    config = kubeconfig(tmp_path / "config", server, {"token": token}, namespace)
    write(tmp_path / "exp" / "arena.toml", experiment("tok", namespace, tensorboard=True))
    rc, out, err, modules = arena_run(config, "apply", "--yes", str(tmp_path / "exp"))
    assert rc == 0, err
    assert "kubernetes" not in modules
    rc, out, err, modules = arena_run(config, "status")
    assert rc == 0, err
    assert "tok" in out and "kubernetes" not in modules
    job = json.loads(cluster.run_kubectl("get", "tfjob", "tok", "-n", namespace, "--show-managed-fields",
                                         "-o", "json").stdout)
    assert "arena-run" in {f["manager"] for f in job["metadata"]["managedFields"]}


def test_a_token_file_with_its_final_newline(cluster, namespace, token, tmp_path):
    server, _ = admin(cluster)
    (tmp_path / "token").write_text(token + "\n")
    config = kubeconfig(tmp_path / "config", server, {"tokenFile": "token"}, namespace)  # relative to the file
    rc, out, err, modules = arena_run(config, "status")
    assert (rc, out.strip()) == (0, "No experiments."), err
    assert "kubernetes" not in modules


def test_a_wrong_token_is_one_line(cluster, namespace, tmp_path):
    server, _ = admin(cluster)
    config = kubeconfig(tmp_path / "config", server, {"token": "not-a-token"}, namespace)
    rc, out, err, _ = arena_run(config, "status")
    assert rc == 1
    assert err.startswith("arena-run: ") and "unauthorized" in err and len(err.strip().splitlines()) == 1, err


def test_client_certificates_as_files_and_as_data(cluster, namespace, tmp_path):
    server, user = admin(cluster)
    for field in ("client-certificate", "client-key"):
        (tmp_path / field).write_bytes(base64.b64decode(user[f"{field}-data"]))
    (tmp_path / "ca.crt").write_bytes(base64.b64decode(server["certificate-authority-data"]))
    as_files = {"server": server["server"], "certificate-authority": str(tmp_path / "ca.crt")}
    for name, cluster_entry, user_entry in [
        ("data", server, user),
        ("files", as_files, {"client-certificate": "client-certificate", "client-key": "client-key"}),
    ]:
        config = kubeconfig(tmp_path / f"config-{name}", cluster_entry, user_entry, namespace)
        rc, out, err, modules = arena_run(config, "status")
        assert (rc, out.strip()) == (0, "No experiments."), (name, err)
        assert "kubernetes" not in modules, name


def test_tls_settings_are_honoured(cluster, namespace, token, tmp_path):
    """The server's certificate names 127.0.0.1 and kubernetes.default, and only the test CA signed it."""
    server, _ = admin(cluster)
    cases = [
        ("tls-server-name", {**server, "tls-server-name": "kubernetes.default"}, True),
        ("another tls-server-name", {**server, "tls-server-name": "elsewhere.example"}, False),
        ("insecure-skip-tls-verify", {"server": server["server"], "insecure-skip-tls-verify": True}, True),
        ("no CA: the system's do not know the test CA", {"server": server["server"]}, False),
    ]
    for name, cluster_entry, works in cases:
        config = kubeconfig(tmp_path / "config", cluster_entry, {"token": token}, namespace)
        rc, out, err, _ = arena_run(config, "status")
        if works:
            assert (rc, out.strip()) == (0, "No experiments."), (name, err)
        else:
            assert rc == 1, name
            assert "certificate verify failed" in err and len(err.strip().splitlines()) == 1, (name, err)


def exec_plugin(tmp_path: Path, token: str, expires: str) -> tuple[Path, Path]:
    """A credential plugin (as aws eks get-token is one) that counts its runs in a file."""
    runs = tmp_path / "runs"
    script = tmp_path / "plugin.py"
    script.write_text(
        "import json, sys\n"
        f"open({str(runs)!r}, 'a').write('run\\n')\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',\n"
        f"                  'status': {{'token': {token!r}, 'expirationTimestamp': {expires!r}}}}}))\n")
    return script, runs


@pytest.mark.parametrize("expires, least_runs", [("2999-01-01T00:00:00Z", 1), ("2000-01-01T00:00:00Z", 3)])
def test_an_exec_plugin_is_run_and_run_again_once_its_token_expired(cluster, namespace, token, tmp_path,
                                                                    expires, least_runs):
    server, _ = admin(cluster)
    script, runs = exec_plugin(tmp_path, token, expires)
    config = kubeconfig(tmp_path / "config", server, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(script)],
        "interactiveMode": "Never"}}, namespace)
    write(tmp_path / "exp" / "arena.toml", experiment("ex", namespace))
    rc, out, err, modules = arena_run(config, "apply", "--yes", str(tmp_path / "exp"))
    assert rc == 0, err
    assert "kubernetes" in modules  # the official loader runs plugins
    count = len(runs.read_text().splitlines())
    # A token that has expired is asked for again before every request (an apply sends several).
    assert count >= least_runs and (count == 1) == (least_runs == 1), count


def test_a_failing_exec_plugin_is_one_line(cluster, namespace, tmp_path):
    server, _ = admin(cluster)
    config = kubeconfig(tmp_path / "config", server, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
        "args": ["-c", "import sys; sys.exit('no credentials here')"], "interactiveMode": "Never"}}, namespace)
    rc, out, err, _ = arena_run(config, "status")
    assert rc == 1
    assert err.startswith("arena-run: error: cannot use kubeconfig") and len(err.strip().splitlines()) == 1, err
    assert "no credentials here" in err


def test_an_exec_plugin_that_fails_when_asked_again_is_one_line(cluster, namespace, token, tmp_path):
    server, _ = admin(cluster)
    script, runs = exec_plugin(tmp_path, token, "2000-01-01T00:00:00Z")  # expired: run again at each request
    failing = tmp_path / "failing.py"
    failing.write_text(f"import os, runpy, sys\nif os.path.exists({str(runs)!r}): sys.exit('the session ended')\n"
                       f"runpy.run_path({str(script)!r})\n")
    config = kubeconfig(tmp_path / "config", server, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(failing)],
        "interactiveMode": "Never"}}, namespace)
    rc, out, err, _ = arena_run(config, "status")
    assert rc == 1
    assert err.startswith("arena-run: error: cannot prepare a request") and "the session ended" in err, err
    assert len(err.strip().splitlines()) == 1, err
