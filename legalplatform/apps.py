"""Django's admin, installed with the platform's own site (title, reports on the index)."""

from django.contrib.admin.apps import AdminConfig


class LegalPlatformAdminConfig(AdminConfig):
    default_site = "legalplatform.admin.LegalPlatformAdminSite"
