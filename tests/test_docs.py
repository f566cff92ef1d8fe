"""The docs: generated pages up to date, the site builds with no broken link, and their samples run.

Samples are the fenced ```sh and ```python blocks of README.md, CONTRIBUTING.md
and docs/.  Each shell line runs as written (bash, a pseudo-terminal that
answers "y" to a confirmation), a page's lines in order in one directory holding
examples/, with its own state and data directories and no cluster; the lines that need a cluster run
in tests/cluster/test_doc_samples.py against the control plane.  A line run
nowhere is listed in NOT_RUN with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import pty
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
BIN = Path(sys.executable).parent  # this tree's arena-run, not another on PATH

# Lines no test runs, by pattern, and why.
NOT_RUN = {
    r"^tests/run\b": "the whole suite: running it from inside the suite would recurse",
    r"^python bench/": "a benchmark: minutes against a control plane of its own (run by hand)",
    r"--container\b": "pulls the job's image from a registry, which CI cannot reach; tests/containers runs "
                      "the same commands with images built here",
}
# Prefixes dropped before running: the suite already runs on this tree, installed.
INSTALLED = "python3 -m pip install -e . && "
CLUSTER_VERBS = ("plan", "apply", "status", "delete", "logs", "top", "prune", "data", "diff")


@dataclass(frozen=True)
class Sample:
    page: str
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def samples(lang: str) -> list[Sample]:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.S | re.M):
            if m.group(1) == lang:
                line = text.count("\n", 0, m.start()) + 2
                out.append(Sample(str(page.relative_to(ROOT)), line, lang, m.group(2)))
    return out


def commands(block: Sample) -> list[tuple[int, str]]:
    """(line, command) of a shell block, continuation lines joined."""
    out, pending, start = [], "", 0
    for i, line in enumerate(block.text.splitlines()):
        if not pending:
            start = block.line + i
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip():
            out.append((start, pending.strip()))
        pending = ""
    return out


def needs_cluster(command: str) -> bool:
    words = command.split()
    return (len(words) > 1 and words[0] == "arena-run" and words[1] in CLUSTER_VERBS
            and "--local" not in words)


def shell_lines(*, cluster: bool) -> list[tuple[str, list[str]]]:
    """Per page, (page, its shell commands in order) that run here (cluster=False) or against the control plane.

    A page's blocks run one after another in one directory, as a reader follows them."""
    pages: dict[str, list[str]] = {}
    for block in samples("sh"):
        for line, command in commands(block):
            command = command.removeprefix(INSTALLED)
            if any(re.search(p, command) for p in NOT_RUN) or needs_cluster(command) != cluster:
                continue
            pages.setdefault(block.page, []).append(f"{command}  # {block.page}:{line}")
    return list(pages.items())


