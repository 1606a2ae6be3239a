"""The scheduled work as operators run it (deploy/): the systemd timers and the cron lines name
the same commands at the same times, and each command they run does its job against the test
database and an S3-compatible server (moto, on loopback) and exits non-zero when it cannot, so
that the scheduler's failure alerting works: the nightly backup sends itself and what a failed
night left behind off-site, and the freshness check fails on a missed night. The commands are
tested, not the schedulers."""

import configparser
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.processes import ROOT, database_environment, run_manage, subprocess_env
from tests.support.s3_server import S3Server

pytestmark = pytest.mark.slow

SYSTEMD = ROOT / "deploy" / "systemd"
CRON = ROOT / "deploy" / "cron" / "legalplatform"
INSTALLED_PYTHON = "/srv/legalplatform/.venv/bin/python"
UNREACHABLE = {
    "DATABASE_URL": "postgresql://app@127.0.0.1:1/legalplatform",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "BACKUP_S3_ENDPOINT_URL": "http://127.0.0.1:1",
}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(path)
    return parser


def exec_starts(service: Path) -> list[str]:
    """The ExecStart= lines of a oneshot service, in order (systemd runs them one after the
    other and stops at the first that fails; configparser would keep only the last)."""
    return [
        line.removeprefix("ExecStart=")
        for line in service.read_text().splitlines()
        if line.startswith("ExecStart=")
    ]


EVERY_MINUTE = "every minute"
# The UTC hour it runs at daily (or EVERY_MINUTE), the `manage.py` arguments of each command.
Job = tuple[int | str, list[list[str]]]


def timer_jobs() -> dict[str, Job]:
    """Each timer's service: the UTC hour it runs at and its commands, named by the first."""
    jobs = {}
    for timer in sorted(SYSTEMD.glob("*.timer")):
        calendar = unit(timer)["Timer"]["OnCalendar"]
        daily = re.fullmatch(r"\*-\*-\* (\d\d):00:00 UTC", calendar)
        assert daily or calendar == "*-*-* *:*:00 UTC", f"{timer.name}: daily or every minute"
        service_path = timer.with_suffix(".service")
        service = unit(service_path)["Service"]
        assert service["Type"] == "oneshot"
        assert service["EnvironmentFile"] == "/etc/legalplatform/env"
        commands = []
        for command in exec_starts(service_path):
            program, script, *args = command.split()
            assert (program, script) == (INSTALLED_PYTHON, "manage.py"), command
            commands.append(args)
        assert commands[0][0] not in jobs, f"{timer.name}: two units start with {commands[0]}"
        jobs[commands[0][0]] = (int(daily.group(1)) if daily else EVERY_MINUTE, commands)
    return jobs


def cron_jobs() -> dict[str, Job]:
    lines = CRON.read_text().splitlines()
    assert "CRON_TZ=UTC" in lines
    jobs = {}
    for line in lines:
        if not line.strip() or line.startswith("#") or "=" in line.split()[0]:
            continue
        minute, hour, day, month, weekday, user, *command = line.split()
        assert (day, month, weekday) == ("*", "*", "*"), line
        assert minute == "0" or (minute, hour) == ("*", "*"), line
        assert user == "legalplatform", line
        commands = []
        for part in " ".join(command).split(" && "):
            program, *args = part.split()
            assert program == "/srv/legalplatform/deploy/manage", line
            commands.append(args)
        jobs[commands[0][0]] = (EVERY_MINUTE if hour == "*" else int(hour), commands)
    return jobs


def test_timers_and_cron_lines_run_the_same_commands_at_the_same_times():
    jobs = timer_jobs()
    assert jobs == cron_jobs()
    # The seeds' 02:00 UTC; the local backup first, whatever the store's state.
    assert jobs["backup"] == (
        2,
        [["backup"], ["backup", "--upload-pending"]],
    )
    # Four hours later, a missed or failed night fails the check.
    assert jobs["backups"] == (6, [["backups", "--check", "--max-age", "26h", "--remote"]])
    assert {"backup", "backups", "sessions_cleanup", "validate"} <= set(jobs)
    assert jobs["fold_skill_usage"][0] == EVERY_MINUTE


def test_the_web_unit_runs_the_documented_server():
    service = unit(SYSTEMD / "legalplatform-web.service")["Service"]
    assert service["ExecStart"] == "/srv/legalplatform/.venv/bin/gunicorn --config gunicorn.conf.py"
    assert service["RestartPreventExitStatus"] == "2 4"  # refused starts are not retried


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A real S3-compatible server process on loopback (moto); the owner's keys are used."""
    server = S3Server(tmp_path_factory.mktemp("s3") / "server.log", {"Statement": []})
    yield server
    server.close()


