"""The operator commands' base: every command of the project is an OperatorCommand, a
`--database` alias that is not configured is one line and exit 1 for each of them (through a real
`manage.py`), and tables line up whatever colours their cells have."""

import io

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command, get_commands, load_command_class

from core.commands import OperatorCommand, Styled
from ops.history.selectors import project_app_labels
from tests.support.processes import run_manage


def project_commands() -> dict[str, str]:
    """name -> app of every management command the project's own apps define."""
    labels = set(project_app_labels())
    ours = {config.name for config in django_apps.get_app_configs() if config.label in labels}
    return {name: app for name, app in sorted(get_commands().items()) if app in ours}


# positional arguments a command needs before it looks at anything else
ARGUMENTS = {"restore": ["missing.dump"], "import_anonymized": ["missing.sql"]}
# Django's own commands the project extends, on Django's base: migrate (on DATABASE_DIRECT_URL
# behind PgBouncer, ops/management/commands/migrate.py).
DJANGO_EXTENDED = {"migrate"}
WITH_DATABASE = [
    name
    for name, app in project_commands().items()
    if name not in DJANGO_EXTENDED and load_command_class(app, name).uses_database
]


def test_every_command_of_the_project_is_an_operator_command():
    commands = project_commands()
    assert {"seed", "validate", "restore", "embed_documents", "embedded"} <= commands.keys()
    for name, app in commands.items():
        if name not in DJANGO_EXTENDED:
            assert isinstance(load_command_class(app, name), OperatorCommand), name
    assert set(WITH_DATABASE) == commands.keys() - {"embedded"} - DJANGO_EXTENDED


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("command", WITH_DATABASE)
def test_an_unknown_database_alias_is_one_line_and_exit_1(command):
    result = run_manage(command, *ARGUMENTS.get(command, []), "--database", "nosuch", "--noinput")
    assert result.returncode == 1
    assert result.stderr == (
        "CommandError: no database is configured as 'nosuch' (DATABASES has: default)\n"
    )
    assert result.stdout == ""


class _Tabulating(OperatorCommand):
    uses_database = False

    def handle(self, *args, **options):
        red = lambda text: f"<{text}>"  # noqa: E731 - a visible stand-in for a colour
        self.write_table(
            ("name", "count", "status"),
            [("skills", "12", Styled("ok", red)), ("skill_usage_logs", "1,200", "FAILED")],
            right=("count",),
        )


def test_a_table_pads_before_it_styles_and_leaves_the_last_column_unpadded():
    out = io.StringIO()
    call_command(_Tabulating(), stdout=out)
    assert out.getvalue().splitlines() == [
        "name              count  status",
        "skills               12  <ok>",
        "skill_usage_logs  1,200  FAILED",
    ]
