"""How apply's and delete's events are shown: lines as experiments finish, waits saying what they wait for."""

import io
import threading

from rich.console import Console

from arena_run.api import Applied, ApplyError, Deleted, Gone, Waiting
from arena_run.apply.writes import Outcome, Result
from arena_run.cli.progress import Reporter
from arena_run.plan import Plan

JOB = ("TFJob.kubeflow.org", "ns", "exp")


def plan(name):
    return Plan(name, "ns", "", [], None, None)


def consoles(terminal):
    out, err = io.StringIO(), io.StringIO()
    return (out, err, Console(file=out, force_terminal=terminal, width=200, highlight=False),
            Console(file=err, force_terminal=terminal, width=200, highlight=False))


def test_piped_each_experiment_and_each_wait_is_a_plain_line():
    out, err, console, errors = consoles(False)
    with Reporter(console, errors, 2, "Applying") as progress:
        progress(Waiting(JOB, "replacing it, forces replacement: job.command; its pods go first"))
        progress(Outcome(None, True))
        progress(Gone(JOB))
        progress(Applied(plan("exp"), result=Result(plan("exp"), [Outcome(None, True)] * 3)))
        progress(Applied(plan("bad"), error=ApplyError(["bad: TFJob ns/bad: forbidden"])))
    assert out.getvalue().splitlines() == [
        "waiting for TFJob ns/exp to be deleted (replacing it, forces replacement: job.command; its pods go first)…",
        "Applied exp: 3 change(s).",
    ]
    assert err.getvalue() == "error: bad: TFJob ns/bad: forbidden\n"
    assert "\x1b" not in out.getvalue()


def test_on_a_terminal_lines_land_above_a_bar_that_goes_away():
    out, _, console, errors = consoles(True)
    names = [f"exp-{i}" for i in range(20)]
    with Reporter(console, errors, len(names), "Deleting") as progress:
        threads = [threading.Thread(target=progress, args=(Deleted(n, "ns", [JOB]),)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        progress(Waiting(JOB, "foreground deletion: its dependents, such as pods, go first"))
    text = out.getvalue()
    assert "waiting for TFJob ns/exp to be deleted (foreground deletion" in text  # a spinner line, while it lasts
    for n in names:
        assert f"Deleted\x1b[0m {n} in ns: 1 object(s)" in text
    assert "Deleting" in text  # the bar was drawn...
    assert text.endswith("\x1b[1A\x1b[2K")  # ...and erased at the end (transient)
