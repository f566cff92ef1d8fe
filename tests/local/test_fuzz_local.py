"""A bounded fuzz of `apply --local`'s inputs other than the file: never an internal error, nothing run on a refusal.

Inputs (hypothesis), each a real `arena-run apply --local` of one small job:
  * `--volume` arguments: files, dangling links, paths below a file,
    relative paths, missing `=`, empty names;
  * the environment variables arena-run reads (XDG_STATE_HOME, XDG_DATA_HOME,
    ARENA_RUN_LOCAL_CPUS, HOME): files, relative paths, dangling links,
    numbers that are no whole number of cores, odd text;
  * hand-damaged state: parent.json, an object record, resources.json,
    supervisor.json cut short, of the wrong JSON type, binary, or a directory.

Properties: the CLI exits 0, 1, or 2 for a usage error (never an internal error, 2 too) and never shows a
traceback or "internal error"; when it refuses (exit 1), nothing of the job
ran and no process of it is left.  The run stops generating after
FUZZ_SECONDS (default 40) so CI pays a bounded time whatever the machine.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from .conftest import Local, processes_with, wait_until

BUDGET = float(os.environ.get("FUZZ_SECONDS", "40"))
PROFILE = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                   derandomize=os.environ.get("CI") == "true", suppress_health_check=list(HealthCheck))

# Paths by what they are; each example makes them afresh under its own directory.
PLACES = ["a-file", "a-file/below", "a-dir", "missing/deep", "dangling", "relative", "", "a-dir/../a-file"]
VALUES = st.sampled_from(PLACES) | st.sampled_from(["0", "-1", "abc", "1e3", "²", "999999999", " 2 ", "\t", "0x4"])
VARS = ["XDG_STATE_HOME", "XDG_DATA_HOME", "ARENA_RUN_LOCAL_CPUS", "HOME"]
STATE_FILES = ["parent.json", "objects/TFJob/fz.json", "supervisor.json", "../../resources.json",
               "runs/0123456789ab/status.json"]
CONTENTS = st.sampled_from([b"", b"{", b"[1,2]", b"null", b"{}", b'{"object": 1}', b'{"uid": []}', b"\xff\xfe",
                            b'{"metadata": 7}', b'{"held": [1]}', b'{"pid": "x"}', b'{"held": {"a": 1}}', "dir"])

_STARTED: list[float] = []
_FAILED: list[bool] = []
_COUNTER = itertools.count()


def _place(base: Path, what: str) -> str:
    if what in ("", "relative") or not what.startswith(("a-", "missing", "dangling")):
        return what
    return str(base / what)


def _make_places(base: Path) -> None:
    base.mkdir(parents=True)
    (base / "a-file").write_text("keep")
    (base / "a-dir").mkdir()
    (base / "dangling").symlink_to(base / "nowhere")


@PROFILE
@given(env=st.dictionaries(st.sampled_from(VARS), VALUES, max_size=2),
       volumes=st.lists(st.tuples(st.sampled_from(["out", "", "o=x"]), st.sampled_from(PLACES), st.booleans()),
                        max_size=2),
       damage=st.dictionaries(st.sampled_from(STATE_FILES), CONTENTS, max_size=2))  # one content a file
def test_local_apply_inputs_never_give_an_internal_error(tmp_path_factory, env, volumes, damage):
    if not _STARTED:
        _STARTED.append(time.monotonic())
    if time.monotonic() - _STARTED[0] > BUDGET and not _FAILED:
        return  # the time is spent: the rest pass through unrun (a failure is still replayed to shrink it)
    _STARTED.append(0)
    tmp = tmp_path_factory.mktemp("fuzz-local")
    local = Local(tmp)
    places = tmp / "places"
    _make_places(places)
    marker = f"arena-run-fuzz-{os.getpid()}-{next(_COUNTER)}"
    ran = tmp / "ran"
    f = local.write("fz", f'name = "fz"\n[[data]]\npvc = "out"\nmount = "/out"\n[job]\nimage = "i"\n'
                          f'command = "touch {ran}"\nenv = {{ MARK = "{marker}" }}\n')
    experiment = local.state / "arena-run" / "experiments" / "fz"
    for name, content in damage.items():
        path = experiment / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "dir":
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(content)
    args = []
    for name, where, with_sign in volumes:
        args += ["--volume", f"{name}={_place(places, where)}" if with_sign else name]
    overrides = {k: _place(places, v) for k, v in env.items()}
    note(f"env {overrides}, args {args}, damage {damage}")
    try:
        result = local.cli("apply", "--local", "-y", f, *args, env=overrides, timeout=60)
        note(f"exit {result.returncode}: {result.stdout[-600:]} {result.stderr[-600:]}")
        # 2 only as click's usage error (README: "2 a usage error"), never an internal one.
        assert result.returncode in (0, 1) or (result.returncode == 2 and "Usage:" in result.stderr), result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stdout
        if result.returncode != 0:
            assert not ran.exists()
            assert processes_with(marker) == []
        else:
            wait_until(lambda: not processes_with(marker), what=f"the job {marker} to end")
    except BaseException:
        _FAILED.append(True)
        raise
    finally:
        local.cli("delete", "--local", "-y", "fz", env=overrides, timeout=60)
        for pid in processes_with(marker):  # what a failed delete left: ours alone, by pid
            os.kill(pid, 9)


def test_the_local_fuzz_ran_enough_inputs():
    """After the fuzz (tests run in file order): the budget bought a meaningful number of inputs."""
    # Each input is a real apply (a few seconds on a loaded 2-core machine): one per 10 s at least.
    assert len(_STARTED) - 1 >= max(3, int(BUDGET / 10)), f"only {len(_STARTED) - 1} inputs in {BUDGET} s"
