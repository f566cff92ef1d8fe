"""KUBECONFIG=a:b merged as kubectl merges it (kubectl itself referees in tests/cluster/test_faults.py)."""

from __future__ import annotations

import json

import pytest

from arena_run.cluster import ClusterError, connect


def write(path, **config):
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", **config}))
    return str(path)


def cluster_entry(name, server, **extra):
    return {"name": name, "cluster": {"server": server, **extra}}


def context_entry(name, cluster, namespace=None):
    return {"name": name, "context": {"cluster": cluster, "user": "u", **({"namespace": namespace} if namespace else {})}}


USERS = [{"name": "u", "user": {"token": "t"}}]


def test_the_first_file_that_names_something_wins_and_missing_files_are_ignored(tmp_path, monkeypatch):
    a = write(tmp_path / "a", clusters=[cluster_entry("c", "https://first.example:6443")],
              contexts=[context_entry("one", "c", "from-a")], users=USERS)
    b = write(tmp_path / "b", **{"current-context": "two"},
              clusters=[cluster_entry("c", "https://second.example:6443"), cluster_entry("d", "https://d.example")],
              contexts=[context_entry("one", "d", "from-b"), context_entry("two", "c", "two-ns")],
              users=[{"name": "u", "user": {"token": "other"}}])
    c = write(tmp_path / "c", **{"current-context": "one"})
    monkeypatch.setenv("KUBECONFIG", ":".join([str(tmp_path / "missing"), a, "", b, c]))
    cluster = connect()
    # current-context from b (the first that sets it), context two from b, cluster c from a
    assert cluster.server == "https://first.example:6443"
    assert cluster.namespace == "two-ns"
    assert cluster.source == f"kubeconfig {a}:{b}:{c}, context two"
    one = connect(context="one")
    assert (one.server, one.namespace) == ("https://first.example:6443", "from-a")


def test_an_empty_file_adds_nothing(tmp_path, monkeypatch):
    (tmp_path / "empty").write_text("")
    b = write(tmp_path / "b", **{"current-context": "x"}, clusters=[cluster_entry("c", "https://b.example")],
              contexts=[context_entry("x", "c")], users=USERS)
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'empty'}:{b}")
    assert connect().server == "https://b.example"


def test_relative_paths_belong_to_the_file_that_holds_them(tmp_path, monkeypatch):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_text("not read until a request is made\n")
    a = write(tmp_path / "a", clusters=[cluster_entry("c", "https://a.example", **{"certificate-authority": "certs/ca.crt"})],
              users=USERS, contexts=[context_entry("x", "c")], **{"current-context": "x"})
    monkeypatch.chdir("/")
    monkeypatch.setenv("KUBECONFIG", a)
    cluster = connect()
    assert cluster.transport.endpoint.ca_file == str(tmp_path / "certs" / "ca.crt")


def test_bad_kubeconfigs_are_one_line(tmp_path, monkeypatch):
    (tmp_path / "list").write_text("- 1\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "list"))
    with pytest.raises(ClusterError, match=r"^cannot use kubeconfig: .*list: not a kubeconfig"):
        connect()
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'nope'}:{tmp_path / 'nope2'}")
    with pytest.raises(ClusterError, match="names no existing file"):
        connect()
    with pytest.raises(ClusterError, match="no such file"):
        connect(str(tmp_path / "nope"))
    c = write(tmp_path / "c", **{"current-context": "gone"}, clusters=[], contexts=[], users=[])
    with pytest.raises(ClusterError, match=r"^cannot use kubeconfig .*c: "):
        connect(c)
