from django.apps import AppConfig
from django.core.signals import request_started
from django.db.models.signals import pre_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import checks, extensions  # noqa: F401 - checks register themselves
        from legalplatform.db import replicas

        pre_migrate.connect(extensions.require_extensions, sender=self)
        # A request starts without a write, so its opted-in reads may go to a replica.
        request_started.connect(replicas.begin_request, dispatch_uid="replicas.begin_request")
