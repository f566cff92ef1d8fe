"""What apply refuses before it asks the cluster anything."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import yaml

from arena_run.apply import lock
from arena_run.cli import main

EXP = """
name = "exp"
namespace = "{ns}"
[job]
image = "busybox"
command = "true"
"""


def test_names_that_collide_after_namespace_are_refused_one_line_per_file(tmp_path, capsys, monkeypatch):
    for team in ("team-a", "team-b"):
        (tmp_path / team).mkdir()
        (tmp_path / team / "arena.toml").write_text(textwrap.dedent(EXP.format(ns=team)))
    # A cluster nobody answers at: the refusal must come before any request.
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(config))
    for command in ("plan", "apply"):
        code = main([command, "-y", "-n", "shared", str(tmp_path)] if command == "apply"
                    else [command, "-n", "shared", str(tmp_path)])
        out, err = capsys.readouterr()
        assert code == 1
        a, b = tmp_path / "team-a" / "arena.toml", tmp_path / "team-b" / "arena.toml"
        assert err.splitlines() == [
            f"{a}:2:8: name: experiment 'exp' would write the same objects in namespace shared (--namespace shared) "
            f"as 'exp' of {b}: rename one of them",
            f"{b}:2:8: name: experiment 'exp' would write the same objects in namespace shared (--namespace shared) "
            f"as 'exp' of {a}: rename one of them",
        ]
    # Without --namespace each stays in its own: no clash.
    assert main(["plan", str(tmp_path)]) == 1
    assert "would write the same objects" not in capsys.readouterr().err


# --- the apply lock: when is a holder gone ------------------------------------------

def parent_with(marker, experiment_json=None):
    return {"metadata": {"annotations": {lock.LOCK: json.dumps(marker)}},
            "data": {"experiment.json": experiment_json} if experiment_json else {}}


def test_a_running_holder_on_this_host_holds_and_a_finished_one_does_not():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    marker = {**lock.new_marker(first=False), "pid": proc.pid}
    try:
        assert lock.held_by(parent_with(marker), frozenset(), None) == marker
    finally:
        proc.communicate(b"")
    assert lock.held_by(parent_with(marker), frozenset(), None) is None


def test_this_process_holds_only_while_its_apply_runs():
    marker = lock.new_marker(first=False)
    with lock._active_lock:
        lock._active.add(marker["token"])
    assert lock.held_by(parent_with(marker), frozenset(), None) == marker
    lock.release_token(marker)
    assert lock.held_by(parent_with(marker), frozenset(), None) is None


def test_another_hosts_lock_holds_until_its_lease_ends():
    marker = {**lock.new_marker(first=False), "host": "elsewhere", "pid": 1}
    assert lock.held_by(parent_with(marker), frozenset(), None) == marker
    marker["until"] = "2000-01-01T00:00:00Z"
    assert lock.held_by(parent_with(marker), frozenset(), None) is None


def test_a_first_apply_is_done_once_every_object_it_creates_exists():
    marker = {**lock.new_marker(first=True), "host": "elsewhere", "pid": 1}
    keys = lambda text: [("TFJob.kubeflow.org", "ns", "a"), ("Service", "ns", "b")]  # noqa: E731
    parent = parent_with(marker, "{}")
    assert lock.held_by(parent, frozenset({("TFJob.kubeflow.org", "ns", "a")}), keys) == marker
    assert lock.held_by(parent, frozenset(keys("")), keys) is None


def test_describe_says_who_and_since_when():
    marker = {**lock.new_marker(first=False), "holder": "ana@laptop", "pid": 42, "since": "2026-01-01T00:00:00Z"}
    assert lock.describe(marker).startswith("ana@laptop (pid 42) since 2026-01-01T00:00:00Z (")
    assert socket.gethostname() == lock.new_marker(first=True)["host"]


def test_every_name_the_api_exports_is_there():
    # `from arena_run.api import *` in a notebook: each name of __all__, the lazily imported local types too.
    import arena_run.api as api

    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
