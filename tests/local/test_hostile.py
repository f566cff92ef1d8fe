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

from ..conftest import ROOT


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


JOB = 'name = "envs"\n[[data]]\npvc = "out"\nmount = "/out"\n[job]\nimage = "i"\ncommand = "true"\n'


@pytest.mark.parametrize("var, value, said", [
    ("XDG_STATE_HOME", "{file}", "XDG_STATE_HOME='{file}': {file} is a file"),
    ("XDG_STATE_HOME", "{file}/below", "XDG_STATE_HOME='{file}/below': {file} is a file"),
    ("XDG_STATE_HOME", "relative/dir", "XDG_STATE_HOME='relative/dir' is not an absolute path"),
    ("XDG_DATA_HOME", "{file}", "XDG_DATA_HOME='{file}': {file} is a file"),
    ("XDG_DATA_HOME", "relative", "XDG_DATA_HOME='relative' is not an absolute path"),
    ("ARENA_RUN_LOCAL_CPUS", "abc", "ARENA_RUN_LOCAL_CPUS='abc': expected a whole number of cores"),
    ("ARENA_RUN_LOCAL_CPUS", "0", "ARENA_RUN_LOCAL_CPUS='0': expected a whole number of cores"),
    ("ARENA_RUN_LOCAL_CPUS", "²", "ARENA_RUN_LOCAL_CPUS='²': expected a whole number of cores"),
])
def test_an_unusable_environment_variable_is_one_line_and_nothing_starts(local, tmp_path, var, value, said):
    """Issue 18 item 11: XDG_STATE_HOME naming a file was `internal error: NotADirectoryError`, exit 2;
    ARENA_RUN_LOCAL_CPUS=abc left the job Pending for ever."""
    file = tmp_path / "a-file"
    file.write_text("")
    f = local.write("envs", JOB)
    env = {var: value.format(file=file)}
    result = local.cli("apply", "--local", "-y", f, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert said.format(file=file) in result.stderr, result.stderr
    assert "internal error" not in result.stderr
    assert local.store().names() == []
    if var == "XDG_STATE_HOME":
        status = local.cli("status", "--local", env=env)
        assert status.returncode == 1 and status.stderr.count("\n") == 1, status.stderr
        assert said.format(file=file) in status.stderr


def test_replicas_get_the_users_path_not_arena_runs_virtualenv(local, tmp_path):
    """Issue 18: with arena-run in a virtualenv whose bin is first on PATH, a job's `python3` was
    arena-run's interpreter.  arena-run here runs from a fresh virtualenv, activated as a user would."""
    import sys

    venv = tmp_path / "tool-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    f = local.write("paths", 'name = "paths"\n[[data]]\npvc = "out"\nmount = "/out"\n[job]\nimage = "i"\n'
                    'command = "echo $PATH > /out/path; echo ${VIRTUAL_ENV:-none} > /out/venv"\n')
    env = {**local.env, "PATH": f"{venv / 'bin'}{os.pathsep}{local.env['PATH']}", "VIRTUAL_ENV": str(venv)}
    result = subprocess.run([str(python), "-m", "arena_run", "apply", "--local", "-y", "--wait", str(f)],
                            cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    path = (local.volume("out") / "path").read_text().strip().split(os.pathsep)
    assert str(venv / "bin") not in path and path == local.env["PATH"].split(os.pathsep)
    assert (local.volume("out") / "venv").read_text().strip() == "none"


def test_a_working_dir_through_a_host_link_stays_in_the_sandbox(local, tmp_path):
    """Issue 18 item 2: `working_dir` through a symlinked host directory: the job's `echo changed > keep`
    rewrote the host's file, and code/ was missing."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep").write_text("host\n")
    (tmp_path / "link").symlink_to(real)
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("pass\n")
    f = local.write("wd", f'''name = "wd"
[code]
rsync = "{src}/"
[[data]]
pvc = "out"
mount = "/out"
[job]
image = "i"
working_dir = "{tmp_path}/link"
command = "cat keep > /out/seen; echo changed > keep; ls code > /out/code; pwd -P > /out/pwd"
''')
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (real / "keep").read_text() == "host\n"
    out = local.volume("out")
    assert (out / "seen").read_text() == "host\n"  # the host's files are seen, as through an overlay
    assert (out / "code").read_text().split() == ["train.py"]
    assert (out / "pwd").read_text().strip() == str(real)
    assert sorted(p.name for p in real.iterdir()) == ["keep"]


def test_a_data_mount_through_a_host_link_lands_in_the_volume(local, tmp_path):
    """Issue 18 item 2: a [[data]] mount through a symlink wrote into the host directory and the
    volume stayed empty."""
    host = tmp_path / "host-dir"
    host.mkdir()
    (tmp_path / "link").symlink_to(host)
    f = local.write("mnt", f'''name = "mnt"
[[data]]
pvc = "out"
mount = "{tmp_path}/link/out"
[job]
image = "i"
command = "echo written > {tmp_path}/link/out/f"
''')
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(host.iterdir()) == []
    assert (local.volume("out") / "f").read_text() == "written\n"


def test_a_sub_path_never_follows_a_link_a_job_left_in_its_volume(local, tmp_path):
    """A PVC outlives its job: a link `sub -> <host dir>` left in it must not turn a later job's
    subPath into a bind of the host directory (kubelet's CVE-2017-1002101)."""
    host = tmp_path / "host-dir"
    host.mkdir()
    volume = local.volume("out")
    volume.mkdir(parents=True)
    (volume / "sub").symlink_to(host)
    f = local.write("sub", '''name = "sub"
[[data]]
pvc = "out"
mount = "/out"
sub_path = "sub/deeper"
[job]
image = "i"
command = "echo written > /out/f"
''')
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sub is a symbolic link in the volume" in result.stderr, result.stderr
    assert list(host.iterdir()) == []


def test_what_the_process_runner_isolates_and_what_it_does_not(local, tmp_path):
    """docs/local.md, "Not a security boundary", statement by statement: its own processes, /dev/shm and
    working directory; the rest of the host's filesystem is the host's, and written."""
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "keep").write_text("host\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = f"arena-run-isolation-{os.getpid()}"
    f = local.write("iso", f'''name = "iso"
[[data]]
pvc = "out"
mount = "/out"
[job]
image = "i"
working_dir = "{wd}"
command = "echo job > keep; echo x > /dev/shm/{marker}; echo $$ > /out/pid; ls /proc | grep -c '^[0-9]' > /out/procs; echo job > {outside}/written"
''')
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 0, result.stdout + result.stderr
    out = local.volume("out")
    assert (wd / "keep").read_text() == "host\n"  # the working directory: an overlay
    assert not os.path.exists(f"/dev/shm/{marker}")  # /dev/shm: its own
    assert int((out / "pid").read_text()) < 10 and int((out / "procs").read_text()) < 10  # its own processes
    assert (outside / "written").read_text() == "job\n"  # the rest: the host's own, as README says
