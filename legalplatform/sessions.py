"""Sessions in Redis. As `SESSION_ENGINE` this module keeps Django's sessions (the admin's logins)
under `session:{id}`; `session_manager` reads and writes the same sessions and keeps a per-user
index, the set `session:user:{user id}`, so that finding or ending one user's sessions costs in
proportion to that user's sessions, never a scan of every session in Redis."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from itertools import islice

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.cache import caches
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

from legalplatform.redis import OUTAGE_ERRORS, OutageLog, RedisUnavailable, ttl_seconds

logger = logging.getLogger(__name__)

# A session id: Django's 32 characters [a-z0-9], or a caller's own id of these characters. Never a
# ':' (the index lives under session:user:…) and never whitespace.
SESSION_ID = re.compile(r"[A-Za-z0-9._-]{1,255}")
# Seconds a client is told to wait before retrying while sessions are unavailable.
RETRY_AFTER = 30

# Stores a session and, for a signed-in user's session, adds it to that user's index, atomically.
# The index lives as long as its longest-lived session: EXPIRE … NX sets a TTL on a new index,
# EXPIRE … GT only ever lengthens it (both Redis ≥ 7).
#   KEYS[1] the session, KEYS[2] the user's index (absent for an anonymous session)
#   ARGV[1] the encoded session, ARGV[2] TTL in seconds, ARGV[3] the SET condition: "NX" (only a
#   new session), "XX" (only an existing one) or "" (always), ARGV[4] the session id
_STORE_SESSION = """
local stored
if ARGV[3] == '' then
  stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], ARGV[3])
end
if not stored then
  return 0
end
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[2], 'NX')
  redis.call('EXPIRE', KEYS[2], ARGV[2], 'GT')
end
return 1
"""
_CONDITIONS = {None: "", "new": "NX", "existing": "XX"}

# Removes from each index (KEYS) the ids whose session (ARGV[1] .. id) no longer exists; returns
# how many. Server-side, because a round of commands per entry costs the client ~50 µs each.
_PRUNE_INDEXES = """
local removed = 0
for _, index in ipairs(KEYS) do
  for _, session_id in ipairs(redis.call('SMEMBERS', index)) do
    if redis.call('EXISTS', ARGV[1] .. session_id) == 0 then
      removed = removed + redis.call('SREM', index, session_id)
    end
  end
end
return removed
"""
# Index keys per pruning script: a few milliseconds of the server's time per script.
CLEANUP_BATCH = 500


def _needs_redis(method):
    """Turns a Redis outage into RedisUnavailable for a manager method."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OUTAGE_ERRORS as exc:
            raise RedisUnavailable.because(exc, "for sessions") from exc

    return guarded


