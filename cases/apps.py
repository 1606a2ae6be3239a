from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Practice: firms, users, clients and cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # checks register themselves; signals: cache invalidation and logout on deactivation
        from cases import checks, signals  # noqa: F401
