"""Running one measurement in a fresh process and reading its peak RSS and CPU time.

Used by suite.py, http_load.py and workers.py; not run by itself.

ru_maxrss survives exec: a child spawned straight from a big parent (subprocess uses
vfork) would report at least the parent's peak. So a tiny Python (`-I -S`) forks, the
fork execs the measured command, and the tiny one waits for it with wait4(), which gives
that one child's rusage: its own peak RSS (floored at the tiny Python's ~9 MB), its user
and system CPU time. A budget in seconds, when given, ends the child with SIGTERM (then
SIGKILL 30 s later); its figures up to then are still read. A memory cap in MiB, when
given, is watched every 50 ms on the child's VmRSS: past it the child is killed (SIGKILL:
a process growing by tens of MB a second must not reach the machine's memory), and the
run says so with the RSS it was stopped at; its peak RSS and CPU up to then are read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHIM = r"""
import json, os, signal, sys, time
out, budget, cap_kib, command = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
started = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execv(command[0], command)
    finally:
        os._exit(127)
state = {"timed_out": False, "capped_kib": 0}
def expire(*_):
    state["timed_out"] = True
    os.kill(pid, signal.SIGTERM)
    signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
    signal.alarm(30)
signal.signal(signal.SIGALRM, expire)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
if budget > 0:
    signal.setitimer(signal.ITIMER_REAL, budget)
def rss_kib():
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
    except (OSError, ValueError):
        return 0
while True:
    got, status, usage = os.wait4(pid, os.WNOHANG if cap_kib else 0)
    if got:
        break
    rss = rss_kib()
    if rss > cap_kib:
        state["capped_kib"] = rss
        os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        break
    time.sleep(0.05)
signal.setitimer(signal.ITIMER_REAL, 0)
with open(out, "w") as f:
    json.dump({"wall": time.monotonic() - started, "peak_kib": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime, "exit": os.waitstatus_to_exitcode(status),
               "timed_out": state["timed_out"], "capped_kib": state["capped_kib"]}, f)
"""


@dataclass(frozen=True, slots=True)
class Run:
    """What one measured process did: its output and its resource use."""

    stdout: str
    stderr: str
    wall: float  # seconds from fork to exit, interpreter start-up included
    cpu: float  # user + system seconds
    peak_kib: int  # ru_maxrss, KiB on Linux
    exit: int
    timed_out: bool
    capped_kib: int = 0  # VmRSS when killed at the memory cap; 0: not stopped by it

    @property
    def peak_mb(self) -> float:
        return self.peak_kib / 1024

    @property
    def capped_mb(self) -> float:
        return self.capped_kib / 1024

    def last_json(self) -> dict:
        """The last line of its output, read as JSON (how in-process children report)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if not lines:
            raise RuntimeError(f"no output (exit {self.exit}): {self.stderr[-2000:]}")
        return json.loads(lines[-1])


def run(
    command: list[str],
    budget: float = 0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    memory_cap_mb: float = 0,
) -> Run:
    """Run `command` in a fresh process, measured. `budget` 0: no time limit;
    `memory_cap_mb` 0: no memory cap."""
    cap = str(int(memory_cap_mb * 1024))
    with tempfile.NamedTemporaryFile("r", suffix=".json") as figures:
        shim = [sys.executable, "-I", "-S", "-c", SHIM, figures.name, str(budget), cap, *command]
        done = subprocess.run(shim, capture_output=True, text=True, check=False, env=env, cwd=cwd)
        text = Path(figures.name).read_text()
    if not text:
        raise RuntimeError(f"the measuring shim failed: {done.stderr[-2000:]}")
    usage = json.loads(text)
    return Run(
        done.stdout,
        done.stderr,
        usage["wall"],
        usage["cpu"],
        usage["peak_kib"],
        usage["exit"],
        usage["timed_out"],
        usage["capped_kib"],
    )


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a running process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by a running process and all its descendants (a server
    with worker processes: theirs are not in its own figures until they exit)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone while listed
            continue
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        family.update(children)
        frontier.extend(children)
    own = cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(cpu_seconds(member) or 0.0 for member in family - {pid})
