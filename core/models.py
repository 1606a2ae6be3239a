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


def enum_check(field: str, choices: type[models.TextChoices], table: str) -> models.CheckConstraint:
    """The database itself rejects values outside a TextChoices enum."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}), name=f"{table}_{field}_valid"
    )
