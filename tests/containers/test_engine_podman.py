"""The engine adapter against real Podman: what `run` is given reaches the container, as the container sees it."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from arena_run.local.engine import Container, EngineError, Mount, Port, find

from ..waiting import until
from . import images


def _wait_exited(engine, name, timeout=60):
    return until(lambda: (s := engine.inspect(name)) is not None and s.exit_code is not None and s,
                 timeout=timeout, interval=0.05, what=f"container {name} to exit")


def test_a_container_gets_its_image_mounts_env_workdir_and_limits(engine, busybox_image, test_labels, tmp_path):
    data = tmp_path / "data,with:odd chars"  # --mount keeps such a path one path
    data.mkdir()
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "given").write_text("from the host\n")
    name = f"arena-run-test-{uuid.uuid4().hex[:8]}"
    script = (
        "cat /arena-run-image-marker > /data/marker; pwd > /data/cwd; echo \"$GREETING\" > /data/env; "
        "cat /ro/given > /data/given; touch /ro/x 2>/dev/null; echo $? > /data/ro_write; "
        "df -k /dev/shm | tail -1 > /data/shm; hostname > /data/hostname; "
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
        "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; "
        "echo done; exit 3"
    )
    engine.run(Container(
        name=name, image=busybox_image, argv=["sh", "-c", script], labels={**test_labels, "arena-run.io/job": "j"},
        env={"GREETING": "hello, world = 1"}, working_dir="/work/dir",
        mounts=[Mount(str(data), "/data"), Mount(str(ro), "/ro", read_only=True)],
        shm_bytes=96 * 2**20, cpus=0.5, memory_bytes=256 * 2**20, hostname="mnist-worker-0",
    ))
    state = _wait_exited(engine, name)
    assert state.exit_code == 3 and not state.running and state.name == name
    assert state.labels["arena-run.io/job"] == "j"
    assert (data / "marker").read_text().startswith("busybox ")  # ran inside the image: only it has the marker
    assert (data / "cwd").read_text() == "/work/dir\n"
    assert (data / "env").read_text() == "hello, world = 1\n"
    assert (data / "given").read_text() == "from the host\n"
    assert (data / "ro_write").read_text() != "0\n"  # the read-only mount refused the write
    assert not (ro / "x").exists()
    assert int((data / "shm").read_text().split()[1]) == 96 * 1024
    assert (data / "hostname").read_text() == "mnist-worker-0\n"
    out = engine.logs(name).split()
    assert out[0] == str(256 * 2**20)  # the memory limit, as the kernel holds it
    assert out[1] in ("50000", "50000 100000")  # half a CPU: a quota of half the period (100 ms)
    assert engine.logs(name, tail=1).split() == ["done"]
    assert [s.name for s in engine.containers(test_labels)] == [name]
    engine.remove(name)
    assert engine.inspect(name) is None and engine.containers(test_labels) == []


def test_containers_of_one_network_meet_by_alias(engine, busybox_image, test_labels):
    net = f"arena-run-test-{uuid.uuid4().hex[:8]}"
    engine.create_network(net, test_labels)
    engine.create_network(net, test_labels)  # again: already there is fine
    assert engine.networks(test_labels) == [net]
    server = f"{net}-server"
    engine.run(Container(name=server, image=busybox_image, argv=["sh", "-c", "nc -l -p 2222"],
                         labels=test_labels, network=net, aliases=["tfjob-worker-0"]))
    client = f"{net}-client"
    engine.run(Container(
        name=client, image=busybox_image, labels=test_labels, network=net,
        argv=["sh", "-c", "until echo hello | nc tfjob-worker-0 2222; do sleep 0.1; done"]))
    assert _wait_exited(engine, server).exit_code == 0
    # The exit status can be read a moment before the engine's log holds the container's last output
    # (conmon records the exit, then drains the pipe): wait for the line rather than read once.
    until(lambda: engine.logs(server).strip() == "hello", timeout=30, interval=0.05, what="the server's log line")
    assert _wait_exited(engine, client).exit_code == 0
    engine.remove(server, client)
    engine.remove_network(net)
    assert engine.networks(test_labels) == []


def test_a_port_published_on_127_0_0_1(engine, busybox_image, test_labels):
    from arena_run.local.distributed import free_ports

    port = free_ports(1)[0]
    name = f"arena-run-test-{uuid.uuid4().hex[:8]}"
    engine.run(Container(name=name, image=busybox_image, labels=test_labels,
                         argv=["sh", "-c", "echo served | nc -l -p 8501"], ports=[Port(8501, port)]))
    import socket

    def answer():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                return s.makefile().readline().strip() or None
        except OSError:
            return None

    assert until(answer, timeout=30, interval=0.1, what="the published port") == "served"


def test_stop_and_a_kill_from_outside_give_the_shells_exit_codes(engine, busybox_image, test_labels):
    a, b = (f"arena-run-test-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for name in (a, b):
        engine.run(Container(name=name, image=busybox_image, argv=["sh", "-c", "sleep 300"], labels=test_labels))
    until(lambda: all(engine.inspect(n).running for n in (a, b)), timeout=30, interval=0.05, what="running")
    engine.stop(a, grace=10)  # --init passes SIGTERM on: no wait for the grace period's SIGKILL
    assert _wait_exited(engine, a).exit_code == 143
    subprocess.run(["podman", "kill", b], check=True, capture_output=True)
    assert _wait_exited(engine, b).exit_code == 137


def test_a_gpu_request_reaches_the_engine_as_a_cdi_device(engine, busybox_image, test_labels):
    # Podman 4.3 reads CDI specs only from /etc/cdi and /var/run/cdi: a spec file of our own there,
    # naming devices no real spec has, removed afterwards.
    uuid_ = f"GPU-arena-run-test-{uuid.uuid4().hex[:8]}"
    os.makedirs("/var/run/cdi", exist_ok=True)
    spec = f"/var/run/cdi/{uuid_}.yaml"
    with open(spec, "w") as fh:
        fh.write(f'cdiVersion: "0.5.0"\nkind: nvidia.com/gpu\ndevices:\n'
                 f'  - name: {uuid_}\n    containerEdits:\n      env: ["FAKE_CDI_GPU={uuid_}"]\n')
    try:
        name = f"arena-run-test-{uuid.uuid4().hex[:8]}"
        engine.run(Container(name=name, image=busybox_image, argv=["sh", "-c", "echo $FAKE_CDI_GPU"],
                             labels=test_labels, gpus=[uuid_]))
        assert _wait_exited(engine, name).exit_code == 0
        assert engine.logs(name).strip() == uuid_
        with pytest.raises(EngineError) as e:
            engine.run(Container(name=f"{name}-x", image=busybox_image, argv=["true"], labels=test_labels,
                                 gpus=[uuid_ + "-none"]))
        message = str(e.value)
        assert "\n" not in message and "unresolvable CDI devices" in message and "nvidia-ctk cdi generate" in message
        assert engine.inspect(f"{name}-x") is None  # nothing half-made left behind
    finally:
        os.unlink(spec)


def test_pull_policies_and_an_unpullable_image(engine, busybox_image, test_labels):
    assert engine.ensure_image(busybox_image, "IfNotPresent") is False
    assert engine.ensure_image(busybox_image, "Never") is False
    missing = f"localhost/arena-run-test/absent:{uuid.uuid4().hex[:8]}"
    with pytest.raises(EngineError) as e:
        engine.ensure_image(missing, "Never")
    assert "\n" not in str(e.value) and "image_pull_policy is Never" in str(e.value)
    unreachable = "127.0.0.1:9/arena-run-test/none:1"  # port 9: nothing listens, refused at once
    lines: list[str] = []
    with pytest.raises(EngineError) as e:
        engine.ensure_image(unreachable, "IfNotPresent", progress=lines.append)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"image {unreachable} cannot be pulled (")
    assert "connection refused" in message and lines  # the engine's own words, and its progress was passed on


def test_a_command_missing_from_the_image_fails_the_container_with_a_log_saying_so(engine, busybox_image,
                                                                                   test_labels):
    # The init process (--init) starts, then cannot exec the command: a failed container, as a pod
    # whose command is missing fails, with the reason in its log.
    name = f"arena-run-test-{uuid.uuid4().hex[:8]}"
    engine.run(Container(name=name, image=busybox_image, argv=["python3", "-c", "1"], labels=test_labels))
    assert _wait_exited(engine, name).exit_code != 0
    assert "No such file or directory" in engine.logs(name)


def test_an_engine_named_but_missing(monkeypatch, podman_conf):
    monkeypatch.setenv("ARENA_RUN_CONTAINER_ENGINE", "/nonexistent/podman")
    with pytest.raises(EngineError) as e:
        find()
    assert str(e.value) == ("ARENA_RUN_CONTAINER_ENGINE=/nonexistent/podman: no such program on PATH; name podman "
                            "or docker (or a path to one), or unset it to use the first found")


def test_the_test_images_have_the_marker_and_python(engine, python_image, test_labels):
    name = f"arena-run-test-{uuid.uuid4().hex[:8]}"
    engine.run(Container(name=name, image=python_image, labels=test_labels, argv=[
        "python3", "-c", f"import json, socket, threading; print(open('{images.MARKER}').read().split()[0])"]))
    assert _wait_exited(engine, name).exit_code == 0
    assert engine.logs(name).strip() == "python"
    assert not os.path.exists(images.MARKER)  # the host has none
