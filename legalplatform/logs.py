"""Logs an operator can read: one logging configuration for Django and gunicorn (JSON lines or
text, levels per logger), the request id that every record and response carries, and optional
error reporting to Sentry."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from legalplatform import config

LOG_FORMATS = ("json", "text")
# A caller's X-Request-ID is kept when it looks like an id; anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_HEADER = "X-Request-ID"
# Record attributes that are objects rather than facts (Django's request and socket).
_NOT_LOGGED = ("request", "server_time")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


# --- Configuration -----------------------------------------------------------------------------


def parse_levels(value: str, *, name: str = "LOG_LEVEL") -> tuple[str, dict[str, str]]:
    """`WARNING,legalplatform=INFO,django.db.backends=DEBUG` -> the root level and one level per
    logger (a bare level is the root's; the default root level is WARNING)."""
    root, per_logger = "WARNING", {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        logger_name, _, level = item.rpartition("=")
        level = level.strip().upper()
        if level not in logging.getLevelNamesMapping() or level == "NOTSET":
            raise config.ConfigurationError(
                f"{name} must be a level (DEBUG, INFO, WARNING, ERROR, CRITICAL) or "
                f"logger=LEVEL pairs separated by commas; got {item!r}"
            )
        if logger_name.strip():
            per_logger[logger_name.strip()] = level
        else:
            root = level
    return root, per_logger


def logging_config(log_format: str, levels: str) -> dict:
    """The dictConfig of the project and of gunicorn: records to stderr, gunicorn's access log
    to stdout, every record with the request id it was logged under."""
    root, per_logger = parse_levels(levels)
    handler = {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]}
    loggers = {
        # gunicorn's own messages (start, workers, signals) and its access log, at INFO unless
        # LOG_LEVEL names them.
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        # Django's own handlers (console in DEBUG, mail_admins) give way to ours; runserver's
        # request lines are its access log.
        "django": {"level": "INFO", "handlers": []},
        "django.server": {"level": "INFO", "handlers": ["access"], "propagate": False},
        # A request that failed because PostgreSQL is down is answered 503, and the outage is
        # logged once a minute by legalplatform.db, not with a traceback per request.
        "django.request": {"filters": ["outages"]},
        # psycopg's pool warns at every failed reconnection attempt; an outage is reported
        # once a minute by legalplatform.db instead.
        "psycopg.pool": {"level": "ERROR"},
    }
    for name, level in per_logger.items():
        loggers.setdefault(name, {})["level"] = level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "legalplatform.logs.RequestContextFilter"},
            "outages": {"()": "legalplatform.logs.DatabaseOutageFilter"},
        },
        "formatters": {
            "json": {"()": "legalplatform.logs.JsonFormatter"},
            "text": {
                "()": "legalplatform.logs.TextFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
        },
        "handlers": {
            "console": {**handler, "stream": "ext://sys.stderr"},
            "access": {**handler, "stream": "ext://sys.stdout"},
        },
        "root": {"handlers": ["console"], "level": root},
        "loggers": loggers,
    }


def environment_logging_config() -> dict:
    """logging_config() from LOG_FORMAT (json, or text: the default in development) and
    LOG_LEVEL; read by settings.py and by gunicorn.conf.py alike."""
    app_env = config.env_choice("APP_ENV", config.APP_ENVIRONMENTS, default="development")
    log_format = config.env_choice(
        "LOG_FORMAT", LOG_FORMATS, default="text" if app_env == "development" else "json"
    )
    return logging_config(log_format, os.environ.get("LOG_LEVEL", ""))


class RequestContextFilter(logging.Filter):
    """Gives every record the id of the request it was logged in (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True


class DatabaseOutageFilter(logging.Filter):
    """Drops the records whose exception is a database outage (legalplatform.unavailable)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        from legalplatform.unavailable import is_database_outage

        return not is_database_outage(record.exc_info[1])


class TextFormatter(logging.Formatter):
    """Lines for people: the time in UTC (2026-11-22T10:00:00.123Z), as in the JSON lines."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class JsonFormatter(LibraryJsonFormatter):
    """One JSON object per line: time (UTC), level, logger, message, the record's extra fields
    (request_id, method, path, status, duration_ms …) and, for errors, the traceback."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "exc_info": "traceback",
                "stack_info": "stack",
            },
            reserved_attrs=[*RESERVED_ATTRS, *_NOT_LOGGED],
            json_ensure_ascii=False,
        )

    def add_fields(self, log_data, record, message_dict):
        created = datetime.fromtimestamp(record.created, tz=UTC)
        log_data["time"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)
        if log_data.get("request_id") == "-":
            del log_data["request_id"]


# --- Requests ---------------------------------------------------------------------------------


class RequestIdMiddleware:
    """The request id: the caller's `X-Request-ID` when it looks like one, else a new one. Every
    record logged during the request carries it, and the response returns it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


# --- Error reporting --------------------------------------------------------------------------


def init_error_reporting(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    """Report unhandled errors to Sentry (sentry-sdk) when SENTRY_DSN is set; personal data
    (cookies, users, client addresses, request bodies) is not sent."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
    )
