"""One CLI vocabulary: one -o set, exit codes that never depend on -o, AGE apart from DURATION, hints that
keep the target, one JSON name per concept, Examples in every --help, whole summaries, a wide table."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, fields

import click
import pytest

from arena_run.cli.app import cli
from arena_run.status.experiments import ExperimentStatus, JobStatus
from arena_run.status.logs import LogsError, resolve
from arena_run.status.table import status_rows, wide_rows
from arena_run.status.top import JobGPUs

from .conftest import ROOT

GOOD = str(ROOT / "examples" / "tf-git")


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, prefix + (name,))


def output_choices(cmd: click.Command) -> list[str] | None:
    for p in cmd.params:
        if "--output" in getattr(p, "opts", []):
            return list(p.type.choices)
    return None


def test_one_output_set():
    seen = {path: output_choices(cmd) for path, cmd in commands() if output_choices(cmd) is not None}
    assert set(seen) >= {("validate",), ("plan",), ("status",), ("top", "node"), ("top", "job"), ("data", "list")}
    for path, choices in seen.items():
        if path == ("render",):  # a manifest, not a table: yaml (what kubectl takes) or json
            assert choices == ["yaml", "json"]
            continue
        extra = {("plan",): ["markdown"], ("status",): ["wide"]}.get(path, [])
        assert choices == ["table", *extra, "json", "yaml"], path


@pytest.mark.parametrize("fmt", ["table", "text", "json", "yaml"])
def test_validate_speaks_every_format_with_one_exit_code(run_cli, tmp_path, fmt):
    bad = tmp_path / "arena.toml"
    bad.write_text('name = "x"\n[job]\nimage = "i"\ncommand = "c"\ngpu = 1\n')
    code, out, err = run_cli("validate", "-o", fmt, str(bad))
    assert code == 1
    if fmt in ("json", "yaml"):
        import yaml

        (problem,) = yaml.safe_load(out)  # YAML reads JSON too: one shape
        assert problem["path"] == "job.gpu" and problem["line"] == 5
    else:
        assert "job.gpu: unknown key 'gpu'" in err
    assert run_cli("validate", "-o", fmt, GOOD)[0] == 0


@pytest.mark.parametrize("fmt", [[], ["-o", "json"], ["-o", "yaml"], ["-o", "wide"]], ids=lambda f: " ".join(f) or "table")
def test_status_of_a_missing_experiment_exits_1_whatever_o_says(run_cli, tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    code, out, _ = run_cli("status", "--local", "nosuch", *fmt)
    assert code == 1
    assert run_cli("status", "--local", *fmt)[0] == 0  # none asked for, none there: fine


def job(age="2h", duration=None, seconds=7200, phase="Succeeded", replicas=None) -> JobStatus:
    return JobStatus("j", "TFJob", phase, replicas or {"Worker": "2/2"}, 1, 0, age, duration=duration,
                     age_seconds=seconds, nodes=["n1"])


def test_age_is_time_since_creation_and_duration_a_column_of_its_own():
    st = ExperimentStatus("x", "ns", "in sync", jobs=[job(age="2h", duration="5m")])
    assert (st.age, st.duration) == ("2h", "5m")  # before: AGE said 5m, the time it took
    columns, (row,) = status_rows([st])
    assert row[columns.index("AGE")] == "2h" and row[columns.index("DURATION")] == "5m"
    assert st.to_dict()["age"] == "2h" and st.to_dict()["duration"] == "5m"
    sweep = ExperimentStatus("x", "ns", "in sync", jobs=[job("2h", "5m", 7200), job("9m", None, 540)])
    assert (sweep.age, sweep.duration) == ("2h", None)


def test_hints_keep_the_target():
    with pytest.raises(LogsError, match=r"\(arena-run status -n team-a x\)"):
        resolve("x", "team-a", [], [])
    with pytest.raises(LogsError, match=r"\(arena-run status --local x\)"):
        resolve("x", "local", [], [], local=True)


def test_one_json_name_per_concept():
    top = {f.name for f in fields(JobGPUs)}
    status = {f.name for f in fields(JobStatus)}
    assert "phase" in top and "status" not in top
    shared = {"name", "kind", "phase", "gpus_requested", "gpus_allocated", "nodes", "age"}
    assert shared <= top and shared <= status
    doc = (ROOT / "docs" / "json.md").read_text()
    for name in shared | {"duration"}:
        assert f"`{name}`" in doc


def test_every_help_has_examples_and_whole_summaries(run_cli):
    for path, cmd in [((), cli), *commands()]:
        code, out, _ = run_cli(*path, "--help")
        assert code == 0
        assert re.search(r"^  Examples:\n(    arena-run .+\n)+", out, re.M), path
        if isinstance(cmd, click.Group):
            listed = " ".join(out.split("Commands:")[1].split())
            for name, sub in cmd.commands.items():
                summary = " ".join(sub.get_short_help_str(limit=1000).split())
                assert not summary.endswith("...") and summary in listed, (path, name)


def test_the_wide_table_keeps_one_value_per_cell():
    st = ExperimentStatus("x", "ns", "changed (not applied)",
                          jobs=[job(replicas={"Chief": "1/1", "Worker": "1/2"}, phase="Running")])
    columns, rows = wide_rows([st, ExperimentStatus("y", "ns", "not applied")], all_namespaces=True)
    for row in rows:
        assert len(row) == len(columns) and all(cell and " " not in cell for cell in row), row
    assert dict(zip(columns, rows[0]))["READY"] == "2/3"
    assert dict(zip(columns, rows[0]))["REPLICAS"] == "Chief=1/1,Worker=1/2"
    # The default table puts both roles in one cell: what wide is for.
    columns, (row,) = status_rows([st])
    assert row[columns.index("REPLICAS")] == "Chief 1/1, Worker 1/2"


def test_plan_all_lists_unchanged_objects_and_v_is_the_global_one():
    plan = cli.commands["plan"]
    opts = {o: p.name for p in plan.params for o in getattr(p, "opts", [])}
    assert opts["--all"] == "show_all" and opts["-a"] == "show_all"
    verbose = next(p for p in plan.params if "-v" in p.opts)
    assert not verbose.expose_value  # it only sets the root's verbose, as `arena-run -v plan`


@pytest.mark.parametrize("raised,expected", [(EOFError, False), (KeyboardInterrupt, KeyboardInterrupt)],
                         ids=["ctrl-D is a no", "ctrl-C is still an interrupt (exit 130)"])
def test_the_end_of_input_at_a_question_is_a_no(monkeypatch, raised, expected):
    """click answers both keys with Abort; the CLI tells them apart, so ctrl-D says "Nothing was applied."
    (tests/local/test_consent_prompt on a real terminal) and ctrl-C stays an interrupt."""
    from arena_run.cli import options

    def ask(question, default):
        try:
            raise raised
        except raised:
            raise click.Abort() from None  # as click.termui.confirm does

    monkeypatch.setattr(options.click, "confirm", ask)
    monkeypatch.setattr(options.sys.stdin, "isatty", lambda: True)
    if expected is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):
            options.confirm("Go?", False)
    else:
        assert options.confirm("Go?", False) is False
