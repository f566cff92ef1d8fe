"""The arena-run-validate hook of .pre-commit-hooks.yaml, run by pre-commit itself.

`pre-commit try-repo` installs this repository as a hook (its HEAD plus
uncommitted changes, in pre-commit's own environment) and runs it in a
temporary git repository: a good file passes, a bad one fails with its located
problem, and files the hook is not for are left alone.  The first run installs
arena-run and its dependencies (a minute or two); the second reuses that.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT

GOOD = (ROOT / "examples" / "tf-git" / "arena.toml").read_text()
BAD = 'name = "bad"\n[job]\nimage = "busybox"\ncommand = "true"\ngpu = 1\n'


def test_the_hook_validates_experiment_files_and_nothing_else(tmp_path):
    repo = tmp_path / "repo"
    files = {
        "good/arena.toml": GOOD,
        "bad/arena.toml": BAD,
        "bad/arena.yaml": "name: bad\njob: {image: busybox, command: 'true', gpu: 1}\n",
        "pyproject.toml": "not = toml = at all\n",  # not an experiment file: the hook must not see it
        "notes.yaml": "[unclosed\n",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def hook(*args):
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "arena-run-validate", *args],
                              cwd=repo, capture_output=True, text=True, env={**os.environ, **env})

    ok = hook("--files", "good/arena.toml", "pyproject.toml", "notes.yaml")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "arena-run validate" in ok.stdout and "Passed" in ok.stdout

    bad = hook("--all-files")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad/arena.toml:5:1: job.gpu: unknown key 'gpu'; did you mean 'gpus'?" in bad.stdout
    assert "bad/arena.yaml:2:" in bad.stdout and "job.gpu" in bad.stdout
    # Files the hook is not for were not given to it.
    assert "pyproject.toml" not in bad.stdout and "notes.yaml" not in bad.stdout
