from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ops import checks, extensions  # noqa: F401 - checks register themselves
        from ops.services.migrations import record_migration_plan

        pre_migrate.connect(extensions.require_extensions, sender=self)
        post_migrate.connect(record_migration_plan, sender=self)
