#!/usr/bin/env python3
"""Quick start on a machine with only Python 3.11: `python3 dev.py up` installs the project into
.venv, migrates and seeds the (embedded) database and serves the admin; `python3 dev.py test` runs
the whole test suite; `python3 dev.py serve` is production serving (gunicorn). Standard library
only, since it runs before anything is installed."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed-pyproject-sha256"


def run(*args: str | Path) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_installed() -> None:
    """Create .venv and install the project with its dev extras; again when pyproject changes."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs before anything is installed
        sys.exit(f"error: Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV.relative_to(ROOT)} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def up(address: str) -> None:
    run(PYTHON, "manage.py", "migrate", "--noinput")
    run(PYTHON, "manage.py", "seed", "--noinput")
    print(f"\nadmin: http://{address}/admin/  (stop with Ctrl-C)\n", flush=True)
    os.execv(PYTHON, [str(PYTHON), "manage.py", "runserver", address])


def serve(address: str | None) -> None:
    """Production serving: collect the static files, then gunicorn with gunicorn.conf.py (which
    reads the environment: APP_ENV, workers, threads, logs; docs/production.md)."""
    env = dict(os.environ)
    if address:
        env["HOST"], _, env["PORT"] = address.rpartition(":")
    run(PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "0")
    gunicorn = VENV / "bin" / "gunicorn"
    os.execve(gunicorn, [str(gunicorn), "--config", str(ROOT / "gunicorn.conf.py")], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="install, migrate, seed and serve the admin")
    up_parser.add_argument("address", nargs="?", default="127.0.0.1:8000")
    serve_parser = sub.add_parser(
        "serve", help="collect static files and serve with gunicorn (production serving)"
    )
    serve_parser.add_argument("address", nargs="?", help="HOST:PORT (default: HOST and PORT)")
    sub.add_parser("install", help="only create .venv and install the project")
    test_parser = sub.add_parser(
        "test", help="run the whole test suite (extra arguments go to pytest)"
    )
    test_parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="through a real PgBouncer in transaction mode (TEST_DATABASE_POOLER=pgbouncer)",
    )
    args, rest = parser.parse_known_args()

    ensure_installed()
    if args.command == "up":
        up(args.address)
    elif args.command == "serve":
        serve(args.address)
    elif args.command == "test":
        env = dict(os.environ, **({"TEST_DATABASE_POOLER": "pgbouncer"} if args.pgbouncer else {}))
        os.execve(PYTHON, [str(PYTHON), "-m", "pytest", *rest], env)


if __name__ == "__main__":
    main()