@pytest.fixture
def environment_file(tmp_path, transactional_db, django_db_blocker, s3_server):
    """/etc/legalplatform/env for the test database and a new bucket of the S3 server, with an
    age key pair, as systemd and deploy/manage read it."""
    from pyrage import x25519

    with django_db_blocker.unblock():
        env = subprocess_env()
        database = database_environment()  # through PgBouncer: its variables too
    bucket = f"backups-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    identity = x25519.Identity.generate()
    path = tmp_path / "env"
    path.write_text(
        "".join(f"{name}={value}\n" for name, value in database.items())
        + f"REDIS_URL={env['REDIS_URL']}\n"
        f"BACKUP_DIR={tmp_path / 'backups'}\n"
        f"BACKUP_STORAGE_URL=s3://{bucket}/nightly/\n"
        f"BACKUP_S3_ENDPOINT_URL={s3_server.endpoint_url}\n"
        f"BACKUP_AGE_RECIPIENT={identity.to_public()}\n"
        f"BACKUP_AGE_IDENTITY={identity}\n"
        f"AWS_ACCESS_KEY_ID={s3_server.owner.access_key_id}\n"
        f"AWS_SECRET_ACCESS_KEY={s3_server.owner.secret_access_key}\n"
        "AWS_REGION=us-east-1\n"
    )
    return path


def read_environment_file(path: Path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def run_unit_command(args: list[str], environment: dict) -> subprocess.CompletedProcess:
    """ExecStart of a unit, with this checkout in place of /srv/legalplatform."""
    return run_manage(*args, env=environment)


def run_job(commands: list[list[str]], environment: dict) -> subprocess.CompletedProcess:
    """A unit's commands in order, stopping at the first that fails (as systemd and && do)."""
    for args in commands:
        result = run_unit_command(args, environment)
        if result.returncode != 0:
            break
    return result


def test_each_scheduled_command_does_its_job(environment_file, tmp_path):
    environment = read_environment_file(environment_file)
    # In the night's order (what runs every minute first).
    jobs = sorted(
        timer_jobs().items(), key=lambda item: -1 if item[1][0] == EVERY_MINUTE else item[1][0]
    )
    # Nothing off-site yet: the freshness check fails, in one line.
    check = run_job(dict(jobs)["backups"][1], environment)
    assert check.returncode == 1, check.stdout
    assert (
        check.stderr.strip().startswith("CommandError: no verified backup of ")
        and "nightly/" in check.stderr
    )
    # A night with the store down: the backup fails, and is kept here.
    store_down = {**environment, "BACKUP_S3_ENDPOINT_URL": UNREACHABLE["BACKUP_S3_ENDPOINT_URL"]}
    down = run_job(dict(jobs)["backup"][1], store_down)
    assert down.returncode != 0 and len(down.stderr.strip().splitlines()) == 1, down.stderr
    # The next night every unit does its job; the backup sends tonight's and last night's.
    for name, (_, commands) in jobs:
        result = run_job(commands, environment)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    dumps = [p for p in (tmp_path / "backups").iterdir() if p.name.endswith(".dump.age")]
    assert len(dumps) == 2
    assert all(p.stat().st_size > 0 and (p.stat().st_mode & 0o777) == 0o600 for p in dumps)
    listing = run_unit_command(["backups", "--remote", "--json"], environment)
    remote = json.loads(listing.stdout)
    assert sorted(item["file"] for item in remote) == sorted(p.name for p in dumps)
    assert all(item["verified"] and item["encrypted"] for item in remote), remote


def test_each_scheduled_command_exits_non_zero_when_it_cannot_work(environment_file):
    environment = {**read_environment_file(environment_file), **UNREACHABLE}
    for name, (_, commands) in timer_jobs().items():
        for args in commands:
            result = run_unit_command(args, environment)
            assert result.returncode != 0, (name, args, result.stdout)
            # One line saying why (the scheduler mails or journals it), no traceback.
            assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
            assert "Traceback" not in result.stderr


def test_the_cron_wrapper_loads_the_environment_file(environment_file):
    env = subprocess_env(LEGALPLATFORM_ENV_FILE=str(environment_file))
    ran = subprocess.run(
        [str(ROOT / "deploy" / "manage"), *cron_jobs()["sessions_cleanup"][1][0]],
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