def _chunks(iterable, size: int):
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SessionManager:
    """Sessions by id and by user, on the cache alias `SESSION_CACHE_ALIAS`. Session data is a
    dict of JSON-safe values; a session whose data holds Django's `_auth_user_id` belongs to
    that user. Every method raises RedisUnavailable when Redis cannot be reached: a session is
    never silently lost or taken for absent."""

    def __init__(self, alias: str | None = None):
        self.alias = alias

    @property
    def cache(self):
        """The django-redis cache the sessions live in (its prefix, serializer and pool)."""
        return caches[self.alias or settings.SESSION_CACHE_ALIAS]

    def _redis(self):
        return self.cache.client.get_client(write=True)

    def key(self, session_id: str) -> str:
        """The session's key in Redis, `session:{session_id}`; ValueError for a malformed id."""
        if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
            raise ValueError(f"not a session id: {session_id!r}")
        return self.cache.make_key(session_id)

    def index_key(self, user_id) -> str:
        """The key of the user's index, `session:user:{user_id}`."""
        return self.cache.make_key(f"user:{user_id}")

    def _decode(self, value: bytes) -> dict:
        return self.cache.client.decode(value)

    @_needs_redis
    def set(self, session_id: str, data: dict, ttl: int | None = None, *, only_if=None) -> bool:
        """Store `data` as the session for `ttl` seconds (default SESSION_COOKIE_AGE, 24 h), in
        the index of its user if it has one. `only_if="new"` stores only a session that does not
        exist yet, `only_if="existing"` only one that still exists; returns whether it stored."""
        if not isinstance(data, dict):
            raise TypeError(f"session data is a dict; got {type(data).__name__}")
        keys = [self.key(session_id)]
        if (user_id := data.get(SESSION_KEY)) is not None:
            keys.append(self.index_key(user_id))
        ttl = ttl_seconds(ttl, settings.SESSION_COOKIE_AGE)
        args = [self.cache.client.encode(data), ttl, _CONDITIONS[only_if], session_id]
        client = self._redis()
        return bool(client.register_script(_STORE_SESSION)(keys=keys, args=args, client=client))

    @_needs_redis
    def get(self, session_id: str) -> dict | None:
        """The session's data, or None if it has expired or never existed."""
        value = self._redis().get(self.key(session_id))
        return None if value is None else self._decode(value)

    @_needs_redis
    def exists(self, session_id: str) -> bool:
        return bool(self._redis().exists(self.key(session_id)))

    @_needs_redis
    def refresh(self, session_id: str, ttl: int | None = None) -> bool:
        """Let the session live `ttl` more seconds from now (default SESSION_COOKIE_AGE); False
        if it has expired or never existed."""
        key, ttl = self.key(session_id), ttl_seconds(ttl, settings.SESSION_COOKIE_AGE)
        client = self._redis()
        with client.pipeline(transaction=False) as pipe:
            extended, value = pipe.expire(key, ttl).get(key).execute()
        if not extended:
            return False
        if (user_id := self._decode(value).get(SESSION_KEY)) is not None:
            index = self.index_key(user_id)
            with client.pipeline(transaction=False) as pipe:
                pipe.expire(index, ttl, nx=True).expire(index, ttl, gt=True).execute()
        return True

    @_needs_redis
    def delete(self, session_id: str) -> bool:
        """End the session (log out); False if it had already expired or never existed."""
        client = self._redis()
        value = client.getdel(self.key(session_id))
        if value is None:
            return False
        if (user_id := self._decode(value).get(SESSION_KEY)) is not None:
            client.srem(self.index_key(user_id), session_id)
        return True

    @_needs_redis
    def user_sessions(self, user_id) -> dict[str, dict]:
        """The user's live sessions, {session id: data}: two round trips (the index, then the
        sessions in one MGET) whatever the number of sessions in Redis."""
        return self._sessions_of(self.cache, self._redis(), str(user_id))

    @_needs_redis
    def delete_user_sessions(self, user_id) -> int:
        """End every session of the user (log them out everywhere); returns how many. One round
        trip more than user_sessions."""
        cache = self.cache
        client = self._redis()
        sessions = self._sessions_of(cache, client, str(user_id))
        if not sessions:
            return 0
        with client.pipeline(transaction=True) as pipe:
            pipe.delete(*map(cache.make_key, sessions))
            pipe.srem(self.index_key(user_id), *sessions)
            deleted, _ = pipe.execute()
        return deleted

    def _sessions_of(self, cache, client, user_id: str) -> dict[str, dict]:
        """The live sessions the user's index names. Entries of sessions that expired (or that
        no longer belong to the user) leave the index on the way."""
        index = self.index_key(user_id)
        session_ids = sorted(member.decode() for member in client.smembers(index))
        if not session_ids:
            return {}
        values = client.mget(list(map(cache.make_key, session_ids)))
        sessions, stale = {}, []
        for session_id, value in zip(session_ids, values, strict=True):
            data = None if value is None else cache.client.decode(value)
            if data is not None and str(data.get(SESSION_KEY)) == user_id:
                sessions[session_id] = data
            else:
                stale.append(session_id)
        if stale:
            client.srem(index, *stale)
        return sessions

    @_needs_redis
    def cleanup(self) -> int:
        """Remove index entries whose sessions have expired; returns how many. Redis expires the
        sessions themselves; this keeps the indexes small. It walks the index keys with SCAN
        (never KEYS) and checks each batch of them in one short script on the server."""
        cache = self.cache
        client = self._redis()
        scan = client.scan_iter(
            match=cache.client.make_pattern("user:*"), count=settings.DJANGO_REDIS_SCAN_ITERSIZE
        )
        prune = client.register_script(_PRUNE_INDEXES)
        session_prefix = cache.make_key("")
        return sum(
            prune(keys=index_keys, args=[session_prefix], client=client)
            for index_keys in _chunks(scan, CLEANUP_BATCH)
        )


