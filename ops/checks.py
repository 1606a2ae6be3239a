"""System checks (`manage.py check`) of the ops app: the anonymization rules cover every column
that can hold what a person wrote."""

from django.core import checks
from django.db import DatabaseError, connections


@checks.register(checks.Tags.models)
def check_anonymization_classification(app_configs=None, databases=None, **kwargs):
    """Every text, JSON, array and tsvector column of every model's table is classified in
    settings.ANONYMIZATION (masked by a rule or kept with a reason): an error otherwise. With
    --database, the database's own tables are read too, and a column or table unknown to the
    rules is a warning (anonymize refuses to run on it), not an error: migrate runs the checks
    of its database before migrating, when a column a migration is about to drop still exists.
    """
    from django.conf import settings

    from ops.anonymization import rules

    tables = rules.model_tables()
    problems = rules.classification_problems(settings.ANONYMIZATION, tables, set(tables))
    found = [
        checks.Error(problem, hint=rules.CLASSIFIED_TYPES_HINT, id="ops.E001")
        for problem in problems
    ]
    for alias in databases or ():
        try:
            with connections[alias].cursor() as cursor:
                in_database = rules.database_classification_problems(cursor, settings.ANONYMIZATION)
        except DatabaseError:
            continue  # an unreachable server is reported by the checks that need it
        found += [
            checks.Warning(
                f"{problem} (database {alias!r}): anonymize refuses to run",
                hint=rules.CLASSIFIED_TYPES_HINT,
                id="ops.W001",
            )
            for problem in in_database
            if problem not in problems
        ]
    return found
