"""Every log line goes through the one structlog chain (edi278.log): masked, in our
format, into EDI278_LOG_FILE when it is set. A module that logs around it (its own
standard-library logger, a print to stderr, a warning) is found by reading the source;
libraries' loggers and warnings are bridged into the chain; and a real `watch` over bad
files writes nothing on stderr but masked JSON lines, all of them in the log file."""

from __future__ import annotations

import ast
import json
import logging
import logging.config
import os
import subprocess
import warnings
from pathlib import Path

import structlog

import edi278.ig.bridge  # noqa: F401 - silences pyx12, as whenever the guide is used
from edi278 import log
from tests.test_watch import request, watch_command

PACKAGE = Path(__file__).parents[1] / "edi278"
LOGGING_FUNCTIONS = {"getLogger", "basicConfig", "debug", "info", "warning", "error",
                     "exception", "critical", "log", "captureWarnings"}  # fmt: skip


def around_the_chain(tree: ast.AST) -> list[tuple[int, str]]:
    """The places in a module that log, or write to stderr, other than through
    edi278.log: standard-library logging calls, print(file=sys.stderr),
    sys.stderr.write, warnings.warn, traceback printing."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
        if called.startswith("logging.") and called.split(".")[-1] in LOGGING_FUNCTIONS:
            found.append((node.lineno, called))
        elif called == "print" and keywords.get("file") in ("sys.stderr", "sys.__stderr__"):
            found.append((node.lineno, "print(file=sys.stderr)"))
        elif called in ("sys.stderr.write", "sys.__stderr__.write", "warnings.warn",
                        "traceback.print_exc", "traceback.print_exception"):  # fmt: skip
            found.append((node.lineno, called))
    return found


def test_no_module_logs_around_the_chain():
    offenders = {
        str(path.relative_to(PACKAGE)): places
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "log.py"
        and (places := around_the_chain(ast.parse(path.read_text(), str(path))))
    }
    assert offenders == {}


def test_the_scan_finds_each_way_around():
    source = "\n".join([
        "import logging, sys, warnings, traceback",
        "log = logging.getLogger(__name__)",
        "logging.warning('x')",
        "print('x', file=sys.stderr)",
        "sys.stderr.write('x')",
        "warnings.warn('x')",
        "traceback.print_exc()",
        "print('to stdout is output, not a log')",
        "level = logging.DEBUG",
    ])  # fmt: skip
    assert [line for line, _ in around_the_chain(ast.parse(source))] == [2, 3, 4, 5, 6, 7]


def test_libraries_loggers_and_warnings_reach_the_log_file_masked(tmp_path):
    path = tmp_path / "log.jsonl"
    # an earlier test's configure left logging's record of the original showwarning,
    # which pytest has put back since: captureWarnings(True) would then do nothing
    logging.captureWarnings(False)
    log.configure("INFO", path)
    try:
        logging.config.dictConfig(log.UVICORN)  # as `serve` hands it to uvicorn
        logging.getLogger("asyncssh").warning("bad packet NM1*IL*1*DOE*JANE****MI*W123456789")
        logging.getLogger("sqlalchemy.engine").error("params ('H998877665', '19600415')")
        logging.getLogger("uvicorn.error").error("Exception in ASGI application W123456789")
        logging.getLogger("watchdog").info("watching %s", "/in/W123456789.x12")
        logging.getLogger("watchdog.observers.inotify").error(
            "InotifyEmitter.queue_events() called when the thread is inactive"
        )  # noise when an observer stops: dropped
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("deprecated for W123456789", DeprecationWarning, stacklevel=1)
        logging.getLogger("pyx12").error("bad value W123456789")  # silenced: not at all
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers = []
        logging.captureWarnings(False)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["logger"] for line in lines] == [
        "asyncssh", "sqlalchemy.engine", "uvicorn.error", "watchdog", "py.warnings",
    ]  # fmt: skip
    text = path.read_text()
    for secret in ("DOE", "JANE", "W123456789", "H998877665", "19600415"):
        assert secret not in text, secret
    assert all(line["level"] in ("info", "warning", "error") for line in lines)


BAD = {
    "a" * 246: request(1),  # once stuck in processing, with an error line of its own
    "NM1*IL*1*DOE*JANE****MI*W123456789.x12": request(2),  # a name like member data
    "W123456789.x12": b"\x00not X12\n" * 3,  # garbage: a TA1
    "big-H998877665.x12": request(3) * 4,  # over --max-size: put aside
}


def watch_bad_files(tmp_path: Path, log_file: Path | None) -> subprocess.CompletedProcess[str]:
    for folder in ("inbox", "outbox", "processing", "archive", "error"):
        (tmp_path / folder).mkdir()  # made here: the watcher says nothing about them
    for name, data in BAD.items():
        (tmp_path / "inbox" / name).write_bytes(data)
    (tmp_path / "inbox" / "link-W123456789.x12").symlink_to(tmp_path / "nowhere")
    environment = {**os.environ, "EDI278_LOG_LEVEL": "INFO"}
    environment.pop("EDI278_LOG_FILE", None)
    if log_file is not None:
        environment["EDI278_LOG_FILE"] = str(log_file)
    return subprocess.run(
        watch_command(tmp_path, "--once", "--settle", "0", "--max-size", "1000"),
        capture_output=True, text=True, timeout=120, env=environment,
    )  # fmt: skip


def masked_events(text: str) -> list[dict]:
    events = [json.loads(line) for line in text.splitlines()]  # every line one JSON event
    assert all({"event", "level", "timestamp"} <= event.keys() for event in events)
    for secret in ("DOE", "JANE", "W123456789", "H998877665"):
        assert secret not in text, secret
    return events


def test_a_watch_over_bad_files_logs_only_masked_lines_on_stderr(tmp_path):
    done = watch_bad_files(tmp_path, None)
    assert done.returncode == 1  # the big one and the link went into the error folder
    events = masked_events(done.stderr)
    assert sorted(e["status"] for e in events if e["event"] == "watch.file") == [
        "accepted", "accepted", "refused", "rejected", "too large",
    ]  # fmt: skip
    assert not [e for e in events if e["level"] == "error"]  # the long name is answered too


def test_with_a_log_file_every_line_goes_there_and_stderr_stays_empty(tmp_path):
    log_file = tmp_path / "watch.jsonl"
    done = watch_bad_files(tmp_path, log_file)
    assert done.returncode == 1
    assert done.stderr == ""
    events = masked_events(log_file.read_text())
    assert len([e for e in events if e["event"] == "watch.file"]) == len(BAD) + 1
