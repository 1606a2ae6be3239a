"""django-redis connection factory that starts the embedded Valkey the first time a process
connects to it (only when REDIS_URL is unset), so nothing starts for commands that never use it."""

from django.conf import settings
from django_redis.pool import ConnectionFactory as DjangoRedisConnectionFactory

from legalplatform import embedded


class ConnectionFactory(DjangoRedisConnectionFactory):
    def get_connection_pool(self, params):
        embedded_socket = f"unix://{embedded.valkey_socket_path(settings.DATA_DIR)}?"
        if settings.REDIS_EMBEDDED and params["url"].startswith(embedded_socket):
            embedded.ensure_valkey(settings.DATA_DIR)
        return super().get_connection_pool(params)
