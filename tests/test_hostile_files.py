"""What a path can hold that a corpus file cannot carry: FIFOs, devices, links,
unreadable directories, trees too deep for recursion, files too big to read.

Each is loaded by the bounded worker (tests/bounded.py): an answer, within
2 s and 200 MB, or the test fails (a hang is cut off, not waited out).
Permissions are real: tests run as root, for whom mode 000 means nothing, so
those cases run the CLI without the capabilities that let root ignore modes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from arena_run.spec.files import MAX_BYTES

from .bounded import within_bounds
from .conftest import ROOT

GOOD = 'name = "x"\n\n[job]\nimage = "i"\ncommand = "c"\n'


def problems(answer: dict) -> list[tuple]:
    assert answer["outcome"] == "problems", answer
    return [(p["file"], p["line"], p["column"], p["path"], p["message"]) for p in answer["problems"]]


def test_a_fifo_in_a_directory_is_refused_without_waiting_for_a_writer(tmp_path, bounded_worker):
    os.mkfifo(tmp_path / "arena.toml")
    answer = bounded_worker.load(str(tmp_path), limit=10)
    within_bounds(answer, "fifo")
    assert problems(answer) == [(str(tmp_path / "arena.toml"), 0, 0, "", "is a FIFO (named pipe), not a regular file")]


def test_a_fifo_named_directly_is_refused(tmp_path, bounded_worker):
    os.mkfifo(tmp_path / "exp.yaml")
    answer = bounded_worker.load(str(tmp_path / "exp.yaml"), limit=10)
    within_bounds(answer, "fifo")
    assert [p[4] for p in problems(answer)] == ["is a FIFO (named pipe), not a regular file"]


def test_a_link_to_dev_zero_is_not_read(tmp_path, bounded_worker):
    (tmp_path / "arena.toml").symlink_to("/dev/zero")
    answer = bounded_worker.load(str(tmp_path), limit=10)
    within_bounds(answer, "/dev/zero")
    assert [p[4] for p in problems(answer)] == ["is a character device, not a regular file"]


def test_dangling_and_looping_links_are_problems_of_their_paths(tmp_path, bounded_worker):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "arena.toml").symlink_to(tmp_path / "gone.toml")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "arena.yaml").symlink_to(tmp_path / "b" / "arena.yaml")
    answer = bounded_worker.load(str(tmp_path), limit=10)
    within_bounds(answer, "links")
    assert [(p[0], p[4]) for p in problems(answer)] == [
        (str(tmp_path / "a" / "arena.toml"), f"is a link to {str(tmp_path / 'gone.toml')!r}, which does not exist"),
        (str(tmp_path / "b" / "arena.yaml"), "is a loop of symbolic links"),
    ]


def test_a_file_over_the_cap_is_refused_with_the_cap_stated(tmp_path, bounded_worker):
    """Issue 9: a 50 MB file took 71 s and 3.5 GB; now its size is the answer."""
    big = tmp_path / "arena.toml"
    with open(big, "w") as fh:
        fh.write(GOOD)
        fh.write("# padding\n" * (50 * 1024 * 1024 // 10))
        fh.write("gpu = 1\n")
    answer = bounded_worker.load(str(big))
    within_bounds(answer, "50 MB")
    ((_, line, _, _, message),) = problems(answer)
    assert line == 0 and message == f"is {big.stat().st_size:,} bytes; an experiment file may have at most 524,288 (512 KiB)"


def test_a_line_as_long_as_the_cap_is_located_in_linear_time(tmp_path, bounded_worker):
    """Issue 9: a 1 MB one-line array with one unknown key took 32 s: the locator
    sliced the line up to each of its items.  Here 250,000 items on one line."""
    inner = "[" + "1," * 999 + "1]"
    line = "junk = [" + ", ".join([inner] * 250) + "]"
    text = f'name = "x"\n\n[job]\nimage = "i"\ncommand = "c"\n\n[sweep]\nlr = [0.1]\n{line}\n'
    assert MAX_BYTES // 2 < len(text) <= MAX_BYTES
    (tmp_path / "arena.toml").write_text(text)
    answer = bounded_worker.load(str(tmp_path / "arena.toml"))
    within_bounds(answer, "long line")
    found = problems(answer)
    # 250 wrong values: the first 100 located, each at its own column, then the rest counted.
    assert len(found) == 101 and {p[1] for p in found} == {9}
    assert [p[3] for p in found[:100]] == [f"sweep.junk[{i}]" for i in range(100)]
    assert [p[2] for p in found[:100]] == [len("junk = [") + 1 + i * (len(inner) + 2) for i in range(100)]
    assert found[100][3:] == ("sweep.junk[100]", "and 150 more problems from here on, not listed")


def test_a_million_values_are_refused_by_count(tmp_path, bounded_worker):
    text = 'name = "x"\n\n[job]\nimage = "i"\ncommand = "c"\nimage_pull_secrets = [' + "1," * 250_000 + "1]\n"
    assert len(text) <= MAX_BYTES
    (tmp_path / "arena.toml").write_text(text)
    answer = bounded_worker.load(str(tmp_path / "arena.toml"))
    within_bounds(answer, "many values")
    assert [p[1:] for p in problems(answer)] == [
        (6, 22, "job.image_pull_secrets", "has 250,001 items; at most 1,000 are allowed")]


def test_a_name_as_long_as_the_cap_gives_a_short_message(tmp_path, bounded_worker):
    """Issue 9: a 52 MB name gave a 52 MB error line; now the line is short and says how long the name was."""
    (tmp_path / "arena.toml").write_text('name = "' + "n" * (MAX_BYTES - 100) + '"\n')
    answer = bounded_worker.load(str(tmp_path / "arena.toml"))
    within_bounds(answer, "long name")
    ((_, _, _, path, message),) = problems(answer)
    assert path == "name" and len(message) < 200 and f"({MAX_BYTES - 100} characters)" in message


def test_a_tree_1100_directories_deep_is_walked(bounded_worker):
    """Issue 9: os.walk recursed once per level and failed past ~1,000."""
    tmp = tempfile.mkdtemp()
    deep = tmp
    for _ in range(1100):  # os.makedirs recurses per missing parent
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    try:
        with open(os.path.join(deep, "arena.toml"), "w") as fh:
            fh.write(GOOD)
        answer = bounded_worker.load(tmp)
        within_bounds(answer, "deep tree")
        assert answer["outcome"] == "ok" and answer["files"] == [os.path.join(deep, "arena.toml")]
    finally:  # shutil.rmtree recurses too: removed bottom-up by hand
        os.unlink(os.path.join(deep, "arena.toml"))
        while deep != tmp:
            os.rmdir(deep)
            deep = os.path.dirname(deep)
        os.rmdir(tmp)


def test_a_file_reached_twice_is_read_once(bounded_worker):
    """Issue 9: `validate examples/tf-git examples/tf-git/arena.toml` clashed with itself."""
    example = os.path.join("examples", "tf-git")
    answer = bounded_worker.load(str(ROOT / example), str(ROOT / example / "arena.toml"),
                                 os.path.join(str(ROOT), example, ".", "arena.toml"))
    within_bounds(answer, "twice")
    assert answer["outcome"] == "ok" and len(answer["files"]) == 1


def test_a_missing_path_says_so(tmp_path, bounded_worker):
    answer = bounded_worker.load(str(tmp_path / "nope"))
    assert [p[4] for p in problems(answer)] == ["no such file or directory"]


def _without_override() -> None:
    # Root reads a mode-000 file through CAP_DAC_OVERRIDE (and lists a mode-000
    # directory through CAP_DAC_READ_SEARCH).  Dropped from the bounding set
    # before exec, they are gone from the child, and the mode bits bite.
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _cli_without_override(*args: str) -> subprocess.CompletedProcess:
    """The CLI where permissions apply even to root: real permission errors, no mock."""
    return subprocess.run([sys.executable, "-m", "arena_run", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, preexec_fn=_without_override if os.geteuid() == 0 else None)


def test_an_unreadable_subdirectory_is_a_problem_not_a_silence(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "arena.toml").write_text(GOOD)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "arena.toml").write_text('name = "y"\n')
    secret.chmod(0o000)
    try:
        done = _cli_without_override("validate", str(tmp_path))
    finally:
        secret.chmod(0o755)
    assert done.returncode == 1, done
    assert done.stderr == f"{secret}: cannot read this directory: Permission denied\n"


def test_an_unreadable_file_is_a_problem_named_or_found(tmp_path):
    """Issue 9: named directly it was a usage error (2), found in a directory a problem (1)."""
    path = tmp_path / "arena.toml"
    path.write_text(GOOD)
    path.chmod(0o000)
    for target in (path, tmp_path):
        done = _cli_without_override("validate", str(target))
        assert (done.returncode, done.stderr) == (1, f"{path}: cannot read: Permission denied\n"), done
