"""TensorBoard and serving locally; what a machine without namespaces is told."""

from __future__ import annotations

import os
import urllib.request

from ..conftest import ROOT
from .conftest import processes_with, wait_until

FAKE_BIN = ROOT / "tests" / "fixtures" / "bin"

TB = '''
name = "board"
[[data]]
pvc = "logs"
mount = "/logs"
[job]
image = "tensorflow/tensorflow"
command = "mkdir -p /logs/run && echo event > /logs/run/events.out"
[tensorboard]
logdir = "/logs"
'''


def test_tensorboard_serves_the_logdir_on_a_free_port(local):
    local.env["PATH"] = f"{FAKE_BIN}{os.pathsep}{local.env['PATH']}"
    f = local.write("tb", TB)
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    status = local.status("board")
    url = status["tensorboard"]["url"]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":6006")
    assert status["tensorboard"]["available"] == "1/1"
    body = wait_until(lambda: _get(url + "/run/events.out"), what="TensorBoard answering")
    assert body == b"event\n"  # it reads the volume at the file's logdir
    assert "TENSORBOARD" in local.cli("status", "--local").stdout and url in local.cli("status", "--local").stdout
    assert local.cli("delete", "--local", "-y", "board").returncode == 0
    assert processes_with(str(local.state)) == []


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.read()
    except OSError:
        return None


def test_without_tensorboard_status_says_how_to_install_it(local):
    f = local.write("tb", TB)
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    status = local.status("board")
    assert status["phase"] == "Succeeded"
    assert status["tensorboard"]["available"] == "not available locally"
    text = local.cli("status", "--local", "board").stdout
    assert "python3 -m pip install tensorboard" in text


def test_the_install_hint_works_as_it_says_and_logs_does_not_wait_for_what_cannot_start(local):
    """Issue 18: "tensorboard is not installed here: … then apply --local again": the next apply said
    "No changes", and `logs --component tensorboard -f` waited forever."""
    f = local.write("tb", TB)
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    follow = local.cli("logs", "--local", "board", "--component", "tensorboard", "-f", timeout=30)
    assert follow.returncode == 1
    (line,) = follow.stderr.splitlines()
    assert "python3 -m pip install tensorboard" in line and "waiting" not in line

    local.env["PATH"] = f"{FAKE_BIN}{os.pathsep}{local.env['PATH']}"  # installed now, as the hint says
    again = local.cli("apply", "--local", "-y", f)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Started board on this machine: Deployment board-tensorboard" in again.stdout
    url = wait_until(lambda: local.status("board")["tensorboard"]["url"] if
                     local.status("board")["tensorboard"]["available"] == "1/1" else None, what="TensorBoard up")
    assert wait_until(lambda: _get(url + "/run/events.out"), what="TensorBoard answering") == b"event\n"
    once_more = local.cli("apply", "--local", "-y", f)
    assert "Started" not in once_more.stdout  # running now: nothing to start again
    assert local.cli("delete", "--local", "-y", "board").returncode == 0
    assert processes_with(str(local.state)) == []


def test_kserve_is_cluster_only_and_tf_serving_says_it_is_not_available(local):
    kserve = local.write("ks", '''
name = "ks"
[[data]]
pvc = "models"
mount = "/models"
[serve]
type = "kserve"
model_path = "/models/m"
''')
    result = local.cli("apply", "--local", "-y", kserve)
    assert result.returncode == 1 and 'serve.type = "kserve" is cluster-only' in result.stderr
    tfs = local.write("tfs", '''
name = "tfs"
[[data]]
pvc = "models"
mount = "/models"
[serve]
type = "tf-serving"
model_path = "/models/m"
''')
    assert local.cli("apply", "--local", "-y", tfs).returncode == 0
    store = local.store()
    wait_until(lambda: any((r or {}).get("phase") == "Unavailable" for r in local.runs("tfs")), what="the verdict")
    text = local.cli("status", "--local", "tfs").stdout
    assert "tf-serving is not available locally" in text
    wait_until(lambda: not store.supervisor_alive("tfs"), what="the supervisor to leave: nothing to watch")


def test_no_namespaces_is_a_clear_error(local, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "unshare").write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    (fake / "unshare").chmod(0o755)
    f = local.write("q", '''
name = "q"
[job]
image = "python:3.12"
command = "true"
''')
    result = local.cli("apply", "--local", "-y", f, env={"PATH": f"{fake}{os.pathsep}{local.env['PATH']}"})
    assert result.returncode == 1
    line = [l for l in result.stderr.splitlines() if "namespace" in l][0]
    assert "Operation not permitted" in line and "user.max_user_namespaces" in line
    assert local.store().names() == []
