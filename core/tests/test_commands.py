"""The operator commands' base: every command of the project is an OperatorCommand and thin (at
most 60 lines of logic), options appear only where they do something, a `--database` alias that
is not configured is one line and exit 1 for each of them (through a real `manage.py`), and
tables line up whatever colours their cells have."""

import ast
import inspect
import io
import tokenize

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command, get_commands, load_command_class

from core.commands import OperatorCommand, Styled
from ops.history.selectors import project_app_labels
from tests.support.processes import run_manage


def extends_djangos(command) -> bool:
    """A project command that extends one of Django's own (ops' `migrate`): it keeps Django's
    options and contract, and is not an operator command."""
    return any(
        cls.__module__.startswith("django.core.management.commands.")
        for cls in type(command).__mro__
    )


def project_commands() -> dict[str, str]:
    """name -> app of every operator command the project's own apps define (not those that
    extend Django's own)."""
    labels = set(project_app_labels())
    ours = {config.name for config in django_apps.get_app_configs() if config.label in labels}
    return {
        name: app
        for name, app in sorted(get_commands().items())
        if app in ours and not extends_djangos(load_command_class(app, name))
    }


# positional arguments a command needs before it looks at anything else
ARGUMENTS = {
    "restore": ["missing.dump"],
    "import_anonymized": ["missing.sql"],
    "prune_usage_logs": ["--before", "2020-01"],
}
WITH_DATABASE = [
    name for name, app in project_commands().items() if load_command_class(app, name).uses_database
]


def test_every_command_of_the_project_is_an_operator_command():
    commands = project_commands()
    assert extends_djangos(load_command_class("ops", "migrate"))  # Django's, on DATABASE_DIRECT_URL
    assert {"seed", "validate", "restore", "embed_documents", "embedded"} <= commands.keys()
    for name, app in commands.items():
        assert isinstance(load_command_class(app, name), OperatorCommand), name
    # Redis (sessions, cache) and the embedded servers are not a database alias.
    assert set(WITH_DATABASE) == commands.keys() - {"embedded", "cache_stats", "sessions_cleanup"}


def logic_lines(source: str) -> int:
    """Lines of logic of a command module: its statements (a statement wrapped over several lines
    for width is one), leaving out what only declares: imports, docstrings, help texts and
    add_arguments (the options)."""
    declared = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                declared |= set(range(body[0].lineno, body[0].end_lineno + 1))
        is_help = isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id.endswith("help") for target in node.targets
        )
        is_options = isinstance(node, ast.FunctionDef) and node.name == "add_arguments"
        if is_help or is_options or isinstance(node, (ast.Import, ast.ImportFrom)):
            declared |= set(range(node.lineno, node.end_lineno + 1))
    return sum(
        1
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.NEWLINE and token.start[0] not in declared
    )


def test_every_command_is_thin():
    sizes = {
        name: logic_lines(inspect.getsource(inspect.getmodule(load_command_class(app, name))))
        for name, app in project_commands().items()
    }
    assert sizes["validate"] > 0
    assert {name: size for name, size in sizes.items() if size > 60} == {}


def test_only_the_commands_that_ask_take_noinput():
    asking = {
        name
        for name, app in project_commands().items()
        if "--noinput"
        in load_command_class(app, name).create_parser("manage.py", name).format_help()
    }
    assert asking == {
        "anonymize",
        "import_anonymized",
        "migrate_undo",
        "prune_usage_logs",
        "reset_db",
        "restore",
        "seed",
    }


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("command", WITH_DATABASE)
def test_an_unknown_database_alias_is_one_line_and_exit_1(command, request):
    result = run_manage(command, *ARGUMENTS.get(command, []), "--database", "nosuch")
    assert result.returncode == 1
    # Through PgBouncer (TEST_DATABASE_POOLER) a manage.py also has DATABASE_DIRECT_URL's alias.
    aliases = "default, direct" if request.config.through_pgbouncer else "default"
    assert result.stderr == (
        f"CommandError: no database is configured as 'nosuch' (DATABASES has: {aliases})\n"
    )
    assert result.stdout == ""


# A count that is not a whole number, or below its least value: argparse's one line, exit 2,
# before the command connects to anything (core.commands.whole_number).
BAD_COUNTS = [
    ("seed", "--scale", "-2", "expected 0 or more, got -2"),
    ("usage_partitions", "--ahead", "-1", "expected 0 or more, got -1"),
    ("prune_usage_logs", "--keep-months", "0", "expected 1 or more, got 0"),
    ("embed_documents", "--batch-size", "0", "expected 1 or more, got 0"),
    ("dbstats", "--slow", "many", "expected a whole number, got 'many'"),
    ("restore", "--jobs", "0", "expected 1 or more, got 0"),
    ("migrate_undo", "--steps", "0", "expected 1 or more, got 0"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "option", "value", "message"), BAD_COUNTS)
def test_a_bad_count_is_one_line_and_exit_2(command, option, value, message):
    extra = {"restore": ["x.dump"], "migrate_undo": ["skills"]}.get(command, [])
    result = run_manage(command, *extra, option, value)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"manage.py {command}: error: argument {option}: {message}"
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
