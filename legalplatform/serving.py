"""Production serving with gunicorn (gunicorn.conf.py): the number of workers, the checks the
master runs before it forks any (the connection budget, collected static files), and the access
log as one structured record per request."""

from __future__ import annotations

import os
import sys

from gunicorn.glogging import Logger

DEFAULT_THREADS = 4


def default_workers() -> int:
    """One worker process per CPU core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def refuse(message: str, status: int = 2) -> None:
    sys.stderr.write(f"error: refusing to start: {message}\n")
    sys.stderr.flush()
    raise SystemExit(status)


def on_starting(server) -> None:
    """gunicorn's master, before it forks: tell the workers' settings how many of them there are
    (WEB_CONCURRENCY, counted in the connection budget), then refuse in one line a budget that
    does not fit or production static files that were not collected. No database connection is
    opened here: each worker loads the application, and opens its pool, after the fork."""
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from legalplatform.budget import configured_budget

    try:
        budget = configured_budget()
        static_problem = missing_static_files(settings)
    except ImproperlyConfigured as exc:
        refuse(" ".join(str(exc).split()))
    if problem := budget.problem():
        refuse(problem)
    if static_problem:
        refuse(static_problem)
    server.log.info("connection budget: %s", budget.describe())
    if server.cfg.threads > budget.pool_size:
        server.log.warning(
            "WEB_THREADS=%s is more than DATABASE_POOL_SIZE=%s: threads will wait for a database "
            "connection",
            server.cfg.threads,
            budget.pool_size,
        )


def missing_static_files(settings) -> str | None:
    """Outside development the admin's CSS is served from STATIC_ROOT by its hashed names: the
    manifest collectstatic writes must be there."""
    storage = settings.STORAGES["staticfiles"]["BACKEND"]
    if "Manifest" not in storage:
        return None
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    if manifest.is_file():
        return None
    return (
        f"no collected static files in STATIC_ROOT={settings.STATIC_ROOT} "
        "(run manage.py collectstatic --noinput first)"
    )


class GunicornLogger(Logger):
    """gunicorn's logger whose access log is one structured record per request: method, path
    (without the query string, which may hold personal data), status, duration, client address
    and the request id the application returned."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status
        status = int(status.split(None, 1)[0] if isinstance(status, str) else status)
        request_id = next(
            (value for name, value in resp.headers if name.lower() == "x-request-id"), "-"
        )
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        self.access_log.info(
            "%s %s %s %.1f ms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "request_id": request_id,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "remote_addr": environ.get("REMOTE_ADDR", ""),
            },
        )
