"""The engine adapter's pure parts: how each engine spells a request, which engine is found, its errors."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from hypothesis import given, strategies as st

from arena_run.local import engine as eng
from arena_run.local.engine import Container, EngineError, Mount, Port


def _flags(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def _container(**kw) -> Container:
    base = dict(name="mnist-worker-0", image="tensorflow/tensorflow:2.16.1", argv=["sh", "-c", "python3 train.py"])
    return Container(**{**base, **kw})


def test_create_flags_for_every_setting():
    c = _container(labels={"arena-run.io/job": "mnist", "arena-run.io/experiment": "e"},
                   env={"TF_CONFIG": '{"cluster":{}}', "A": "1"}, working_dir="/root",
                   mounts=[Mount("/host/data", "/data"), Mount("/host/ro", "/ro", read_only=True)],
                   shm_bytes=2 * 2**30, cpus=1.5, memory_bytes=2**30, network="arena-run-e", aliases=["mnist-worker-0"],
                   hostname="mnist-worker-0", ports=[Port(6006, 40123)])
    argv = eng.create_argv("podman", c)
    assert argv[:5] == ["create", "--name", "mnist-worker-0", "--init", "--pull=never"]
    assert _flags(argv, "--label") == ["arena-run.io/experiment=e", "arena-run.io/job=mnist"]
    assert _flags(argv, "--env") == ['TF_CONFIG={"cluster":{}}', "A=1"]
    assert _flags(argv, "--workdir") == ["/root"]
    assert _flags(argv, "--mount") == ["type=bind,source=/host/data,destination=/data",
                                       "type=bind,source=/host/ro,destination=/ro,readonly"]
    assert _flags(argv, "--shm-size") == [f"{2 * 2**30}b"] and _flags(argv, "--memory") == [f"{2**30}b"]
    assert _flags(argv, "--cpus") == ["1.5"]
    assert _flags(argv, "--network") == ["arena-run-e"] and _flags(argv, "--network-alias") == ["mnist-worker-0"]
    assert _flags(argv, "--publish") == ["127.0.0.1:40123:6006"]
    # The pod's command replaces the image's entrypoint; its arguments follow the image.
    assert argv[-5:] == ["--entrypoint", "sh", "tensorflow/tensorflow:2.16.1", "-c", "python3 train.py"]


def test_gpus_as_cdi_devices_for_podman_and_a_quoted_device_list_for_docker():
    c = _container(gpus=["GPU-aaaa", "GPU-bbbb"])
    assert _flags(eng.create_argv("podman", c), "--device") == ["nvidia.com/gpu=GPU-aaaa", "nvidia.com/gpu=GPU-bbbb"]
    docker = eng.create_argv("docker", c)
    assert _flags(docker, "--gpus") == ['"device=GPU-aaaa,GPU-bbbb"'] and "--device" not in docker
    assert "--gpus" not in eng.create_argv("docker", _container()) and "--device" not in eng.create_argv(
        "podman", _container())


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1))
def test_a_mount_source_is_one_csv_field_whatever_it_holds(path):
    import csv

    spec = _flags(eng.create_argv("podman", _container(mounts=[Mount("/h/" + path, "/data")])), "--mount")[0]
    fields = next(csv.reader([spec]))
    assert fields == ["type=bind", f"source=/h/{path}", "destination=/data"]


def _exe(directory, name):
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_podman_first_then_docker_then_the_one_named(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    docker = _exe(a, "docker")  # earlier on PATH, still second choice
    podman = _exe(b, "podman")
    path = f"{a}{os.pathsep}{b}"
    assert (eng.find({"PATH": path}).kind, eng.find({"PATH": path}).path) == ("podman", podman)
    assert eng.find({"PATH": str(a)}).path == docker
    named = eng.find({"PATH": path, eng.ENGINE_ENV: "docker"})
    assert (named.kind, named.path) == ("docker", docker)
    custom = _exe(tmp_path, "my-docker-wrapper")
    assert eng.find({"PATH": path, eng.ENGINE_ENV: custom}).kind == "docker"


def test_no_engine_is_one_line_saying_what_to_do(tmp_path):
    with pytest.raises(EngineError) as e:
        eng.find({"PATH": str(tmp_path)})
    assert str(e.value) == ("--container needs Podman or Docker and neither is on PATH: install one "
                            "(apt install podman), name it in ARENA_RUN_CONTAINER_ENGINE, or run without --container")


@pytest.mark.parametrize("image, policy", [
    ("python", "Always"), ("python:latest", "Always"), ("localhost:5000/team/python", "Always"),
    ("localhost:5000/team/python:3.12", "IfNotPresent"), ("python:3.12-slim", "IfNotPresent"),
    ("python@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_the_kubernetes_default_pull_policy(image, policy):
    assert eng.default_pull_policy(image) == policy


def test_a_docker_without_its_daemon_is_one_line():
    said = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"

    def run(argv, **kw):
        return subprocess.CompletedProcess(argv, 1, "", said + "\n")

    with pytest.raises(EngineError) as e:
        eng.Engine("/usr/bin/docker", "docker", run=run).check()
    assert str(e.value) == (f"docker cannot reach its daemon ({said}): start it (systemctl start docker), "
                            f"or use Podman (ARENA_RUN_CONTAINER_ENGINE=podman)")


@pytest.mark.parametrize("said, advice", [
    ("crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI permission denied", "default_ulimits"),
    ("cgroups in hybrid mode not supported, use cgroups v2", 'cgroup_manager = "cgroupfs"'),
    ("cannot set up namespace using \"/usr/bin/newuidmap\": exit status 1", "/etc/subuid"),
    ("setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=0", "nvidia-ctk cdi generate"),
    ('could not select device driver "" with capabilities: [[gpu]]', "nvidia-ctk runtime configure"),
    # rootless Podman on this test machine, whose /dev/net/tun is root's alone (0600)
    ('/usr/bin/slirp4netns failed: "open(\\"/dev/net/tun\\"): Permission denied\\nchild failed(1)"',
     "chmod 0666 /dev/net/tun"),
])
def test_a_refused_run_says_what_to_do(said, advice):
    line = eng.explain_run_failure("podman", said)
    assert line.startswith(said + "; ") and advice in line and "\n" not in line


def test_the_last_error_line_of_noisy_output():
    noisy = "failed to connect to syslog: Initialization\nError: image not known\n"
    assert eng._last_line(noisy) == "image not known"
    # The docker CLI's refusal of a flag, as it prints it: the cause, not the pointer to --help.
    docker = ('invalid argument "device=a,b" for "--gpus" flag: invalid count (b): value must be either "all" '
              "or an integer: invalid syntax\nSee 'docker create --help'.\n")
    assert eng._last_line(docker).startswith('invalid argument "device=a,b" for "--gpus" flag')
    assert eng._last_line("Error: no such flag\nRun 'docker create --help' for more information\n") == \
        "no such flag"


def test_inspect_fields_of_both_engines():
    podman = {"Id": "abc", "Name": "w-0", "State": {"Status": "exited", "Running": False, "ExitCode": 143,
                                                   "OOMKilled": False, "StartedAt": "s", "FinishedAt": "f"},
              "Config": {"Labels": {"arena-run.io/job": "j"}}}
    docker = {**podman, "Name": "/w-0", "State": {**podman["State"], "Status": "running", "Running": True,
                                                  "ExitCode": 0, "FinishedAt": "0001-01-01T00:00:00Z"}}
    a, b = eng._state(podman), eng._state(docker)
    assert (a.name, a.exit_code, a.running, a.labels) == ("w-0", 143, False, {"arena-run.io/job": "j"})
    assert (b.name, b.exit_code, b.running) == ("w-0", None, True)
