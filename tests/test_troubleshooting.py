"""docs/troubleshooting.md tells the truth: every command in its code blocks runs, in the page's
order, as an operator would type it (a shell, `python` on PATH), against a migrated scratch
database of its own, and exits 0."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT, subprocess_env

PAGE = ROOT / "docs" / "troubleshooting.md"
CODE_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def page_commands() -> list[str]:
    """The page's shell commands, in order (comment lines left out)."""
    return [
        line.strip()
        for block in CODE_BLOCK.findall(PAGE.read_text(encoding="utf-8"))
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_page_shows_commands_of_this_project():
    commands = page_commands()
    assert len(commands) >= 25
    assert all(re.match(r"python manage\.py [a-z_]+", command) for command in commands), [
        command for command in commands if not command.startswith("python manage.py ")
    ]


@pytest.mark.slow
def test_every_command_on_the_page_runs(scratch_db, tmp_path):
    environment = subprocess_env(
        **scratch_db.env,
        BACKUP_DIR=str(tmp_path / "backups"),
        BACKUP_ENCRYPT="false",
        BACKUP_STORAGE_URL=None,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    failures = []
    for command in page_commands():
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        if result.returncode != 0:
            failures.append(f"{command}: exit {result.returncode}: {result.stderr.strip()[-500:]}")
    assert failures == []
