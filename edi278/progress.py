"""The progress bar of `edi278 process` on a terminal: bytes read of all the inputs,
transaction sets answered and their rate, moved on as each interchange is answered
(a file of 20,000 sets may be one file, but it is many interchanges).

While the bar is shown it holds stderr (rich's Live): log lines (`edi278.log` writes to
whatever stderr is at the time) and, on the same terminal, the lines a command prints,
are printed above it, whole, instead of through it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

REDRAW_SECONDS = 0.1  # rich's own pace (10 a second)


class Tracker:
    """What the bar is told: a file begun, an interchange of it answered."""

    def __init__(self, bar: Progress | None = None, task: TaskID | None = None) -> None:
        self.bar, self.task = bar, task
        self.started = self.drawn = time.perf_counter()
        self.done_before = 0  # bytes of the files already answered
        self.size = 0  # of the file in hand
        self.sets = 0
        self.files = 0

    def file(self, size: int) -> None:
        """A file of `size` bytes begun (the one before it done)."""
        self.done_before += self.size
        self.size = size
        self.files += 1
        self._show(self.done_before)

    def interchange(self, end: int | None, sets: int) -> None:
        """An interchange answered, ending at byte `end` of the file (None: its end),
        with so many transaction sets."""
        self.sets += sets
        self._show(self.done_before + min(self.size if end is None else end, self.size))

    def echo(self, line: str) -> None:
        """A line of the command's output: above the bar when both are on one terminal."""
        if self.bar is not None and sys.stdout.isatty():
            self.bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line)

    def _show(self, completed: int) -> None:
        if self.bar is None or self.task is None:
            return
        now = time.perf_counter()
        rate = self.sets / max(now - self.started, 1e-6)
        self.bar.update(
            self.task,
            completed=completed,
            files=f"file {self.files}",
            sets=f"{self.sets:,} transaction sets",
            rate=f"{rate:,.0f} sets/s",
        )
        if now - self.drawn >= REDRAW_SECONDS:
            # drawn from here too, not only by rich's timer thread: a line printed above
            # the bar redraws the bar as last drawn, and that thread's timed waits stall
            # where the monotonic clock is moved (faketime)
            self.bar.refresh()
            self.drawn = now


@contextmanager
def answering(paths: list[Path], silent: bool) -> Iterator[Tracker]:
    """A bar over these files on stderr, gone when done; nothing when `silent`."""
    if silent:
        yield Tracker()
        return
    total = sum(path.stat().st_size for path in paths)
    columns = (
        TextColumn("{task.fields[files]} of " + f"{len(paths):,}"), BarColumn(),
        DownloadColumn(), TextColumn("{task.fields[sets]}"), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )  # fmt: skip
    # soft_wrap: a line printed above the bar keeps its length; the terminal wraps it
    console = Console(stderr=True, soft_wrap=True)
    # stdout is not taken over: rich would send it to stderr, a pipe's lines included
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as bar:
        task = bar.add_task("answering", total=total, files="file 0",
                            sets="0 transaction sets", rate="")  # fmt: skip
        yield Tracker(bar, task)
