"""System checks (`manage.py check`) for settings that fit together only as a whole."""

from django.core import checks
from django.db import DatabaseError, connections

from legalplatform import budget

SIZING_HINT = (
    "instances × processes × pool size + reserve ≤ max connections. With 20 connections and the "
    "reserve of 3: 1 instance × 2 processes × 8, 2 × 1 × 8, 2 × 2 × 4, 3 × 1 × 5, 4 × 1 × 4; more "
    "need a server with more connections or PgBouncer (README, 'Connection budget')."
)


@checks.register(checks.Tags.database)
def check_connection_budget(app_configs=None, databases=None, **kwargs):
    """Every pool of the fleet and the operators' reserve must fit in DATABASE_MAX_CONNECTIONS;
    with --database, also in what the server itself allows (behind PgBouncer: PgBouncer)."""
    configured = budget.configured_budget()
    if problem := configured.problem():
        return [checks.Error(problem, hint=SIZING_HINT, id="legalplatform.E001")]
    warnings = []
    for alias in databases or ():
        try:
            with connections[alias].cursor() as cursor:
                limit = budget.read_server_limit(cursor)
        except DatabaseError:
            continue  # an unreachable server is reported by the checks that need it
        if problem := budget.limit_problem(configured, limit, connections[alias].settings_dict):
            warnings.append(checks.Warning(problem, id="legalplatform.W001"))
    return warnings
