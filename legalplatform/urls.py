"""URL configuration: the admin and the health endpoints."""

from django.contrib import admin
from django.urls import path

from legalplatform import health

urlpatterns = [
    path("api/health", health.health, name="health"),
    path("api/health/live", health.live, name="health-live"),
    path("api/health/database", health.database_health, name="health-database"),
    path("api/health/redis", health.redis_health, name="health-redis"),
    path("admin/", admin.site.urls),
]