session_manager = SessionManager()


class SessionStore(SessionBase):
    """Django's session store on `session_manager` (`SESSION_ENGINE = "legalplatform.sessions"`):
    logins, logouts and key cycling keep the per-user index. Unlike Django's cache store it does
    not take an unreachable Redis for an empty session: it raises RedisUnavailable and keeps it
    (`redis_failure`), and SessionMiddleware answers 503."""

    redis_failure: RedisUnavailable | None = None
    redis_answered = False

    @contextlib.contextmanager
    def _redis(self):
        try:
            yield
        except RedisUnavailable as exc:
            self.redis_failure = exc
            raise
        self.redis_answered = True

    def _validate_session_key(self, key):
        # A cookie can hold anything: only ids the manager accepts name a session.
        return bool(super()._validate_session_key(key) and SESSION_ID.fullmatch(key))

    def load(self):
        with self._redis():
            data = session_manager.get(self.session_key)
        if data is None:
            self._session_key = None
            return {}
        return data

    def exists(self, session_key):
        if not (session_key and SESSION_ID.fullmatch(session_key)):
            return False
        with self._redis():
            return session_manager.exists(session_key)

    def create(self):
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # another request took this key in the meantime
            self.modified = True
            return

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        ttl = max(self.get_expiry_age(), 1)  # an expiry date in the past: gone in a second
        with self._redis():
            stored = session_manager.set(
                self.session_key, data, ttl, only_if="new" if must_create else "existing"
            )
        if not stored:
            raise CreateError if must_create else UpdateError

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        with self._redis():
            session_manager.delete(session_key)

    @classmethod
    def clear_expired(cls):
        session_manager.cleanup()


_outage = OutageLog(logger, "requests that need a session are answered with 503")


def sessions_unavailable(request, exc: RedisUnavailable) -> HttpResponse:
    """The 503 answer (with Retry-After) to a request whose session Redis cannot serve: a page,
    or JSON for API clients. The outage is logged once a minute (and not by django.request for
    every such response)."""
    _outage.failure(exc.__cause__ or exc)
    message = "Sign-in sessions are temporarily unavailable. Please try again in a minute."
    if request.path.startswith("/api/") or not request.accepts("text/html"):
        response = JsonResponse({"error": message}, status=503)
    else:
        page = render_to_string("503.html", {"message": message, "retry_after": RETRY_AFTER})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    add_never_cache_headers(response)
    response._has_been_logged = True  # django.utils.log.log_response's own marker
    return response


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, answering 503 (sessions_unavailable) instead of 500 when Redis
    cannot serve the request's session: whether that shows in the view or its template
    (process_exception), in a middleware further in (its 500 is replaced), or when the session is
    saved here."""

    async_capable = False  # __call__ below is the synchronous path; Django adapts for ASGI

    def __call__(self, request):
        try:
            response = super().__call__(request)
        except RedisUnavailable as exc:
            return sessions_unavailable(request, exc)
        session = getattr(request, "session", None)
        if failure := getattr(session, "redis_failure", None):
            if response.status_code == 500:
                return sessions_unavailable(request, failure)
        elif getattr(session, "redis_answered", False):
            _outage.success()
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RedisUnavailable):
            return sessions_unavailable(request, exception)
        return None
