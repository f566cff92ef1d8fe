"""The offline commands as a user meets them: exit codes, one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from .conftest import EXAMPLES, ROOT

BAD = 'name = "Bad"\n[job]\nimage = "i"\ncommand = "c"\ngpu = 1\ncpu = "lots"\n'


def cli(*args, cwd=ROOT, stdin=None):
    """The installed console script, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "arena_run", *args], cwd=cwd, capture_output=True, text=True)


def test_validate_examples_directory(run_cli):
    code, out, err = run_cli("validate", "examples")
    assert code == 0, err
    assert out.count(": ok") == len(EXAMPLES)


def test_validate_reports_every_problem_located(tmp_path):
    bad = tmp_path / "arena.toml"
    bad.write_text(BAD)
    result = cli("validate", str(bad))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:1:8: name: 'Bad' must be a lowercase DNS label: a-z, 0-9 and '-', starting with a letter",
        f"{bad}:5:1: job.gpu: unknown key 'gpu'; did you mean 'gpus'?",
        f"{bad}:6:7: job.cpu: 'lots' is not a Kubernetes quantity (e.g. 4, 0.5, 500m, 16Gi)",
    ]
    assert "Traceback" not in result.stderr


def test_validate_json_output(run_cli, tmp_path):
    bad = tmp_path / "arena.toml"
    bad.write_text(BAD)
    code, out, _ = run_cli("validate", "-o", "json", str(bad), "examples/tf-git")
    assert code == 1
    problems = json.loads(out)
    assert [(p["line"], p["column"], p["path"]) for p in problems] == [(1, 8, "name"), (5, 1, "job.gpu"), (6, 7, "job.cpu")]
    assert set(problems[0]) == {"file", "line", "column", "path", "message"}
    code, out, _ = run_cli("validate", "-o", "json", "examples")
    assert (code, json.loads(out)) == (0, [])


def test_all_files_are_validated_before_anything_is_rendered(run_cli, tmp_path):
    bad = tmp_path / "arena.toml"
    bad.write_text(BAD)
    code, out, err = run_cli("render", "examples/tf-git/arena.toml", str(bad))
    assert code == 1
    assert out == ""
    assert "job.gpu" in err


def test_same_experiment_twice_in_a_directory(run_cli, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "arena.toml").write_text('name = "same"\n[job]\nimage = "i"\ncommand = "c"\n')
    code, _, err = run_cli("validate", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'b' / 'arena.toml'}:1:8: name: experiment 'same' is also defined in" in err


@pytest.mark.parametrize("args,message", [
    (["validate", "missing.toml"], "missing.toml: no such file"),
    (["validate", "README.md"], "README.md: not an experiment file"),
    (["validate", "tests/golden"], "tests/golden: no arena.toml or arena.yaml or arena.yml below this directory"),
])
def test_unusable_paths_are_one_line(args, message):
    result = cli(*args)
    assert result.returncode == 1
    assert result.stderr.strip() == message or result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_render_yaml_and_json(run_cli):
    code, out, _ = run_cli("render", "examples/tf-git/arena.toml")
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["TFJob"]
    code, out, _ = run_cli("render", "-o", "json", "-n", "ns1", "examples/mnist-serve")
    assert code == 0
    items = json.loads(out)["items"]
    assert {i["metadata"]["namespace"] for i in items} == {"ns1"}
    assert [i["kind"] for i in items] == ["Service", "Deployment", "TFJob"]


def test_render_rejects_a_bad_namespace_flag():
    result = cli("render", "-n", "Bad_NS", "examples/tf-git/arena.toml")
    assert result.returncode == 2
    assert "--namespace" in result.stderr and "Traceback" not in result.stderr


def test_init_writes_a_valid_commented_starter(run_cli, tmp_path):
    target = tmp_path / "My_Model"
    target.mkdir()
    code, out, err = run_cli("init", str(target))
    assert code == 0, err
    text = (target / "arena.toml").read_text()
    assert 'name = "my-model"' in text and text.startswith("#:schema ./arena.schema.json")
    assert (target / "arena.schema.json").exists()
    assert run_cli("validate", str(target))[0] == 0
    code, _, err = run_cli("init", str(target))
    assert code == 1 and "exists" in err
    assert run_cli("init", "--force", "--name", "other", str(target))[0] == 0
    assert 'name = "other"' in (target / "arena.toml").read_text()


def test_version(run_cli):
    from arena_run import __version__

    first, *engines = run_cli("version")[1].splitlines()
    assert first == f"arena-run {__version__}"
    assert engines[0].split() == ["TFJob", "kubeflow.org/v1", "Kubeflow", "training-operator"]
    assert any(e.split()[:2] == ["MPIJob", "kubeflow.org/v2beta1"] for e in engines)
    assert any(e.split()[:2] == ["TrainJob", "trainer.kubeflow.org/v1alpha1"] for e in engines)
    assert run_cli("--version")[1] == f"arena-run {__version__}\n"


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o nosort -F"), ("zsh", "compdef"), ("fish", "complete --no-files")])
def test_completion_scripts(run_cli, shell, marker):
    code, out, _ = run_cli("completion", shell)
    assert code == 0
    assert marker in out and "_ARENA_RUN_COMPLETE" in out


def test_completion_completes_commands():
    env = dict(os.environ, _ARENA_RUN_COMPLETE="bash_complete", COMP_WORDS="arena-run va", COMP_CWORD="1")
    result = subprocess.run([sys.executable, "-m", "arena_run"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert "plain,validate" in result.stdout


def test_usage_errors_exit_2_without_traceback():
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "No such command" in result.stderr and "Traceback" not in result.stderr


def test_an_internal_error_is_one_line(monkeypatch, run_cli):
    import arena_run.render

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(arena_run.render, "render", broken)
    code, _, err = run_cli("render", "examples/tf-git/arena.toml")
    assert code == 2
    assert err.strip().splitlines() == [
        "arena-run: internal error: RuntimeError: boom (set ARENA_RUN_DEBUG=1 for a traceback, and please report it)"
    ]


def test_a_problem_is_one_line_whatever_the_file_holds(tmp_path):
    """Issue 9 item 11: a newline in a key printed a second, fake problem line; ESC and OSC reached the terminal."""
    path = tmp_path / "arena.toml"
    path.write_text('name = "x"\n[job]\nimage = "i"\ncommand = "c"\n"gpu\\nother.toml:1:1:" = 1\n'
                    'image_pull_policy = "\\u001b]0;owned\\u0007\\u009b\\u2028"\n')
    result = cli("validate", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}:") for line in lines), lines
    assert not any(ch in result.stderr for ch in "\x1b\x07\x9b\u2028")
    assert lines[0].startswith(f'{path}:5:1: job."gpu\\nother.toml:1:1:": unknown key')


def test_control_characters_in_file_names_are_escaped(tmp_path):
    odd = tmp_path / "a\nb\x1b"
    odd.mkdir()
    (odd / "arena.toml").write_text('name = 1\n')
    result = cli("validate", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path}/a\\x0ab\\x1b/arena.toml:1:8: name: expected a string, got an integer 1\n"
