"""gunicorn's configuration, read from the environment (docs/production.md):

    .venv/bin/gunicorn -c gunicorn.conf.py      # or: python3 dev.py serve

HOST (127.0.0.1; 0.0.0.0 for every interface) and PORT (8000) to listen on; WEB_CONCURRENCY
worker processes (one per core); WEB_THREADS threads each (4); WEB_TIMEOUT seconds before a
silent worker is restarted (30); WEB_GRACEFUL_TIMEOUT seconds a stopping worker may finish its
requests (30); WEB_KEEPALIVE seconds a connection is kept open between requests (5). Access log
to stdout, the rest to stderr, as LOG_FORMAT says. A bad value stops the start with one line.
(gunicorn takes every global name here for a setting: helpers are imported under other names.)"""

import os

from legalplatform import logs, serving
from legalplatform.config import ConfigurationError, env_int

try:
    bind = [f"{os.environ.get('HOST') or '127.0.0.1'}:{env_int('PORT', 8000, minimum=1)}"]
    workers = env_int("WEB_CONCURRENCY", serving.default_workers(), minimum=1)
    threads = env_int("WEB_THREADS", serving.DEFAULT_THREADS, minimum=1, unit="threads")
    timeout = env_int("WEB_TIMEOUT", 30, minimum=1, unit="seconds")
    graceful_timeout = env_int("WEB_GRACEFUL_TIMEOUT", 30, minimum=1, unit="seconds")
    keepalive = env_int("WEB_KEEPALIVE", 5, unit="seconds")
    logconfig_dict = logs.environment_logging_config()
except ConfigurationError as exc:
    serving.refuse(str(exc))

wsgi_app = "legalplatform.wsgi:application"
worker_class = "gthread"
# Each worker imports the application, and so opens its own database pool, after the fork.
preload_app = False
accesslog = "-"
errorlog = "-"
logger_class = "legalplatform.serving.GunicornLogger"
# No gunicornc control socket (one per user's home by default, which several servers would share).
control_socket_disable = True
on_starting = serving.on_starting
