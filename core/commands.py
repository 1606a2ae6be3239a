"""The base of every operator command of the project, in the spirit of Django's own BaseCommand
extensions: the options they all take, one check of `--database`, progress bars, a service's
one-line errors turned into CommandError, and plain-text tables. A command parses its own
arguments, calls one service and reports; everything else it shares lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from core.progress import progress_bar


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`, else one line from argparse
    ("argument --scale: expected 0 or more, got -2") and exit 2, before anything runs."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
        return value

    return parse


def unknown_database(alias: str) -> str:
    """The one message for a --database alias that settings.DATABASES does not configure."""
    configured = ", ".join(sorted(connections.settings)) or "none"
    return f"no database is configured as {alias!r} (DATABASES has: {configured})"


def session_alias(database: str, work: str) -> str:
    """The alias to run session work on (legalplatform.db.pooler.session_database), or a
    CommandError in one line."""
    from legalplatform.db.pooler import SessionUnavailable, session_database

    try:
        return session_database(database, work)
    except SessionUnavailable as exc:
        raise CommandError(str(exc)) from None


def refuse_on_standby(database: str, work: str) -> None:
    """CommandError in one line when the server of `database` is a read-only hot standby (a
    replica), before the command writes anything. An unreachable server is left to the command,
    which says so in its own words."""
    from django.db import DatabaseError

    from legalplatform.db.base import describe_target
    from legalplatform.db.replicas import is_standby

    try:
        standby = is_standby(database)
    except DatabaseError:
        return
    if standby:
        target = describe_target(connections[database].get_connection_params())
        raise CommandError(
            f"refusing to {work}: {target} is a read-only standby (a replica); run it against "
            "the primary"
        )


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (or its class name when it has none)."""
    return " ".join(str(exc).split()) or exc.__class__.__name__


@dataclass(frozen=True)
class Styled:
    """A table cell shown through a style (e.g. self.style.ERROR), padded before it is styled so
    that colours do not shift the columns."""

    text: str
    style: Callable[[str], str]

    def __str__(self) -> str:
        return self.text


class OperatorCommand(BaseCommand):
    """Base of the operator commands.

    Options only where they do something: a command that works on a database (`uses_database`)
    takes `--database ALIAS`, checked before the command runs (an alias DATABASES does not
    configure is one line and exit 1); a command that asks before it acts says what it asks in
    `noinput_help` and takes `--noinput` (never prompt: safe in cron and scripts; `interactive` is
    then False). Exceptions of the types
    in `service_errors` raised by `handle` become CommandError with their message on one line.
    """

    uses_database = True
    database_default: str | None = DEFAULT_DB_ALIAS
    database_help = "database alias (default: default)"
    noinput_help: str | None = None  # set by the commands that ask
    service_errors: tuple[type[BaseException], ...] = ()
    # What the command does that needs a session of its own ("restore (an advisory lock, …)"):
    # behind PgBouncer, its --database becomes DATABASE_DIRECT_URL's alias, or it refuses.
    needs_session = ""
    # What the command would write ("seed the database"): refused in one line on a standby.
    refused_on_standby = ""

    def __init__(self, stdout=None, stderr=None, **kwargs):
        super().__init__(stdout=stdout, stderr=stderr, **kwargs)
        self.stream = stdout or sys.stdout

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.noinput_help:
            parser.add_argument(
                "--noinput",
                "--no-input",
                action="store_false",
                dest="interactive",
                help=self.noinput_help,
            )
        if self.uses_database:
            parser.add_argument(
                "--database", default=self.database_default, help=self.database_help
            )
        return parser

    def execute(self, *args, **options):
        database = options.get("database")
        if self.uses_database and database is not None and database not in connections:
            raise CommandError(unknown_database(database))
        if self.needs_session and database is not None:
            options["database"] = session_alias(database, self.needs_session)
        if self.refused_on_standby and database is not None:
            refuse_on_standby(options["database"], self.refused_on_standby)
        if options.get("stdout"):
            self.stream = options["stdout"]  # the raw stream, for commands that call others
        try:
            return super().execute(*args, **options)
        except self.service_errors as exc:
            raise CommandError(self.error_message(exc)) from None

    def error_message(self, exc: BaseException) -> str:
        """The CommandError message for a service error (commands may add what it means)."""
        return one_line(exc)

    def progress(self, *, total: int | None, desc: str, unit: str = "rows"):
        """The progress factory services take: a bar on stderr, drawn only on a terminal."""
        return progress_bar(self.stderr, total=total, desc=desc, unit=unit)

    def write_table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[str | Styled]],
        *,
        right: Collection[str] = (),
    ) -> None:
        """A table: a header of `columns`, then `rows` (see table_lines)."""
        for line in self.table_lines(columns, rows, right=right):
            self.stdout.write(line)

    def table_lines(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[str | Styled]],
        *,
        right: Collection[str] = (),
    ) -> Iterator[str]:
        """The header, then one line per row: cells padded to their column's widest, two spaces
        apart, the columns named in `right` right-aligned, a last left-aligned one not padded."""
        rows = list(rows)
        widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns))]
        if columns[-1] not in right:
            widths[-1] = 0
        for row in [columns, *rows]:
            cells = []
            for column, cell, width in zip(columns, row, widths, strict=True):
                text = str(cell)
                padded = text.rjust(width) if column in right else text.ljust(width)
                cells.append(cell.style(padded) if isinstance(cell, Styled) else padded)
            yield "  ".join(cells).rstrip()
