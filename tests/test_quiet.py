"""Every command is quiet: nothing on stderr that the user did not cause, with the
versions setup.cfg pins (a fresh install)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import EDI278


@pytest.mark.parametrize(
    "arguments",
    [["--version"], ["--help"], ["process", "--help"], ["sftp", "--help"], ["serve", "--help"]],
    ids=" ".join,
)
def test_a_command_that_has_nothing_to_say_about_stderr_says_nothing(arguments):
    ran = subprocess.run([*EDI278, *arguments], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout
    assert ran.stderr == ""


def test_the_commands_do_not_load_the_sftp_library_unless_sftp_runs():
    """asyncssh costs start-up time and, with some cryptography releases, warnings."""
    probe = "import sys, edi278.cli; print('asyncssh' in sys.modules)"
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (ran.stdout, ran.stderr) == ("False\n", "")


def test_the_sftp_channel_loads_without_a_warning_even_when_warnings_are_shown():
    ran = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import edi278.channels.sftp"],
        capture_output=True,
        text=True,
    )
    assert (ran.returncode, ran.stderr) == (0, "")
