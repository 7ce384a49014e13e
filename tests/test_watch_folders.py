"""`edi278 watch --inbox var/inbox --outbox var/outbox`, the README's example, on a fresh
clone: the real command makes the folders it needs and says so, one line each."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]
EDI278 = ROOT / ".venv" / "bin" / "edi278"
EXAMPLE = [str(EDI278), "watch", "--inbox", "var/inbox", "--outbox", "var/outbox"]
REQUEST = ROOT / "samples" / "requests" / "10-ct-chest-urgent.x12"


def watch_once(cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXAMPLE, "--once", "--settle", "0", *options],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_readme_example_makes_its_folders_on_a_fresh_clone_and_says_so(tmp_path):
    done = watch_once(tmp_path)
    assert (done.returncode, done.stdout) == (0, "")
    var = tmp_path / "var"
    assert done.stderr.splitlines() == [
        "edi278 watch: made the folder var/inbox, which did not exist",
        f"edi278 watch: made the folder {var / 'processing'}, which did not exist",
        f"edi278 watch: made the folder {var / 'archive'}, which did not exist",
        f"edi278 watch: made the folder {var / 'error'}, which did not exist",
        "edi278 watch: made the folder var/outbox, which did not exist",
    ]
    for name in ("inbox", "outbox", "processing", "archive", "error"):
        assert (var / name).is_dir(), name


def test_once_made_the_folders_are_used_silently_and_a_file_dropped_is_answered(tmp_path):
    watch_once(tmp_path)
    (tmp_path / "var" / "inbox" / REQUEST.name).write_bytes(REQUEST.read_bytes())
    done = watch_once(tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"var/inbox/{REQUEST.name}: accepted -> {tmp_path / 'var' / 'archive' / REQUEST.name}; "
        "answers: var/outbox/10-ct-chest-urgent.999, var/outbox/10-ct-chest-urgent.278\n"
    )


def test_an_inbox_that_is_a_file_is_bad_usage(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "inbox").write_text("not a folder")
    done = watch_once(tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--inbox': Directory 'var/inbox' is a file."
    )
