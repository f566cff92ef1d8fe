"""arena-run's Docker path through the real docker CLI, answered by Podman's Docker Engine API (docker_api.py).

No Docker engine runs on this kind of machine: these show the docker CLI accepting every flag arena-run
spells and the Engine API requests it makes of them, with Podman running the containers.  dockerd's own
behaviour (its runtime hooks, its messages) is not shown; test_engine_units.py has the words it says.
"""

from __future__ import annotations

import subprocess

from arena_run.local.engine import LABEL

from .test_local_containers import _mine

MEET = '''
name = "dockerjob"
[job]
type = "pytorch"
image = "{image}"
image_pull_policy = "Never"
workers = 2
{gpus}
command = """
echo "$HOSTNAME $CUDA_VISIBLE_DEVICES"
if [ "$RANK" = 0 ]; then exec nc -l -p "$MASTER_PORT" -e echo hello-from-the-master; fi
until echo | nc "$MASTER_ADDR" "$MASTER_PORT"; do sleep 0.1; done
"""
'''


def _docker(clocal, docker_api) -> dict[str, str]:
    return {"ARENA_RUN_CONTAINER_ENGINE": "docker", "DOCKER_HOST": docker_api.docker_host}


def test_a_distributed_job_through_the_docker_cli_meets_on_its_network_and_leaves_nothing(
        clocal, engine, busybox_image, docker_api):
    f = clocal.write("dockerjob", MEET.format(image=busybox_image, gpus=""))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, env=_docker(clocal, docker_api),
                        timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    worker = clocal.cli("logs", "--local", "dockerjob", "--role", "worker", check=True).stdout
    assert worker.splitlines()[-1] == "hello-from-the-master"
    sent = docker_api.proxy.requests()
    assert b"User-Agent: Docker-Client/" in sent  # the docker CLI spoke, not podman's
    uid = clocal.store().objects("dockerjob")[0]["uid"]
    created = docker_api.proxy.created()
    assert sorted(c["Hostname"] for c in created) == ["dockerjob-master-0", "dockerjob-worker-0"]
    for c in created:
        network = c["NetworkingConfig"]["EndpointsConfig"]
        assert list(network) == [f"arena-run-{uid}"] and c["Hostname"] in network[f"arena-run-{uid}"]["Aliases"]
        assert c["HostConfig"]["Init"] is True and c["Labels"][LABEL + "run"] == uid
    assert clocal.cli("delete", "--local", "-y", "dockerjob", env=_docker(clocal, docker_api)).returncode == 0
    ps = subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}"], capture_output=True, text=True,
                        check=True).stdout
    assert uid not in ps and engine.containers(_mine(clocal)) == [] and engine.networks(_mine(clocal)) == []


def test_each_replicas_gpus_reach_dockerd_as_its_own_device_request(clocal, busybox_image, docker_api):
    # Two GPUs a replica: a list of devices is what the docker CLI parses only as arena-run quotes it.
    clocal.fake_gpus(5)
    clocal.env["CUDA_VISIBLE_DEVICES"] = "1,2,3,4"
    f = clocal.write("dockerjob", MEET.format(image=busybox_image, gpus="gpus = 2"))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, env=_docker(clocal, docker_api),
                        timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    requests = {c["Hostname"]: c for c in docker_api.proxy.created()}
    given = {}
    for host, c in requests.items():
        (request,) = c["HostConfig"]["DeviceRequests"]
        assert request["Capabilities"] == [["gpu"]] and request["Count"] == 0
        env = dict(e.split("=", 1) for e in c["Env"])
        # the devices are the GPUs CUDA is told of
        assert request["DeviceIDs"] == env["CUDA_VISIBLE_DEVICES"].split(",")
        given[host] = request["DeviceIDs"]
    devices = [g for ids in given.values() for g in ids]
    assert len(devices) == len(set(devices)) == 4 and all(g.startswith("GPU-") for g in devices)  # disjoint
