"""Any character a file may hold reaches the live object as written.

Server-side apply patches are sent as JSON to a YAML decoder: JSON's surrogate
pairs (how json.dumps escapes a character outside the Basic Multilingual
Plane) are not YAML, and the API server refused them ("found invalid Unicode
character escape code") — found by test_convergence's property.
"""

from __future__ import annotations

import pytest

from arena_run import api
from cluster_helpers import kubectl_json
from tests import experiments

VALUES = {
    "ASTRAL": "a\U00025f85b \U0001f600",           # outside the BMP: surrogate pairs in JSON
    "LOOKALIKE": "\\ud83d\\ude00 and \\\\ud83d",     # the escape's text itself, not a character
    "BREAKS": "x\u0085y\u2028z",                    # YAML line breaks, escaped as JSON writes them
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_env_value_lands_as_written(kube, cluster, namespace, tmp_path, name):
    path = experiments.write(tmp_path / "arena.toml", experiments.experiment(
        "uni", namespace, env={name: VALUES[name]}))
    plans = api.plan(kube, path)
    api.apply(kube, plans)
    job = kubectl_json(cluster, "get", "tfjob", "uni", "-n", namespace)
    env = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": name, "value": VALUES[name]} in env
    assert [p.to_review for p in api.plan(kube, path)] == [False]
