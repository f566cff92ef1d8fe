"""`arena-run init`: writes only what it was asked to, never through a link, both files or neither.

Every refusal is one line on stderr, exit status 1, and leaves the directory
as it was.  The tests run as root too, where permission bits do not bite: a
read-only directory is then tried with CAP_DAC_OVERRIDE dropped (setpriv),
and a failure half-way (the second file cannot be written) is a real one: a
file-size limit the schema does not fit in.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys

import pytest

from arena_run.spec.load import load

from .conftest import ROOT


def listing(directory) -> dict:
    """Every entry below directory: name -> ('link', target) or ('file', bytes)."""
    out = {}
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        out[entry] = ("link", os.readlink(path)) if os.path.islink(path) else (
            ("dir", listing(path)) if os.path.isdir(path) else ("file", open(path, "rb").read()))
    return out


def refused(run_cli, *args, before, directory, says):
    code, out, err = run_cli("init", *args)
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and says in err and "Traceback" not in err, err
    assert listing(directory) == before, "init wrote something although it refused"


def test_yaml_path_gets_yaml(run_cli, tmp_path):
    code, out, err = run_cli("init", "--name", "null", str(tmp_path / "arena.yaml"))
    assert code == 0, err
    text = (tmp_path / "arena.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./arena.schema.json")
    assert load(str(tmp_path / "arena.yaml")).name == "null"  # quoted: YAML would read null otherwise
    assert (tmp_path / "arena.schema.json").is_file()
    assert run_cli("validate", str(tmp_path))[0] == 0


def test_not_a_toml_or_yaml_file(run_cli, tmp_path):
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = listing(tmp_path)
    refused(run_cli, "--force", str(tmp_path / "notes.txt"), before=before, directory=tmp_path,
            says="ends in .toml or .yaml")


def test_nothing_replaced_without_force(run_cli, tmp_path):
    (tmp_path / "arena.toml").write_text("mine\n")
    before = listing(tmp_path)
    refused(run_cli, str(tmp_path), before=before, directory=tmp_path, says="arena.toml exists")
    assert not (tmp_path / "arena.schema.json").exists()


def test_a_different_schema_is_not_replaced_without_force(run_cli, tmp_path):
    (tmp_path / "arena.schema.json").write_text("{}\n")
    before = listing(tmp_path)
    refused(run_cli, str(tmp_path), before=before, directory=tmp_path, says="arena.schema.json exists")
    assert run_cli("init", "--force", str(tmp_path))[0] == 0
    assert (tmp_path / "arena.schema.json").read_text() != "{}\n" and (tmp_path / "arena.toml").is_file()


def test_the_same_schema_is_left_as_it_is(run_cli, tmp_path):
    assert run_cli("init", str(tmp_path))[0] == 0
    (tmp_path / "arena.toml").unlink()
    code, out, _ = run_cli("init", str(tmp_path))
    assert code == 0 and "already the current schema" in out


def test_links_are_never_followed(run_cli, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "schema.json").write_text("theirs\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "arena.schema.json").symlink_to(outside / "schema.json")
    (project / "arena.toml").symlink_to(outside / "dangling.toml")  # points at nothing yet
    before = listing(tmp_path)
    refused(run_cli, str(project), before=before, directory=tmp_path, says="exists (a link)")

    code, _, err = run_cli("init", "--force", str(project))
    assert code == 0, err
    # The links themselves were replaced; what they pointed at is untouched.
    assert listing(outside) == {"schema.json": ("file", b"theirs\n")}
    assert not (project / "arena.toml").is_symlink() and not (project / "arena.schema.json").is_symlink()
    assert run_cli("validate", str(project))[0] == 0


@pytest.mark.parametrize("name,says", [
    ("Bad_Name", "lowercase DNS label"),
    ("ab\n", "lowercase DNS label"),
    ("a" * 60, "a" * 60 + "-tensorboard"),  # valid alone, too long in what it names
])
def test_a_bad_name_writes_nothing(run_cli, tmp_path, name, says):
    refused(run_cli, "--name", name, str(tmp_path), before={}, directory=tmp_path, says=says)


def test_a_missing_directory(run_cli, tmp_path):
    refused(run_cli, str(tmp_path / "no" / "such" / "arena.toml"), before={}, directory=tmp_path,
            says="does not exist")
    refused(run_cli, str(tmp_path / "no" / "new-project") + "/", before={}, directory=tmp_path,
            says="does not exist")


def test_a_directory_named_as_one_is_made(run_cli, tmp_path):
    """Issue 18: `arena-run init my-project/` failed unless the directory existed, though the tour runs it so."""
    code, out, err = run_cli("init", str(tmp_path / "my-project") + "/")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "my-project").iterdir()) == ["arena.schema.json", "arena.toml"]
    assert "name = \"my-project\"" in (tmp_path / "my-project" / "arena.toml").read_text()


def test_a_directory_that_is_a_file(run_cli, tmp_path):
    (tmp_path / "file").write_text("x\n")
    before = listing(tmp_path)
    refused(run_cli, str(tmp_path / "file" / "arena.toml"), before=before, directory=tmp_path,
            says="is not a directory")


def _cli(*args, preexec_fn=None, prefix=()):
    return subprocess.run([*prefix, sys.executable, "-m", "arena_run", *args], capture_output=True, text=True,
                          cwd=ROOT, preexec_fn=preexec_fn)


def test_a_read_only_directory(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    prefix: tuple = ()
    if os.geteuid() == 0:
        # root writes anywhere by CAP_DAC_OVERRIDE: drop it, so the mode bites.
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root: setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE"
        prefix = (setpriv, "--inh-caps=-dac_override", "--bounding-set=-dac_override", "--")
    try:
        result = _cli("init", str(directory), prefix=prefix)
    finally:
        directory.chmod(0o755)
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and "Permission denied" in result.stderr, result.stderr
    assert listing(directory) == {}


def test_both_files_or_neither(tmp_path):
    # The starter fits in 4 KiB, the schema does not: its write fails (EFBIG)
    # after the starter's temporary file was written.
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = _cli("init", str(tmp_path), preexec_fn=limit)
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and "File too large" in result.stderr, result.stderr
    assert listing(tmp_path) == {}
