"""When, from where and with what each signed-in session was last used, kept in the session itself
(`lastActivity`, as the seeds' sessions have it, `ipAddress`, `userAgent`) and written at most
once a minute, so that the admin can show a user's sessions and an operator can tell them apart."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from legalplatform.redis import RedisUnavailable

# Seconds between two writes of a session's activity while the same browser keeps using it: a
# session read on every request is written once a minute at most, not on every request.
ACTIVITY_INTERVAL = 60
AGENT_LENGTH = 300  # characters of the User-Agent kept


@dataclass(frozen=True)
class SessionActivity:
    """What a session's data says of its use; None where it was never recorded."""

    last_used: datetime.datetime | None
    ip_address: str | None
    user_agent: str | None

    @classmethod
    def of(cls, data: dict) -> SessionActivity:
        last = data.get("lastActivity")
        last_used = parse_datetime(last) if isinstance(last, str) else None
        if last_used is not None and timezone.is_naive(last_used):
            last_used = timezone.make_aware(last_used, datetime.UTC)
        return cls(last_used, data.get("ipAddress") or None, data.get("userAgent") or None)


class SessionActivityMiddleware:
    """Records the activity of the request's session once its user is signed in (after the view,
    so a login is recorded at once and a logout not at all). Goes after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        try:
            if user is not None and user.is_authenticated and hasattr(request, "session"):
                record_activity(request)
        except RedisUnavailable:
            pass  # a session Redis cannot serve: SessionMiddleware answers for it (503)
        return response


def record_activity(request) -> bool:
    """Write the session's activity if it is older than ACTIVITY_INTERVAL or the address or the
    browser changed; returns whether it wrote."""
    session, now = request.session, timezone.now()
    ip_address = request.META.get("REMOTE_ADDR") or None
    user_agent = (request.META.get("HTTP_USER_AGENT") or "")[:AGENT_LENGTH] or None
    recorded = SessionActivity.of(session)
    if (
        recorded.last_used is not None
        and (now - recorded.last_used).total_seconds() < ACTIVITY_INTERVAL
        and (recorded.ip_address, recorded.user_agent) == (ip_address, user_agent)
    ):
        return False
    session["lastActivity"] = now.isoformat()
    session["ipAddress"] = ip_address
    session["userAgent"] = user_agent
    return True
