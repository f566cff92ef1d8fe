"""The architecture, enforced: layers point one way, and the validate path stays light."""

import json
import os
import shutil
import subprocess
import sys

from .conftest import ROOT


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")
    result = subprocess.run([lint, "pyproject.toml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "broken" in result.stdout and "0 broken" in result.stdout


def _modules_after(*argv: str) -> set:
    code = (
        "import sys, json\n"
        "from arena_run.cli import main\n"
        f"rc = main({list(argv)!r})\n"
        "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    return result["rc"], set(result["modules"])


def test_validating_a_good_file_loads_only_what_it_needs():
    rc, modules = _modules_after("validate", "examples/tf-git/arena.toml")
    assert rc == 0
    heavy = {"kubernetes", "urllib3", "ssl", "rich", "jsonschema", "yaml", "tree_sitter", "tree_sitter_toml",
             "arena_run.render", "arena_run.cluster"}
    assert not heavy & modules, heavy & modules


def test_cluster_commands_on_a_kubeconfig_with_a_token_never_load_the_kubernetes_package(tmp_path, monkeypatch):
    """Its loader (a fifth of a second of imports) is for exec plugins and auth providers only
    (tests/cluster/test_credentials.py has those, and every static kind, against a real API server)."""
    config = tmp_path / "config"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1"}}],  # nothing listens there
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "n"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(config))
    for argv in (["status"], ["plan", "examples/quickstart"], ["apply", "--yes", "examples/quickstart"],
                 ["top", "job"], ["delete", "--yes", "quickstart"]):
        rc, modules = _modules_after(*argv)
        assert rc == 1, argv  # connection refused, said in one line
        assert "urllib3" in modules, argv  # a request was really attempted
        assert not {m for m in modules if m.split(".")[0] in ("kubernetes", "jsonschema", "tree_sitter")}, argv


def test_positions_are_computed_only_for_bad_files(tmp_path):
    bad = tmp_path / "arena.toml"
    bad.write_text('name = "x"\n[job]\nimage = "i"\ncommand = "c"\ngpu = 1\n')
    rc, modules = _modules_after("validate", str(bad))
    assert rc == 1
    assert "tree_sitter_toml" in modules
    assert "kubernetes" not in modules and "rich" not in modules


def test_the_local_target_runs_without_the_kubernetes_client():
    """arena_run.local sits beside arena_run.cluster, not on it: the supervisor, the sandbox and the
    local view start without the kubernetes client (import-linter holds the static side)."""
    code = (
        "import sys, json\n"
        "import arena_run.local.supervisor, arena_run.local.sandbox, arena_run.local.view, arena_run.apply.local\n"
        "import arena_run.api as api\n"
        "api.local('/nonexistent').list(type('K', (), {'kind': 'TFJob'})())\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert json.loads(out.splitlines()[-1]) == []
