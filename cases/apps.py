from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Practice: firms, users, clients and cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cases import (  # noqa: F401 - they register themselves
            checks,  # the embedder system check
            integrity,  # validate's rules of the practice data
            signals,  # cache invalidation and logout on deactivation
        )
