from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Practice: firms, users, clients and cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cases import checks  # noqa: F401 - checks register themselves
        from cases import signals  # noqa: F401 - cache invalidation and logout on deactivation
