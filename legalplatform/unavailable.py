"""503 answers while a server the request needs is down: a page that reloads itself, or JSON for
API clients, never Django's 500 or its debug page. DatabaseOutageMiddleware gives them for
PostgreSQL (the sessions' middleware for Redis)."""

from __future__ import annotations

import sys

from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

from legalplatform.db.base import DatabaseUnreachable, outage_log
from legalplatform.db.outage import lost_connection

# Seconds a client is told to wait while PostgreSQL is unavailable.
DATABASE_RETRY_AFTER = 5
DATABASE_MESSAGE = "The database is temporarily unavailable. Please try again in a few seconds."


def unavailable_response(request, message: str, retry_after: int) -> HttpResponse:
    """503 with Retry-After, not cached, and not logged by django.request (the outage is logged
    once a minute where it is seen)."""
    if request.path.startswith("/api/") or not request.accepts("text/html"):
        response = JsonResponse({"error": message}, status=503)
    else:
        page = render_to_string("503.html", {"message": message, "retry_after": retry_after})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(retry_after)
    add_never_cache_headers(response)
    response._has_been_logged = True  # django.utils.log.log_response's own marker
    return response


def is_database_outage(exc: BaseException) -> bool:
    """A server that cannot be reached, or a connection it ended."""
    return isinstance(exc, DatabaseUnreachable) or lost_connection(exc)


class DatabaseOutageMiddleware:
    """Answers 503 when the request cannot be served because PostgreSQL is down: the outage
    raised in the view or its template (process_exception), or in a middleware further in
    (whose 500, the debug page in DEBUG, is replaced)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and (outage := getattr(request, "database_outage", None)):
            return database_unavailable(request, outage)
        return response

    def process_exception(self, request, exception):
        if is_database_outage(exception):
            return database_unavailable(request, exception)
        return None


def database_unavailable(request, exc: BaseException) -> HttpResponse:
    """The 503 answer to a request PostgreSQL could not serve; the outage is logged once a
    minute (with the number of such answers)."""
    outage_log.failure(exc)
    return unavailable_response(request, DATABASE_MESSAGE, DATABASE_RETRY_AFTER)


@receiver(got_request_exception)
def _note_database_outage(sender, request=None, **kwargs):
    """Django turned an exception into a 500 (inside the `except` that caught it): note on the
    request whether it was a database outage."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and is_database_outage(exc):
        request.database_outage = exc
