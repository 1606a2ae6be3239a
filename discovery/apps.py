from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "discovery"
    verbose_name = "Document-type discovery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from discovery import integrity  # noqa: F401 - validate's rules register themselves
