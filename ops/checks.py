"""System checks (`manage.py check`) of the ops app: the anonymization rules cover every column
that can hold what a person wrote."""

from django.core import checks
from django.db import DatabaseError, connections


@checks.register(checks.Tags.models)
def check_anonymization_classification(app_configs=None, databases=None, **kwargs):
    """Every text, JSON, array and tsvector column of every model's table is classified in
    settings.ANONYMIZATION (masked by a rule or kept with a reason); with --database, every
    table of that database too, and none the project does not know (ops.anonymization)."""
    from django.conf import settings

    from ops.anonymization import rules

    tables = rules.model_tables()
    problems = rules.classification_problems(settings.ANONYMIZATION, tables, set(tables))
    for alias in databases or ():
        try:
            with connections[alias].cursor() as cursor:
                problems += rules.database_classification_problems(cursor, settings.ANONYMIZATION)
        except DatabaseError:
            continue  # an unreachable server is reported by the checks that need it
    return [
        checks.Error(problem, hint=rules.CLASSIFIED_TYPES_HINT, id="ops.E001")
        for problem in dict.fromkeys(problems)
    ]
