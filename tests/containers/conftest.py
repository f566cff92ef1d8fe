"""Real engines for the container tests: Podman with this machine's containers.conf, a private dockerd
(dockerd.py), and the test images in each.

The engine is Podman unless a test parametrizes `engine_name` over ("podman", "docker"); then the same test
runs against each, arena-run told which by ARENA_RUN_CONTAINER_ENGINE (and DOCKER_HOST for dockerd).
An engine missing: the tests skip with one line saying how to get it, except under CI (CI=true), where they
fail; tests/run installs both there.  Every test labels what it makes with its own id and removes all of it
afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from . import images

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


ENGINES = ("podman", "docker")  # for @pytest.mark.parametrize("engine_name", ENGINES)


def _need(program: str, why: str) -> None:
    if shutil.which(program) is None:
        if IN_CI:
            pytest.fail(f"CI=true: {why}", pytrace=False)
        pytest.skip(why)


def _need_podman() -> None:
    _need("podman", "Podman is not installed (apt-get install -y podman runc; tests/run does it)")


@pytest.fixture(scope="session")
def podman_conf():
    """CONTAINERS_CONF for this whole session: the three settings this machine's kernel needs."""
    _need_podman()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTAINERS_CONF", str(images.CONF))
        mp.setenv("ARENA_RUN_CONTAINER_ENGINE", "podman")
        yield str(images.CONF)


def _image(name: str, build=lambda name: images.ensure(name)[0]) -> str:
    try:
        return build(name)
    except images.ImageUnavailable as e:
        if IN_CI:
            pytest.fail(f"CI=true: the {name} test image cannot be built: {e}", pytrace=False)
        pytest.skip(f"the {name} test image cannot be built: {e}")


def _start_dockerd(directory, path: str = ""):
    _need("dockerd", "dockerd is not installed (apt-get install -y docker.io; tests/run does it)")
    _need("docker", "the docker client is not on PATH (apt-get install -y docker.io)")
    from .dockerd import Dockerd

    daemon = Dockerd(directory, path)
    try:
        yield daemon
        left = daemon.leftovers()
    finally:
        daemon.stop()
    assert left == [] and daemon.mounts() == [], f"left in dockerd: {left} {daemon.mounts()}"


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory):
    """One private dockerd for the session (dockerd.py), with no GPU runtime (none is on this machine); at
    its end nothing of the tests is left in it, and nothing of it is left on the machine."""
    yield from _start_dockerd(tmp_path_factory.mktemp("dockerd"))


# A stand-in for the NVIDIA Container Toolkit's hook: dockerd 20.10 turns a `--gpus` request into
# NVIDIA_VISIBLE_DEVICES=<the request's device IDs> in the container's env and this prestart hook, which
# would give the container those GPUs; this one reads the container's state and does nothing.
FAKE_NVIDIA_HOOK = "#!/bin/sh\ncat >/dev/null\nexit 0\n"


@pytest.fixture(scope="session")
def dockerd_with_gpu_hook(tmp_path_factory):
    """A second private dockerd that finds (the stand-in of) nvidia-container-runtime-hook on its PATH."""
    directory = tmp_path_factory.mktemp("dockerd-gpu")
    hook = directory / "bin" / "nvidia-container-runtime-hook"
    hook.parent.mkdir()
    hook.write_text(FAKE_NVIDIA_HOOK)
    hook.chmod(0o755)
    yield from _start_dockerd(directory, f"{hook.parent}:{os.environ.get('PATH', '')}")


@pytest.fixture
def docker_daemon(request):
    """The dockerd a Docker test runs against: `dockerd`, or the fixture it names by indirect parametrize."""
    return request.getfixturevalue(getattr(request, "param", "dockerd"))


@pytest.fixture
def engine_name() -> str:
    """The engine a test runs against: Podman, unless the test parametrizes this over ENGINES."""
    return "podman"


@pytest.fixture
def engine_env(engine_name, request, monkeypatch) -> dict[str, str]:
    """What arena-run (and this process's Engine) is told to reach the test's engine."""
    if engine_name == "podman":
        request.getfixturevalue("podman_conf")
        env = {"CONTAINERS_CONF": str(images.CONF), "ARENA_RUN_CONTAINER_ENGINE": "podman"}
    else:
        daemon = request.getfixturevalue("docker_daemon")
        env = {"ARENA_RUN_CONTAINER_ENGINE": "docker", "DOCKER_HOST": daemon.host}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _test_image(name: str, engine_name: str, request) -> str:
    if engine_name == "podman":
        return request.getfixturevalue(f"podman_{name}_image")
    daemon = request.getfixturevalue("docker_daemon")
    return _image(name, lambda n: images.ensure_docker(n, daemon.env()))


@pytest.fixture(scope="session")
def podman_busybox_image(podman_conf) -> str:
    return _image("busybox")


@pytest.fixture(scope="session")
def podman_python_image(podman_conf) -> str:
    return _image("python")


@pytest.fixture
def busybox_image(engine_name, engine_env, request) -> str:
    return _test_image("busybox", engine_name, request)


@pytest.fixture
def python_image(engine_name, engine_env, request) -> str:
    return _test_image("python", engine_name, request)


@pytest.fixture(scope="session")
def tools_image(podman_conf) -> str:
    return _image("tools")


@pytest.fixture
def engine(engine_env):
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
def clocal(tmp_path, engine_env, engine):
    """The local target's CLI as a user runs it, with --container's engine set up for this machine;
    afterwards every experiment is deleted and nothing of its state directory is left on the engine."""
    from arena_run.local.containers import store_label
    from arena_run.local.engine import LABEL, MANAGED

    from ..local.conftest import Local

    loc = Local(tmp_path)
    loc.env.update(engine_env)
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
