"""Requests do not grow with the number of experiments (the time they take is measured in bench/scale.py).

Reading a namespace is one LIST per kind however many experiments it holds:
status, top job, plan of a directory (before and after it is applied; before,
each object to create also goes through a server-side dry run), an
unchanged re-apply, prune and data list each make the same requests for 2
experiments as for 6.
"""

from __future__ import annotations

from arena_run import api
from tests import experiments


def write(tmp_path, ns, name, command="sleep 3600"):
    return experiments.write(tmp_path / name / "arena.toml", experiments.experiment(name, ns, command=command,
                                                                                    tensorboard=True))


def requests(kube, fn) -> dict:
    kube.requests.clear()
    fn()
    return dict(kube.requests)


def readings(kube, ns, directory) -> dict:
    return {
        "status": requests(kube, lambda: api.status(kube, namespace=ns)),
        "top job": requests(kube, lambda: api.top_jobs(kube, namespace=ns)),
        "plan": requests(kube, lambda: api.plan(kube, directory)),
        "re-apply": requests(kube, lambda: api.apply(kube, directory)),
        "prunable": requests(kube, lambda: api.prunable(kube, "1d", namespace=ns)),
        "data": requests(kube, lambda: api.data(kube, namespace=ns)),
    }


def grow(kube, ns, directory, n) -> dict:
    """n experiments in directory, applied to ns; the requests of planning them before they were."""
    directory.mkdir()
    for i in range(n):
        write(directory, ns, f"e{i}")
    before = requests(kube, lambda: api.plan(kube, str(directory)))
    api.apply(kube, str(directory))
    assert len(api.status(kube, namespace=ns)) == n
    return before


def test_requests_are_the_same_for_2_and_6_experiments(cluster, kube, namespace, tmp_path):
    other = f"{namespace}-2"
    cluster.run_kubectl("create", "namespace", other)
    try:
        fresh = {2: grow(kube, other, tmp_path / "two", 2), 6: grow(kube, namespace, tmp_path / "six", 6)}
        counts = {2: readings(kube, other, str(tmp_path / "two")), 6: readings(kube, namespace, str(tmp_path / "six"))}
    finally:
        cluster.run_kubectl("delete", "namespace", other, "--wait=false", check=False)
    # Reads are constant; the plan's server-side dry run is one PATCH per object to create (3 per experiment).
    assert fresh[2]["GET"] == fresh[6]["GET"]
    assert (fresh[2]["PATCH"], fresh[6]["PATCH"]) == (2 * 3, 6 * 3)
    assert counts[2] == counts[6]
    assert counts[6]["re-apply"].keys() == {"GET"}  # unchanged: reads only, not a single write
