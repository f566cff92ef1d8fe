"""The container runner on real Podman: a Launch becomes a container whose end is the follower's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid

from arena_run.local import engine as engines
from arena_run.local.containers import ContainerRunner, container_name, store_label, sweep
from arena_run.local.runner import Launch

from ..waiting import until


def _launch(tmp_path, image, argv, labels, **extra):
    uid = uuid.uuid4().hex
    return Launch(
        name="job-worker-0", argv=argv, env={"POD_ONLY": "from the pod", **extra.pop("env", {})},
        working_dir="/workspace", mounts=[{"source": str(tmp_path / "data"), "target": "/data"}], shm=64 * 2**20,
        log=str(tmp_path / "logs" / "worker-0.log"), scratch=str(tmp_path / "scratch"),
        extra={"image": image, "container_name": container_name(uid, "job-worker-0", 0),
               "labels": labels, **extra},
    )


def test_a_replica_runs_in_its_image_its_log_and_status_are_the_containers(engine, busybox_image, test_labels,
                                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("HOST_ONLY", "from the host")  # this machine's environment never reaches the image
    (tmp_path / "data").mkdir()
    runner = ContainerRunner(str(tmp_path / "state"), engine)
    launch = _launch(tmp_path, busybox_image, ["sh", "-c", "cat /arena-run-image-marker; pwd; "
                                                           "echo ${HOST_ONLY:-no host env} $POD_ONLY; exit 7"],
                     test_labels)
    proc = runner.start(launch)
    assert proc.wait(timeout=60) == 7
    lines = (tmp_path / "logs" / "worker-0.log").read_text().splitlines()
    assert lines[0].startswith("busybox ") and lines[1:] == ["/workspace", "no host env from the pod"]
    assert engine.containers(test_labels) == []  # the follower removed it once its status was read


def test_stop_kill_from_outside_and_a_dead_supervisor(engine, busybox_image, test_labels, tmp_path):
    (tmp_path / "data").mkdir()
    runner = ContainerRunner(str(tmp_path / "state"), engine)
    stopped = runner.start(_launch(tmp_path, busybox_image, ["sh", "-c", "sleep 300"], test_labels))
    killed = runner.start(_launch(tmp_path, busybox_image, ["sh", "-c", "sleep 300"], test_labels))
    until(lambda: len([s for s in engine.containers(test_labels) if s.running]) == 2, timeout=30, interval=0.05)
    runner.stop(stopped, signal.SIGTERM)
    assert stopped.wait(timeout=30) == 143
    name = runner.names[killed.pid]
    subprocess.run([engine.path, "kill", name], check=True, capture_output=True)
    assert killed.wait(timeout=30) == 137  # a container killed from outside: a failed replica

    # A supervisor that dies (SIGKILL) takes its containers with it, as it takes its processes.
    script = textwrap.dedent(f'''
        import sys
        from arena_run.local import engine as engines
        from arena_run.local.containers import ContainerRunner
        from arena_run.local.runner import Launch
        runner = ContainerRunner({str(tmp_path / "state")!r}, engines.find())
        runner.start(Launch("sup-0", ["sh", "-c", "sleep 300"], {{}}, "/", [], 2**20, {str(tmp_path / "s.log")!r},
                            {str(tmp_path / "s")!r}, {{"image": {busybox_image!r}, "container_name": "arena-run-"
                            + {uuid.uuid4().hex[:8]!r} + "-sup-0-0", "labels": {test_labels!r}}}))
        print("started", flush=True)
        sys.stdin.read()
    ''')
    sup = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sup.stdout.readline().strip() == "started"
        assert [s.running for s in engine.containers(test_labels)] == [True]
    finally:
        sup.kill()
        sup.wait()
    until(lambda: engine.containers(test_labels) == [], timeout=30, interval=0.05, what="the orphan's removal")


def test_sweep_removes_what_one_state_directory_made(engine, busybox_image, test_labels, tmp_path):
    mine, theirs = str(tmp_path / "mine"), str(tmp_path / "theirs")
    for root, n in ((mine, 2), (theirs, 1)):
        for i in range(n):
            engine.run(engines.Container(
                name=f"arena-run-test-{uuid.uuid4().hex[:8]}", image=busybox_image, argv=["sleep", "300"],
                labels={**test_labels, engines.MANAGED: "true", engines.LABEL + "store": store_label(root),
                        engines.LABEL + "experiment": "exp"}))
    engine.create_network(f"arena-run-test-{uuid.uuid4().hex[:8]}", {
        **test_labels, engines.MANAGED: "true", engines.LABEL + "store": store_label(mine)})
    assert sweep(engine, mine, "other") == 0
    assert sweep(engine, mine) == 3
    left = engine.containers(test_labels)
    assert [s.labels[engines.LABEL + "store"] for s in left] == [store_label(theirs)]
    assert engine.networks(test_labels) == []
    assert os.path.realpath(mine) != os.path.realpath(theirs)
