"""Progress of long work (apply, delete --wait) as apply and delete report it.

apply and delete return data and print nothing; they call a listener with
events (arena_run.api: Outcome, Waiting, Gone, Applied, Deleted) from their
worker threads.  Here those become, on a terminal, a line per experiment as
it finishes above a live bar and one spinner per wait saying what it waits
for; when piped, the same lines plainly, and each wait as a line of its own.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from ..api import Applied, Deleted, Gone, Key, Waiting


class Reporter:
    """A listener for api.apply / api.delete; use as a context manager around the call."""

    def __init__(self, console: Console, err: Console, total: int, verb: str) -> None:
        self.console, self.err = console, err
        self.live = console.is_terminal
        self._lock = threading.Lock()
        self._waits: dict[Key, TaskID] = {}
        self._bar: Optional[Progress] = None
        self._main: Optional[TaskID] = None
        if self.live:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
            self._main = self._bar.add_task(verb, total=total)

    def __enter__(self) -> Reporter:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, kind: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, event: object) -> None:
        with self._lock:
            if isinstance(event, Waiting):
                self._waiting(event)
            elif isinstance(event, Gone):
                task = self._waits.pop(event.key, None)
                if task is not None and self._bar is not None:
                    self._bar.remove_task(task)
            elif isinstance(event, Applied):
                self._applied(event)
            elif isinstance(event, Deleted):
                self._print(f"[green]Deleted[/] {event.name} in {event.namespace}: {len(event.members)} object(s) "
                            "and its ApplySet parent.")
                self._advance()

    def _waiting(self, event: Waiting) -> None:
        if self._bar is not None:
            self._waits[event.key] = self._bar.add_task(f"[yellow]{event}[/]", total=None)
        else:
            self.console.print(f"{event}…")

    def _applied(self, event: Applied) -> None:
        if event.error is not None:
            for problem in event.error.problems:
                self.err.print(f"error: {problem}", style="red")
        elif event.result is not None:
            self._print(f"[green]Applied[/] {event.plan.experiment}: {len(event.result.outcomes)} change(s).")
        self._advance()

    def _print(self, line: str) -> None:
        # Through the live bar's console, a line lands above the bar.
        (self._bar.console if self._bar is not None else self.console).print(line)

    def _advance(self) -> None:
        if self._bar is not None and self._main is not None:
            self._bar.advance(self._main)
