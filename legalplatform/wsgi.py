"""WSGI entry point (gunicorn -c gunicorn.conf.py serves it). It refuses to start, in one line,
with a connection budget that does not fit or on a Redis Cluster; the embedded servers start on
the first request that needs them."""

import os

from django.core.wsgi import get_wsgi_application

from legalplatform.budget import refuse_start_unless_it_fits
from legalplatform.redis import refuse_start_on_a_cluster

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")
application = get_wsgi_application()
refuse_start_unless_it_fits()
refuse_start_on_a_cluster()
