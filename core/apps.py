from django.apps import AppConfig
from django.db.models.signals import pre_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import checks, extensions  # noqa: F401 - checks register themselves

        pre_migrate.connect(extensions.require_extensions, sender=self)
