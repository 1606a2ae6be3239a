"""ASGI entry point; the embedded servers start on the first request that needs them."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")
application = get_asgi_application()
