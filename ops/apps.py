from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ops import checks  # noqa: F401 - registers the system checks
        from ops.history.services import record_migration_plan
        from ops.integrity import rows, schema  # noqa: F401 - the checks every schema has

        post_migrate.connect(record_migration_plan, sender=self)