def in_a_terminal(command: str, cwd: Path, env: dict, timeout: float = 120) -> tuple[int, str]:
    """command in bash on a pseudo-terminal, as a user types it; "y" already typed for a confirmation."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdin=sub, stdout=sub, stderr=sub,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    os.close(sub)
    os.write(main, b"y\n")
    out = b""
    try:
        # Read until the command has exited and its output is drained; the terminal is closed
        # only then, so no hang-up ever reaches a command still running.
        while True:
            ready, _, _ = select.select([main], [], [], 0.2)
            chunk = b""
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # every process on the terminal has closed it
                    pass
                out += chunk
            if not chunk and proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"{command}: still running after {timeout} s\n{out.decode(errors='replace')}")
    finally:
        os.close(main)
        code = proc.wait(timeout)
    return code, out.decode(errors="replace")


def sample_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "KUBECONFIG"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_DATA_HOME=str(tmp_path / "data"), KUBECONFIG=str(tmp_path / "no-cluster"), TERM="dumb")
    env.update(extra)
    return env


def workdir(tmp_path: Path) -> Path:
    """Where a sample runs: a directory with examples/ in it, as a clone has."""
    cwd = tmp_path / "clone"
    cwd.mkdir()
    (cwd / "examples").symlink_to(ROOT / "examples")
    return cwd


@pytest.mark.parametrize("where,lines", shell_lines(cluster=False), ids=lambda v: v if isinstance(v, str) else "")
def test_shell_samples_run(where, lines, tmp_path):
    cwd, env = workdir(tmp_path), sample_env(tmp_path)
    for command in lines:
        code, out = in_a_terminal(command, cwd, env)
        assert code == 0, f"{command}\nexited {code}:\n{out[-3000:]}"


def test_every_shell_line_is_run_somewhere_or_says_why_not():
    lines = [c.removeprefix(INSTALLED) for b in samples("sh") for _, c in commands(b)]
    assert len(lines) > 15  # the blocks were found
    here = [c for _, block in shell_lines(cluster=False) for c in block]
    there = [c for _, block in shell_lines(cluster=True) for c in block]
    skipped = [c for c in lines if any(re.search(p, c) for p in NOT_RUN)]
    assert len(here) + len(there) + len(skipped) == len(lines)
    assert there, "no sample needs a cluster: tests/cluster/test_doc_samples.py would prove nothing"


def python_samples(*, cluster: bool) -> list[Sample]:
    return [s for s in samples("python") if ("ar.connect(" in s.text) == cluster]


@pytest.mark.parametrize("sample", python_samples(cluster=False), ids=lambda s: s.where)
def test_python_samples_run(sample, tmp_path):
    cwd, env = workdir(tmp_path), sample_env(tmp_path)
    proc = subprocess.run([sys.executable, "-c", sample.text], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"{sample.where}:\n{proc.stderr[-3000:]}"


# --- generated pages and the site ----------------------------------------------------------


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["cli.md", "api.md", "rules.md", "examples.md"])
def test_generated_pages_are_current(page):
    made = _generator().PAGES[page]()
    assert (ROOT / "docs" / page).read_text(encoding="utf-8") == made, (
        f"docs/{page} is stale: run `python docs/generate.py`")


def test_the_api_reference_has_every_public_function_and_the_client():
    import arena_run
    import arena_run.api as api

    text = (ROOT / "docs" / "api.md").read_text()
    import inspect

    for name in api.__all__:
        obj = getattr(api, name, None)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert f"### `{name}`" in text, name
    if hasattr(arena_run, "Client"):
        assert "## `arena_run.Client`" in text


def test_the_cli_reference_has_every_command():
    from arena_run.cli.app import cli

    text = (ROOT / "docs" / "cli.md").read_text()
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"## `arena-run {name}`" in text


def test_the_site_builds_with_no_warning(tmp_path):
    # -m: a venv made with --system-site-packages has the package but no mkdocs script of its own.
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    assert (tmp_path / "site" / "concepts" / "index.html").exists()


def test_every_page_is_in_the_site():
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav):
        for entry in nav:
            for value in entry.values():
                yield from pages(value) if isinstance(value, list) else [value]

    listed = set(pages(config["nav"]))
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert listed == on_disk


# --- the CI recipe and the pre-commit snippet ---------------------------------------------


def _yaml_sample(containing: str) -> str:
    (sample,) = [s for s in samples("yaml") if containing in s.text]
    return sample.text


def test_the_pre_commit_snippet_runs_the_hook(tmp_path):
    repo = tmp_path / "project"
    (repo / "good").mkdir(parents=True)
    (repo / "bad").mkdir()
    (repo / ".pre-commit-config.yaml").write_text(_yaml_sample("repo: local"))
    (repo / "good" / "arena.toml").write_text((ROOT / "examples" / "tf-git" / "arena.toml").read_text())
    (repo / "bad" / "arena.toml").write_text('name = "bad"\n[job]\nimage = "busybox"\ncommand = "true"\ngpu = 1\n')
    (repo / "notes.toml").write_text("not = toml = at all\n")  # not an experiment file
    env = sample_env(tmp_path, PRE_COMMIT_HOME=str(tmp_path / "pre-commit"), HOME=str(tmp_path))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)

    def hook(*files: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--files", *files], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120)

    ok = hook("good/arena.toml", "notes.toml")
    assert ok.returncode == 0 and "Passed" in ok.stdout, ok.stdout + ok.stderr
    bad = hook("good/arena.toml", "bad/arena.toml", "notes.toml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad/arena.toml:5:1: job.gpu: unknown key 'gpu'; did you mean 'gpus'?" in bad.stdout
    assert "notes.toml" not in bad.stdout


def test_the_ci_recipe_installs_arena_run_from_a_named_place_and_calls_real_options(tmp_path, monkeypatch):
    import click
    import yaml

    from arena_run.cli.app import cli

    workflow = yaml.safe_load(_yaml_sample("arena-plan.yml"))
    steps = workflow["jobs"]["plan"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "pip install arena-run" not in runs  # not on PyPI: the recipe says where it comes from
    (checkout,) = [s for s in steps if s.get("with", {}).get("path") == ".arena-run"]
    assert checkout["with"]["repository"].endswith("/arena-run") and "pip install ./.arena-run" in runs
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").mkdir()
    calls = re.findall(r"arena-run ([^&|;>\n]+)", runs)
    assert len(calls) >= 2
    for call in calls:
        args = call.split()
        parent = cli.make_context("arena-run", list(args[:1]))
        command = cli.get_command(parent, args[0])
        assert command is not None, call
        try:
            command.make_context(args[0], args[1:], parent=parent)
        except click.UsageError as e:
            raise AssertionError(f"arena-run {call}: {e}") from e


def test_the_file_reference_has_a_section_for_every_table():
    from arena_run.spec.schema import json_schema

    text = (ROOT / "docs" / "reference.md").read_text()
    headings = re.findall(r"^## (.*)$", text, re.M)
    schema = json_schema()

    def is_table(v: dict) -> bool:
        # A model ([job], [[data]]), or a map of lists ([sweep]); a map of strings (labels) is one key's value.
        grid = v.get("type") == "object" and any(p.get("type") == "array" for p in v.get("patternProperties", {}).values())
        return "$ref" in v or "$ref" in v.get("items", {}) or any("$ref" in a for a in v.get("anyOf", [])) or grid

    tables = [k for k, v in schema["properties"].items() if is_table(v)]
    assert {"code", "data", "job", "tensorboard", "serve", "sweep"} <= set(tables)
    for key in tables:
        assert any(f"[{key}]" in h for h in headings), f"docs/reference.md has no section for [{key}]"


@pytest.mark.parametrize("sample", [s for s in samples("toml") if re.match(r"(#.*\n)*name = ", s.text)],
                         ids=lambda s: s.where)
def test_experiment_samples_are_valid(sample):
    from arena_run.spec.load import load_text

    load_text(sample.text, "toml", sample.where)


def test_the_arena_page_shows_the_tf_git_example_as_it_is():
    from arena_run.spec.load import load_text

    (sample,) = [s for s in samples("toml") if s.page == "docs/arena.md"]
    example = (ROOT / "examples" / "tf-git" / "arena.toml").read_text()
    assert load_text(sample.text) == load_text(example)


def test_the_architecture_names_only_modules_and_names_that_exist():
    import importlib

    text = (ROOT / "docs" / "architecture.md").read_text()
    paths = set(re.findall(r"arena_run(?:/\w+)+\.py", text))
    for room in re.findall(r"`(arena_run/\w+)/`", text):
        assert (ROOT / room).is_dir(), room
    # Bare module names in a room's row: `apply.py` in the arena_run/cli/ row is arena_run/cli/apply.py.
    for room, row in re.findall(r"^\| `(arena_run/\w+)/` \|(.*)$", text, re.M):
        paths |= {f"{room}/{name}" for name in re.findall(r"`(\w+\.py)`", row)}
    assert len(paths) > 60
    missing = sorted(p for p in paths if not (ROOT / p).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    # Names in a row with one module: each is defined there.
    for row in re.findall(r"^\|[^|]*\| (`arena_run/[^|]*)\|$", text, re.M):
        modules = re.findall(r"`(arena_run(?:/\w+)+)\.py`", row)
        names = re.findall(r"`([A-Za-z_]\w*)`", row)
        if len(modules) == 1 and names:
            module = importlib.import_module(modules[0].replace("/", "."))
            absent = [n for n in names if not hasattr(module, n)]
            assert not absent, f"{modules[0]}.py has no {absent}"
    # Every room of the package is in the table.
    rooms = {p.name for p in (ROOT / "arena_run").iterdir() if (p / "__init__.py").exists()}
    assert rooms <= set(re.findall(r"`arena_run/(\w+)/`", text)), rooms
