"""Tables of the ops app: the record of every project migration applied or rolled back, with the
checksum of its file, so that an edited or deleted migration is noticed (`migration_history`)."""

from django.db import models


class MigrationRecord(models.Model):
    """One migration of a project app as this database last saw it; Django's own
    `django_migrations` only knows what is applied now, not what the file was or what was undone."""

    app = models.CharField(max_length=100, db_comment="App label, e.g. skills")
    name = models.CharField(max_length=255, db_comment="Migration name, e.g. 0001_initial")
    checksum = models.CharField(
        max_length=64,
        blank=True,
        db_comment="SHA-256 (hex) of the migration file when applied; empty when unknown",
    )
    steps = models.PositiveIntegerField(
        null=True, blank=True, db_comment="Number of operations in the migration"
    )
    applied_at = models.DateTimeField(
        null=True, blank=True, db_comment="When it was last applied (django_migrations.applied)"
    )
    rolled_back_at = models.DateTimeField(
        null=True, blank=True, db_comment="When it was last rolled back; null while applied"
    )

    class Meta:
        db_table = "migration_records"
        db_table_comment = (
            "Checksum and apply/rollback times of each project migration, kept by the "
            "post_migrate signal; read by manage.py migration_history."
        )
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="migration_records_app_name_key")
        ]
        ordering = ["applied_at", "id"]
        # The ops app's one model also carries the permission of its admin report: the database
        # statistics page shows server settings and statement texts, not for every staff user.
        permissions = [("view_database_statistics", "Can view the database statistics page")]

    def __str__(self):
        return f"{self.app}.{self.name}"
