"""A repository's arena.toml runs nothing on this machine that it did not ask for (issue 18).

The file may come from a colleague or a public repository.  Validation
refuses what git, rsync or the kernel would misread (options, command-running
transports, NULs); the local target itself calls git and rsync so that no
argument from the file can be an option and only fetching transports work,
so a record damaged by hand (that never went through validation) gets no
further than a located file would.
"""

from __future__ import annotations

import io
import os
import subprocess

import pytest

from arena_run.local import code
from arena_run.local.state import LocalError


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    (path / "train.py").write_text("print('hi')\n")
    subprocess.run(["git", "-C", str(path), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x"],
                   check=True, env=env)
    return path


def git_sync(repo: str, ref: str | None = None, link: str = "repo") -> dict:
    env = [{"name": "GITSYNC_REPO", "value": repo}, {"name": "GITSYNC_LINK", "value": link},
           {"name": "GITSYNC_DEPTH", "value": "1"}]
    if ref is not None:
        env.append({"name": "GITSYNC_REF", "value": ref})
    return {"name": "git-sync", "env": env}


def test_apply_refuses_a_ref_that_git_would_run_as_a_command(local, repo, tmp_path):
    """The issue's case: validate said ok and apply ran `git fetch ... --upload-pack=touch ...`."""
    marker = tmp_path / "pwned"
    f = local.write("pwn", f'''name = "pwn"
[code]
git = "file://{repo}"
ref = "--upload-pack=touch {marker}; git-upload-pack"
[job]
image = "i"
command = "true"
''')
    for verb in (("validate",), ("apply", "--local", "-y", "--wait")):
        result = local.cli(*verb, f)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.startswith(f"{f}:4:7: code.ref: "), result.stderr
    assert not marker.exists()
    assert local.store().names() == []


@pytest.mark.parametrize("field", ["ref", "repo"])
def test_code_sync_passes_no_argument_of_the_file_as_an_option(repo, tmp_path, field):
    """A record that never went through validation (written by hand) gets no further."""
    marker = tmp_path / "pwned"
    evil = f"--upload-pack=touch {marker}; git-upload-pack"
    init = git_sync(f"file://{repo}", evil) if field == "ref" else git_sync(evil, "main")
    with pytest.raises(LocalError, match="would be read as an option"):
        code.sync(init, str(tmp_path / "code"), str(tmp_path), io.BytesIO())
    assert not marker.exists()


@pytest.mark.parametrize("transport", ["ext::sh -c touch% {marker}", "fd::3"])
def test_git_may_not_use_a_transport_that_runs_a_command(repo, tmp_path, transport, monkeypatch):
    """Not even when the user's own git config allows it (protocol.allow = always)."""
    marker = tmp_path / "pwned"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[protocol]\n\tallow = always\n[protocol \"ext\"]\n\tallow = always\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    name = transport.split("::")[0]
    with open(tmp_path / "log", "w+b") as log:
        for ref in (None, "main"):
            with pytest.raises(LocalError, match="exited with status"):
                code.sync(git_sync(transport.format(marker=marker), ref), str(tmp_path / f"code-{ref}"),
                          str(tmp_path), log)
        log.seek(0)
        said = log.read().decode()
    assert not marker.exists()
    assert said.count(f"transport '{name}' not allowed") == 2, said


def test_a_checkout_never_lands_outside_the_code_directory(repo, tmp_path):
    for link in ("..", ".", "", "a/b"):
        with pytest.raises(LocalError, match="outside <working_dir>/code"):
            code.sync(git_sync(f"file://{repo}", link=link), str(tmp_path / "code"), str(tmp_path), io.BytesIO())
    assert os.listdir(tmp_path / "code") == []


def test_a_fetched_ref_is_checked_out(repo, tmp_path):
    """What the guards must leave working: a branch fetched by name, and a whole clone."""
    for ref in ("main", None):
        dest = tmp_path / f"code-{ref}"
        with open(tmp_path / "log", "ab") as log:
            code.sync(git_sync(f"file://{repo}", ref), str(dest), str(tmp_path), log)
        assert (dest / "repo" / "train.py").read_text() == "print('hi')\n"


@pytest.mark.parametrize("source", ["--rsh=touch {marker}", "-e touch {marker}"])
def test_an_rsync_source_is_never_an_option(tmp_path, source):
    marker = tmp_path / "pwned"
    init = {"name": "rsync", "command": ["rsync", "-a", source.format(marker=marker), "/code/"]}
    with pytest.raises(LocalError, match="would be read as an option"):
        code.sync(init, str(tmp_path / "code"), str(tmp_path), io.BytesIO())
    assert not marker.exists()
