"""`manage.py sessions_cleanup`: remove the per-user index entries of expired sessions, nightly
from cron (e.g. `0 2 * * * manage.py sessions_cleanup`); prints how many."""

from legalplatform.sessions import session_manager
from ops.management.commands._redis import RedisCommand


class Command(RedisCommand):
    help = (
        "Remove the per-user index entries of sessions that have expired (Redis expires the "
        "sessions themselves) and print how many. Run nightly."
    )

    def handle(self, *args, verbosity, **options):
        removed = session_manager.cleanup()
        if verbosity:
            self.stdout.write(f"Cleaned up {removed} expired session{'' if removed == 1 else 's'}")
