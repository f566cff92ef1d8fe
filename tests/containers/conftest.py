"""Real Podman for the container tests: the engine, this machine's containers.conf, the test images.

Podman missing: the tests skip with one line saying how to get it, except
under CI (CI=true), where they fail; tests/run installs it there.  Every
test labels what it makes with its own id and removes all of it afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from . import images

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _need_podman() -> None:
    if shutil.which("podman") is None:
        why = "Podman is not installed (apt-get install -y podman runc; tests/run does it)"
        if IN_CI:
            pytest.fail(f"CI=true: {why}", pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope="session")
def podman_conf():
    """CONTAINERS_CONF for this whole session: the three settings this machine's kernel needs."""
    _need_podman()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTAINERS_CONF", str(images.CONF))
        mp.setenv("ARENA_RUN_CONTAINER_ENGINE", "podman")
        yield str(images.CONF)


def _image(name: str) -> str:
    try:
        ref, _ = images.ensure(name)
    except images.ImageUnavailable as e:
        if IN_CI:
            pytest.fail(f"CI=true: the {name} test image cannot be built: {e}", pytrace=False)
        pytest.skip(f"the {name} test image cannot be built: {e}")
    return ref


@pytest.fixture(scope="session")
def busybox_image(podman_conf) -> str:
    return _image("busybox")


@pytest.fixture(scope="session")
def python_image(podman_conf) -> str:
    return _image("python")


@pytest.fixture(scope="session")
def tools_image(podman_conf) -> str:
    return _image("tools")


@pytest.fixture
def engine(podman_conf):
    from arena_run.local import engine as engine_mod

    return engine_mod.find()


@pytest.fixture
def test_labels(engine):
    """Labels naming this test; whatever carries them is removed afterwards."""
    labels = {"arena-run.io/test": uuid.uuid4().hex[:12]}
    yield labels
    engine.remove(*[s.id for s in engine.containers(labels)])
    engine.remove_network(*engine.networks(labels))
    engine.remove_volume(*engine.volumes(labels))


@pytest.fixture
def clocal(tmp_path, podman_conf, engine):
    """The local target's CLI as a user runs it, with --container's engine set up for this machine;
    afterwards every experiment is deleted and nothing of its state directory is left on the engine."""
    from arena_run.local.containers import store_label
    from arena_run.local.engine import LABEL, MANAGED

    from ..local.conftest import Local

    loc = Local(tmp_path)
    loc.env.update({"CONTAINERS_CONF": podman_conf, "ARENA_RUN_CONTAINER_ENGINE": "podman"})
    yield loc
    for name in loc.store().names():
        loc.cli("delete", "--local", "-y", name)
    labels = {MANAGED: "true", LABEL + "store": store_label(str(loc.state / "arena-run"))}
    left = engine.containers(labels)
    engine.remove(*[s.id for s in left])
    assert left == [], f"left behind: {[s.name for s in left]}"


@pytest.fixture
def cdi_gpus(clocal):
    """Three stand-in GPUs (the fake nvidia-smi), and a CDI spec naming GPUs 1 and 2 by UUID, each device's
    edit an env FAKE_CDI_GPU=cdi-<uuid> (Podman 4.3 reads /etc/cdi and /var/run/cdi only); CUDA_VISIBLE_DEVICES
    gives arena-run those two: GPU 0 is left out, its UUID is a real H200's.  Yields their UUIDs."""
    clocal.fake_gpus(3)
    smi = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid", "--format=csv,noheader"], env=clocal.env,
                         capture_output=True, text=True, check=True).stdout
    uuids = [line.split(",")[1].strip() for line in smi.splitlines()][1:]
    clocal.env["CUDA_VISIBLE_DEVICES"] = "1,2"
    spec = f"/var/run/cdi/arena-run-test-{uuid.uuid4().hex[:8]}.yaml"
    os.makedirs("/var/run/cdi", exist_ok=True)
    with open(spec, "w") as fh:
        fh.write('cdiVersion: "0.5.0"\nkind: nvidia.com/gpu\ndevices:\n' + "".join(
            f'  - name: {u}\n    containerEdits:\n      env: ["FAKE_CDI_GPU=cdi-{u}"]\n' for u in uuids))
    try:
        yield uuids
    finally:
        os.unlink(spec)


@pytest.fixture
def docker_api(tmp_path_factory, podman_conf):
    """The docker CLI's Engine API, answered by Podman through a recording proxy (docker_api.py)."""
    from .docker_api import DockerAPI

    if shutil.which("docker") is None:
        why = "the docker client is not on PATH (this kind of machine has it; apt-get install -y docker.io)"
        if IN_CI:
            pytest.fail(f"CI=true: {why}", pytrace=False)
        pytest.skip(why)
    api = DockerAPI(tmp_path_factory.mktemp("docker"), {**os.environ, "CONTAINERS_CONF": podman_conf})
    yield api
    api.stop()
