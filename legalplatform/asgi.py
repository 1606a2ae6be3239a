"""ASGI entry point. It refuses to start, in one line, with a connection budget that does not
fit or a Redis Cluster; the embedded servers start on the first request that needs them."""

import os

from django.core.asgi import get_asgi_application

from legalplatform.budget import refuse_start_unless_it_fits
from legalplatform.redis import refuse_start_on_a_cluster

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")
application = get_asgi_application()
refuse_start_unless_it_fits()
refuse_start_on_a_cluster()
