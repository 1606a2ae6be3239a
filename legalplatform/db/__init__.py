"""The project's PostgreSQL backend: Django's own, plus the embedded server and clear errors."""
