from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Practice: firms, users, clients and cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cases import (  # noqa: F401 - both register themselves
            checks,  # the embedder system check
            signals,  # cache invalidation and logout on deactivation
        )
