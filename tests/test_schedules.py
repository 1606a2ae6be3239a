"""The scheduled work as operators run it (deploy/): the systemd timers and the cron lines name
the same commands at the same times, and each command they run does its job against the test
database and exits non-zero when it cannot, so that the scheduler's failure alerting works.
The commands are tested, not the schedulers."""

import configparser
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import ROOT, run_manage, subprocess_env

pytestmark = pytest.mark.slow

SYSTEMD = ROOT / "deploy" / "systemd"
CRON = ROOT / "deploy" / "cron" / "legalplatform"
INSTALLED_PYTHON = "/srv/legalplatform/.venv/bin/python"
UNREACHABLE = {
    "DATABASE_URL": "postgresql://app@127.0.0.1:1/legalplatform",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(path)
    return parser


def timer_jobs() -> dict[str, tuple[int, list[str]]]:
    """`manage.py` arguments of each timer's service, with the UTC hour it runs at."""
    jobs = {}
    for timer in sorted(SYSTEMD.glob("*.timer")):
        calendar = unit(timer)["Timer"]["OnCalendar"]
        hour = re.fullmatch(r"\*-\*-\* (\d\d):00:00 UTC", calendar)
        assert hour, f"{timer.name}: a daily time in UTC: {calendar}"
        service = unit(timer.with_suffix(".service"))["Service"]
        assert service["Type"] == "oneshot"
        assert service["EnvironmentFile"] == "/etc/legalplatform/env"
        program, script, *args = service["ExecStart"].split()
        assert (program, script) == (INSTALLED_PYTHON, "manage.py")
        jobs[args[0]] = (int(hour.group(1)), args)
    return jobs


def cron_jobs() -> dict[str, tuple[int, list[str]]]:
    lines = CRON.read_text().splitlines()
    assert "CRON_TZ=UTC" in lines
    jobs = {}
    for line in lines:
        if not line.strip() or line.startswith("#") or "=" in line.split()[0]:
            continue
        minute, hour, day, month, weekday, user, program, *args = line.split()
        assert (minute, day, month, weekday) == ("0", "*", "*", "*"), line
        assert user == "legalplatform", line
        assert program == "/srv/legalplatform/deploy/manage", line
        jobs[args[0]] = (int(hour), args)
    return jobs


def test_timers_and_cron_lines_run_the_same_commands_at_the_same_times():
    jobs = timer_jobs()
    assert jobs == cron_jobs()
    assert jobs["backup"] == (2, ["backup", "--noinput"])  # the seeds' 02:00 UTC
    assert {"backup", "sessions_cleanup", "validate"} <= set(jobs)


def test_the_web_unit_runs_the_documented_server():
    service = unit(SYSTEMD / "legalplatform-web.service")["Service"]
    assert service["ExecStart"] == "/srv/legalplatform/.venv/bin/gunicorn --config gunicorn.conf.py"
    assert service["RestartPreventExitStatus"] == "2 4"  # refused starts are not retried


@pytest.fixture
def environment_file(tmp_path, transactional_db, django_db_blocker):
    """/etc/legalplatform/env for the test database, as systemd and deploy/manage read it."""
    with django_db_blocker.unblock():
        env = subprocess_env()
    path = tmp_path / "env"
    path.write_text(
        f"DATABASE_URL={env['DATABASE_URL']}\n"
        f"REDIS_URL={env['REDIS_URL']}\n"
        f"BACKUP_DIR={tmp_path / 'backups'}\n"
    )
    return path


def read_environment_file(path: Path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def run_unit_command(args: list[str], environment: dict) -> subprocess.CompletedProcess:
    """ExecStart of a unit, with this checkout in place of /srv/legalplatform."""
    return run_manage(*args, env=environment)


def test_each_scheduled_command_does_its_job(environment_file, tmp_path):
    environment = read_environment_file(environment_file)
    for name, (_, args) in timer_jobs().items():
        result = run_unit_command(args, environment)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    (dump,) = [p for p in (tmp_path / "backups").iterdir() if p.suffix == ".dump"]
    assert dump.stat().st_size > 0 and (dump.stat().st_mode & 0o777) == 0o600


def test_each_scheduled_command_exits_non_zero_when_it_cannot_work(environment_file):
    environment = {**read_environment_file(environment_file), **UNREACHABLE}
    for name, (_, args) in timer_jobs().items():
        result = run_unit_command(args, environment)
        assert result.returncode != 0, (name, result.stdout)
        # One line saying why (the scheduler mails or journals it), no traceback.
        assert len(result.stderr.strip().splitlines()) == 1, (name, result.stderr)
        assert "Traceback" not in result.stderr


def test_the_cron_wrapper_loads_the_environment_file(environment_file):
    env = subprocess_env(LEGALPLATFORM_ENV_FILE=str(environment_file))
    ran = subprocess.run(
        [str(ROOT / "deploy" / "manage"), *cron_jobs()["sessions_cleanup"][1]],
        env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"},  # the file's value wins
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Cleaned up ")
    missing = subprocess.run(
        [str(ROOT / "deploy" / "manage"), "validate"],
        env={**env, "LEGALPLATFORM_ENV_FILE": str(environment_file) + ".missing"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: deploy/manage: cannot read")
