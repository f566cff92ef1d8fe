"""The consent prompt on a real terminal (issue 17): apply without -y asks before it stops a running job.

arena-run runs on a pseudo-terminal (the `pty` module), as in a user's shell:
the question lists the job with its phase and age, and each answer is typed as
a user types it.  Output is read as it comes (select on the terminal), never
after a sleep.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from ..conftest import ROOT
from .conftest import wait_until
from .test_lifecycle import lines
from .test_local_consent import running

QUESTION = "Stop 1 unfinished job(s) (work since they started is lost) and apply? [y/N]: "


class Terminal:
    """A command on a pseudo-terminal: its stdin, stdout and stderr are the terminal's slave side."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.seen = b""

    def read_until(self, text: str, timeout: float = 60) -> str:
        """Everything written so far, once it holds text (or the command has ended and said all)."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen.replace(b"\r\n", b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"no {text!r} within {timeout} s; the terminal showed:\n{self.text}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the command has closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"the command ended before {text!r}; the terminal showed:\n{self.text}")
            self.seen += chunk
        return self.text

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """The exit status and all the terminal showed, once the command has ended."""
        while True:
            if not select.select([self.master], [], [], timeout)[0]:
                raise AssertionError(f"the command did not end; the terminal showed:\n{self.text}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        code = self.proc.wait(timeout=timeout)
        os.close(self.master)
        return code, self.text

    @property
    def text(self) -> str:
        return self.seen.decode(errors="replace").replace("\r\n", "\n")


def asked(local):
    """A running job, an edit that replaces it, and apply without -y on a terminal, at its question."""
    f = running(local)
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: lines(local) == ["one"], what="the job up")
    f.write_text(f.read_text().replace("echo one", "echo two"))
    before = local.store().objects("keep")
    term = Terminal([sys.executable, "-m", "arena_run", "apply", "--local", str(f)], local.env)
    shown = term.read_until(QUESTION)
    assert "1 job(s) have not finished; applying stops them:" in shown
    assert re.search(r"^  TFJob local/keep \(Running, \d+s\) will be stopped and re-run from the start "
                     r"\(forces replacement: job\.command\)$", shown, re.M), shown
    return term, before


def test_yes_at_the_prompt_replaces_the_running_job(local):
    term, before = asked(local)
    term.type(b"y\n")
    code, shown = term.finish()
    assert code == 0, shown
    wait_until(lambda: lines(local) == ["one", "two"], what="the job re-run")
    assert [e["uid"] for e in local.store().objects("keep")] != [e["uid"] for e in before]


@pytest.mark.parametrize("keys,answer", [(b"n\n", "n"),
                                         (b"\n", ""),  # the default is no
                                         (b"\x04", "")],  # ctrl-D, the end of input: a no too
                         ids=["no", "enter", "EOF"])
def test_anything_but_yes_stops_nothing_and_writes_nothing(local, keys, answer):
    term, before = asked(local)
    term.type(keys)
    code, shown = term.finish()
    assert code == 1, shown
    after = shown.split(QUESTION, 1)[1].splitlines()
    assert after == [answer, "Nothing was applied."], shown
    assert local.store().objects("keep") == before
    assert local.status("keep")["phase"] == "Running" and lines(local) == ["one"]
