"""Building blocks shared by every app's models: UUID primary keys and timestamps with defaults
both in Python (for the ORM) and in the database (for raw SQL and COPY), and enum checks."""

import uuid

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class UUIDPrimaryKey(models.Model):
    """A UUID primary key made by the application, with gen_random_uuid() for raw SQL and COPY."""

    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False
    )

    class Meta:
        abstract = True


def timestamp_field(**kwargs):
    """A timestamptz defaulting to now, in Python for the ORM and in the database for COPY."""
    return models.DateTimeField(default=timezone.now, db_default=Now(), **kwargs)


def created_at_field(**kwargs):
    return timestamp_field(editable=False, **kwargs)


# Why a column upstream left nullable is never NULL here, and what an INSERT that omits it gets,
# for the kinds of column that share a reason (never_null).
JSON_NOT_NULL = "free-form JSON whose empty value is {}. Omitted: {}, as upstream."
ARRAY_NOT_NULL = (
    "a list whose empty value is '{}', so that @>, && and unnest need no NULL case. "
    "Omitted: '{}' (upstream: NULL)."
)
TIME_NOT_NULL = (
    "every row has the time it was written. Omitted: statement_timestamp(), the time of the "
    "statement (upstream: CURRENT_TIMESTAMP, of the transaction; the same in autocommit)."
)
STATISTIC_NOT_NULL = "computed by the statistics triggers. Omitted: 0, as upstream."


def never_null(table: str, column: str, why: str, meaning: str = "") -> str:
    """The comment on a column that upstream's schema left nullable and this one does not: what
    it holds, why it is never NULL and what an INSERT that omits it gets, and the constraint that
    refuses an explicit NULL (PostgreSQL 18 names a column's NOT NULL `{table}_{column}_not_null`).
    docs/skills.md and docs/discovery.md list these columns."""
    text = f"Never NULL (constraint {table}_{column}_not_null; nullable upstream): {why}"
    return f"{meaning}. {text}" if meaning else text


def enum_check(field: str, choices: type[models.TextChoices], table: str) -> models.CheckConstraint:
    """The database itself rejects values outside a TextChoices enum."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}), name=f"{table}_{field}_valid"
    )
