"""Django's `migrate`, on a session of its own behind PgBouncer: migrations build indexes
concurrently and SET the statement timeout for the session, which in transaction pooling mode
would land on other clients' server connections. With DATABASE_POOLER=pgbouncer it runs on
DATABASE_DIRECT_URL's alias, or refuses in one line (legalplatform.db.pooler). On a read-only
standby it refuses in one line before anything runs."""

from django.core.management.commands import migrate

from core.commands import refuse_on_standby, session_alias

WORK = "migrate (concurrent index builds, SET outside a transaction)"


class Command(migrate.Command):
    def handle(self, *args, **options):
        options["database"] = session_alias(options["database"], WORK)
        refuse_on_standby(options["database"], "migrate the database")
        return super().handle(*args, **options)
