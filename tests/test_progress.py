"""`edi278 process` on a terminal (a real pseudo-terminal): its progress bar counts the
bytes read and the transaction sets answered as each interchange of a file is answered,
and log lines on stderr print whole above it, never through it."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.conftest import REQUEST_BODY, group, interchange, transaction

ROOT = Path(__file__).parents[1]
EDI278 = ROOT / ".venv" / "bin" / "edi278"
ROWS, COLUMNS = 50, 300
INTERCHANGES = 120
CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")
BAR = re.compile(
    r"file 1 of 1 .*? (?P<done>[\d.]+)/(?P<total>[\d.]+) kB (?P<sets>[\d,]+) transaction "
    r"sets (?P<rate>[\d,]+) sets/s"
)
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z \[info\s*\] interchange\.answered\s+\S.*")


def many_interchanges() -> bytes:
    """One file of INTERCHANGES interchanges, a request each (its own ISA13 and BHT03)."""
    text = ""
    for number in range(1, INTERCHANGES + 1):
        body = [s.replace("*REQ1*", f"*REQ{number}*") for s in REQUEST_BODY]
        text += interchange([group(number, [transaction(1, body)])], control=number)
    return text.encode()


def on_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `command` with a pseudo-terminal of ROWS x COLUMNS as its stdout and stderr;
    everything it wrote there, and its exit status."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=terminal,
                               stderr=terminal, env=env, close_fds=True)  # fmt: skip
    os.close(terminal)
    written = bytearray()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(controller)
    return process.wait(timeout=30), written.decode("utf-8", "replace")


def screen_of(written: str) -> list[str]:
    """The lines a terminal shows after all of it, scrolled off or not: characters
    placed at the cursor, carriage return, line feed, cursor up and down, erase line."""
    lines: list[list[str]] = [[]]
    row = column = 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", written):
        control = CSI.fullmatch(token)
        if control:
            argument, kind = control.groups()
            count = int(argument) if argument.isdigit() else 1
            if kind == "A":
                row = max(row - count, 0)
            elif kind == "B":
                row += count
            elif kind == "G":
                column = count - 1
            elif kind == "K":  # erase in line: 2 the whole line, else from the cursor on
                del lines[row][0 if argument == "2" else column :]
        elif token == "\r":
            column = 0
        elif token == "\n":
            row += 1
        else:
            for character in token:
                if column >= COLUMNS:  # the terminal wraps a long line
                    row, column = row + 1, 0
                while len(lines) <= row:
                    lines.append([])
                line = lines[row]
                line.extend(" " * (column - len(line)))
                line[column : column + 1] = [character]
                column += 1
        while len(lines) <= row:
            lines.append([])
    return ["".join(line).rstrip() for line in lines]


def test_the_bar_counts_bytes_and_sets_and_log_lines_print_whole_above_it(tmp_path):
    batch = tmp_path / "batch.x12"
    batch.write_bytes(many_interchanges())
    env = {**os.environ, "EDI278_LOG_LEVEL": "INFO", "TERM": "xterm"}
    env.pop("EDI278_LOG_FILE", None)
    status, written = on_a_terminal(
        [str(EDI278), "process", str(batch), "--outbox", str(tmp_path / "outbox"),
         "--state-dir", str(tmp_path / "var")], env,
    )  # fmt: skip
    assert status == 0, written
    plain = CSI.sub("", written)

    # The bar moved within the one file, by bytes and by transaction sets.
    shown = [match.groupdict() for match in BAR.finditer(plain)]
    total = f"{batch.stat().st_size / 1000:.1f}"
    assert shown and {bar["total"] for bar in shown} == {total}
    midway = [bar for bar in shown if 0 < float(bar["done"]) < float(total)]
    assert midway, shown[:3]
    for bar in midway:
        assert int(bar["sets"].replace(",", "")) > 0 and int(bar["rate"].replace(",", "")) > 0

    # Every interchange's log line is on the screen whole, on a line of its own.
    screen = screen_of(written)
    logged = [line for line in screen if "interchange.answered" in line]
    assert len(logged) == INTERCHANGES, "\n".join(screen)
    broken = [line for line in logged if not LOG_LINE.fullmatch(line) or "━" in line]
    assert broken == []
    assert not any("transaction sets" in line and "sets/s" in line for line in screen)  # gone
