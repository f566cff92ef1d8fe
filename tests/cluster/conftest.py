"""The `cluster` fixture: a real control plane, started once per session.

Without Go (and without cached binaries) cluster tests skip with one line
saying why; with CI=true they fail instead, as does any failure to build or
start. Set ARENA_RUN_TEST_CLUSTER=DIR to use a control plane already started
with `tests/cluster/up DIR` (no startup cost per pytest run).
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arena_testcluster import build, cluster as control_plane  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "cluster: runs against the real Kubernetes control plane of tests/cluster "
        "(built from Go modules; needs Go >= 1.26 unless cached)",
    )


def pytest_collection_modifyitems(items):
    # Every test that uses the control plane is a cluster test, so that
    # `-m "not cluster"` leaves out exactly those.
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> control_plane.Cluster:
    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    if reuse:
        try:
            c = control_plane.Cluster.load(reuse)
            c.check_ready()
        except Exception as e:
            pytest.fail(f"ARENA_RUN_TEST_CLUSTER={reuse}: {e}", pytrace=False)
        yield c
        return

    dir = tmp_path_factory.mktemp("control-plane")
    try:
        c = control_plane.up(dir, die_with_parent=True)
    except build.GoMissing as e:
        if IN_CI:
            pytest.fail(f"CI=true but the control plane cannot be built: {e}", pytrace=False)
        pytest.skip(f"cluster tests: {e}")
    except Exception as e:
        pytest.fail(f"the control plane did not come up: {e}\n(logs: {dir / 'logs'})",
                    pytrace=False)
    try:
        yield c
    finally:
        # Logs stay in pytest's tmp dir for a post-mortem.
        control_plane.down(dir, keep_logs=True)


@pytest.fixture
def namespace(cluster) -> str:
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.run_kubectl("create", "namespace", name)
    yield name
    cluster.run_kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kube(cluster, monkeypatch):
    """arena-run's own connection to the control plane; KUBECONFIG points there for the CLI too."""
    from arena_run.cluster import connect

    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    return connect(str(cluster.kubeconfig))
