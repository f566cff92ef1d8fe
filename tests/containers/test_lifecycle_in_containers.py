"""Restart policy, backoff and deadline for replicas in containers, and a custom server in its image."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from arena_run.local.engine import LABEL

from ..waiting import until
from .test_local_containers import _mine


def _experiment(name: str, image: str, job: str, tail: str = "", data: str = "") -> str:
    """An arena.toml of one job in image (never pulled), with a volume at data when given."""
    volume = f'[[data]]\npvc = "{name}"\nmount = "{data}"\n' if data else ""
    return f'name = "{name}"\n{volume}[job]\nimage = "{image}"\nimage_pull_policy = "Never"\n{job}\n{tail}'


def _ps() -> list[str]:
    return subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True).stdout.split()


def test_a_failed_replica_restarts_in_a_new_container_and_a_deadline_stops_one(clocal, engine, busybox_image):
    # Fails on its first start (no mark yet), succeeds on its second: OnFailure restarts it.
    f = clocal.write("retry", _experiment("retry", busybox_image, data="/data", job=(
        'restart_policy = "OnFailure"\nbackoff_limit = 3\ncommand = "if [ -e /data/mark ]; then echo second; '
        'else touch /data/mark; echo first; exit 3; fi"')))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    (replica,) = clocal.runs("retry")[0]["replicas"]
    assert replica["restarts"] == 1 and replica["state"] == "succeeded"
    assert clocal.cli("logs", "--local", "retry", check=True).stdout.split() == ["first", "second"]
    uid = clocal.store().objects("retry")[0]["uid"]
    assert not [n for n in _ps() if uid in n]  # both containers (start 0 and 1) removed

    g = clocal.write("late", _experiment("late", busybox_image, job='active_deadline = "2s"\ncommand = "sleep 300"'))
    clocal.cli("apply", "--local", "--container", "-y", g, check=True)
    until(lambda: clocal.status("late")["phase"] == "Failed", timeout=60, interval=0.1, what="the deadline")
    assert "DeadlineExceeded" in json.dumps(clocal.status("late"))
    until(lambda: not engine.containers({**_mine(clocal), LABEL + "experiment": "late"}), timeout=30,
          interval=0.1, what="its container removed")


def test_a_custom_server_runs_in_its_image_on_127_0_0_1(clocal, engine, busybox_image):
    # busybox's httpd serves the model directory on the pod's port; published on 127.0.0.1 only.
    job = 'command = "mkdir -p /models/m && echo weights > /models/m/model.bin"'
    serve = f'[serve]\ntype = "custom"\nimage = "{busybox_image}"\ncommand = "httpd -f -p 8000 -h /models"\nport = 8000\n'
    f = clocal.write("srv", _experiment("srv", busybox_image, data="/models", job=job, tail=serve))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    serving = clocal.status("srv")["serving"]
    url = serving["url"]
    assert url.startswith("http://127.0.0.1:") or url.startswith("127.0.0.1:"), serving

    def get():
        try:
            with urllib.request.urlopen(("" if url.startswith("http") else "http://") + url + "/m/model.bin",
                                        timeout=2) as resp:
                return resp.read()
        except OSError:
            return None

    assert until(get, timeout=60, interval=0.1, what="the server answering") == b"weights\n"
    server = next(s for s in engine.containers(_mine(clocal)) if s.running)
    ports = json.loads(subprocess.run(["podman", "container", "inspect", server.id], capture_output=True, text=True,
                                      check=True).stdout)[0]["NetworkSettings"]["Ports"]
    assert [p["HostIp"] for p in ports["8000/tcp"]] == ["127.0.0.1"]
    assert clocal.cli("delete", "--local", "-y", "srv").returncode == 0
    assert engine.containers(_mine(clocal)) == []


def test_tf_serving_runs_in_its_image_with_rest_and_grpc_on_127_0_0_1(clocal, engine, python_image, tools_image):
    # The tools image's tensorflow_model_server stand-in (tests/fixtures/bin) answers the model's status.
    job = 'command = "mkdir -p /models/m/1 && echo pb > /models/m/1/saved_model.pb"'
    serve = f'[serve]\ntype = "tf-serving"\nimage = "{tools_image}"\nmodel_path = "/models/m"\n'
    f = clocal.write("tfs", _experiment("tfs", python_image, data="/models", job=job, tail=serve))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    url = clocal.status("tfs")["serving"]["url"]
    rest, _, grpc = url.partition(" (grpc ")
    assert rest.startswith("http://127.0.0.1:") and grpc.startswith("127.0.0.1:"), url

    def get():
        try:
            with urllib.request.urlopen(rest + "/v1/models/tfs", timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            return None

    assert until(get, timeout=60, interval=0.1, what="TF Serving answering")["model_version_status"][0] == {
        "version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    server = next(s for s in engine.containers(_mine(clocal)) if s.running)
    ports = json.loads(subprocess.run(["podman", "container", "inspect", server.id], capture_output=True, text=True,
                                      check=True).stdout)[0]["NetworkSettings"]["Ports"]
    assert {p: [b["HostIp"] for b in ports[p]] for p in ports} == {"8500/tcp": ["127.0.0.1"], "8501/tcp": ["127.0.0.1"]}
    assert clocal.cli("delete", "--local", "-y", "tfs").returncode == 0
    assert engine.containers(_mine(clocal)) == []
