from django.apps import AppConfig


class SkillsConfig(AppConfig):
    name = "skills"
    verbose_name = "AI skills"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from skills import checks, integrity  # noqa: F401 - they register themselves
