"""Progress bars on a real terminal: a long `embed_documents` run in a pseudo-terminal redraws
one line in place (a few lines in all, the summary intact), small totals are whole numbers
("0/28 tables"), and the time left is shown only once there is a rate."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time

import pytest

from cases.models import Firm, User
from cases.tests.builders import make_case, make_document, make_user
from core.progress import progress_bar
from tests.support.processes import ROOT, subprocess_env

COLUMNS = 160


def run_in_terminal(*args: str, env: dict) -> str:
    """`manage.py ARGS` with a pseudo-terminal of COLUMNS columns as its stdin, stdout and
    stderr; everything it wrote to the terminal."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**env, "TERM": "xterm-256color"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    output = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=300)
    os.close(controller)
    assert process.returncode == 0, output.decode(errors="replace")
    return output.decode()


@pytest.mark.slow
def test_a_long_run_redraws_one_line_and_keeps_its_summary(transactional_db):
    firm = Firm.objects.create(name="Alpha Legal", vat_id="RO1001")
    partner = make_user(firm, User.Role.PARTNER)
    case = make_case(firm)
    for n in range(400):
        make_document(case, title=f"Brief {n}", content=f"argument number {n}", author=partner)
    started = time.perf_counter()
    output = run_in_terminal("embed_documents", "--batch-size", "2", env=subprocess_env())
    lines = output.replace("\r\n", "\n").split("\n")
    assert time.perf_counter() - started > 1  # long enough for the bar to be redrawn
    assert output.count("\r") >= 3  # redrawn in place
    assert "0/400 docs" in output and "0.00" not in output
    assert len([line for line in lines if line.strip()]) <= 3, lines
    summary = [line for line in lines if line.strip()][-1]
    assert summary.split("\r")[-1].strip().startswith("embedded 400 documents with ")


class Terminal:
    """A stand-in for a command's stderr on a terminal, keeping what is written."""

    def __init__(self):
        self.written = []

    def write(self, text):
        self.written.append(text)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_small_totals_are_whole_and_the_time_left_waits_for_a_rate():
    bar = progress_bar(Terminal(), total=28, desc="backup of demo", unit="tables")
    first = bar.format_meter(**bar.format_dict)
    assert "0/28 tables" in first and "left" not in first and "?" not in first
    time.sleep(0.05)
    bar.update(7)
    later = bar.format_meter(**bar.format_dict)
    assert "7/28 tables" in later and " left]" in later
    bar.close()
    large = progress_bar(Terminal(), total=2_000_000, desc="rows")
    large.update(1_234_567)
    assert "1.23M/2.00M rows" in large.format_meter(**large.format_dict)


def test_nothing_is_drawn_when_piped():
    class Pipe(Terminal):
        def isatty(self):
            return False

    pipe = Pipe()
    with progress_bar(pipe, total=10, desc="work") as bar:
        bar.update(10)
    assert pipe.written == []
