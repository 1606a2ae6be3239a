"""Sessions in Redis. As `SESSION_ENGINE` this module keeps Django's sessions (the admin's logins)
under `session:{id}`; `session_manager` reads and writes the same sessions and keeps a per-user
index, the set `session:user:{user id}`, so that finding or ending one user's sessions costs in
proportion to that user's sessions, never a scan of every session in Redis."""

from __future__ import annotations

import contextlib
import functools
import logging
import re

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.cache import caches
from django.http import HttpResponse

from legalplatform.redis import OUTAGE_ERRORS, OutageLog, RedisUnavailable, chunks, ttl_seconds
from legalplatform.unavailable import unavailable_response

logger = logging.getLogger(__name__)

# A session id: Django's 32 characters [a-z0-9], or a caller's own id of these characters. Never a
# ':' (the index lives under session:user:…) and never whitespace.
SESSION_ID = re.compile(r"[A-Za-z0-9._-]{1,255}")
# The fields of session data that name its user: Django's login (`_auth_user_id`) and the seed
# README's `userId`. A session is in the index of every user it names.
OWNER_FIELDS = (SESSION_KEY, "userId")
# Seconds a client is told to wait before retrying while sessions are unavailable.
RETRY_AFTER = 30

# Whose a session is, decided in Redis by every script below, so the index and the data can
# never disagree: the users named by OWNER_FIELDS in the stored JSON (legalplatform.redis's
# encoding: a string, a whole number below 2^53, or a tagged UUID; a top-level dict that holds
# the tag key itself is stored as tagged pairs). Anything else names no one.
_OWNERS = (
    "local OWNER_FIELDS = {"
    + ", ".join(f"'{field}'" for field in OWNER_FIELDS)
    + "}"
    + """
local function user_id(value)
  local kind = type(value)
  if kind == 'string' and value ~= '' then
    return value
  elseif kind == 'number' and value == math.floor(value) and math.abs(value) < 2^53 then
    return string.format('%d', value)
  elseif kind == 'table' and value['__t'] == 'uuid' and type(value['v']) == 'string' then
    return value['v']
  end
  return nil
end
local function owners(encoded)
  if not encoded then
    return {}
  end
  local ok, data = pcall(cjson.decode, encoded)
  if not ok or type(data) ~= 'table' then
    return {}
  end
  if data['__t'] == 'dict' and type(data['v']) == 'table' then
    local items = data['v']
    data = {}
    for _, item in ipairs(items) do
      data[item[1]] = item[2]
    end
  end
  local found, seen = {}, {}
  for _, field in ipairs(OWNER_FIELDS) do
    local id = user_id(data[field])
    if id and not seen[id] then
      seen[id] = true
      found[#found + 1] = id
    end
  end
  return found
end
local function owned_by(encoded, user)
  for _, id in ipairs(owners(encoded)) do
    if id == user then
      return true
    end
  end
  return false
end
"""
)

# Stores a session (SET with the condition) and keeps the indexes of its users: it joins the
# index of each user its new data names and leaves those of users only its old data named. An
# index lives as long as its longest-lived session: EXPIRE … NX sets a TTL on a new index,
# EXPIRE … GT only ever lengthens it (both Redis ≥ 7). Returns 1 if it stored, else 0.
#   KEYS[1] the session; ARGV[1] the encoded session, ARGV[2] TTL in seconds, ARGV[3] the SET
#   condition: "NX" (only a new session), "XX" (only an existing one) or "" (always),
#   ARGV[4] the session id, ARGV[5] the prefix of index keys (session:user:)
_STORE_SESSION = (
    _OWNERS
    + """
local previous = redis.call('GET', KEYS[1])
local stored
if ARGV[3] == '' then
  stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  stored = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], ARGV[3])
end
if not stored then
  return 0
end
local current = {}
for _, user in ipairs(owners(ARGV[1])) do
  current[user] = true
  local index = ARGV[5] .. user
  redis.call('SADD', index, ARGV[4])
  redis.call('EXPIRE', index, ARGV[2], 'NX')
  redis.call('EXPIRE', index, ARGV[2], 'GT')
end
for _, user in ipairs(owners(previous)) do
  if not current[user] then
    redis.call('SREM', ARGV[5] .. user, ARGV[4])
  end
end
return 1
"""
)
_CONDITIONS = {None: "", "new": "NX", "existing": "XX"}

# Ends a session and removes it from its users' indexes; 1 if it existed, else 0.
#   KEYS[1] the session; ARGV[1] the session id, ARGV[2] the prefix of index keys
_DELETE_SESSION = (
    _OWNERS
    + """
local value = redis.call('GET', KEYS[1])
if not value then
  return 0
end
redis.call('DEL', KEYS[1])
for _, user in ipairs(owners(value)) do
  redis.call('SREM', ARGV[2] .. user, ARGV[1])
end
return 1
"""
)

# Lets a session live ARGV[1] more seconds, and its users' indexes at least as long; 1 if the
# session exists, else 0.
#   KEYS[1] the session; ARGV[1] TTL in seconds, ARGV[2] the prefix of index keys
_REFRESH_SESSION = (
    _OWNERS
    + """
if redis.call('EXPIRE', KEYS[1], ARGV[1]) == 0 then
  return 0
end
for _, user in ipairs(owners(redis.call('GET', KEYS[1]))) do
  local index = ARGV[2] .. user
  redis.call('EXPIRE', index, ARGV[1], 'NX')
  redis.call('EXPIRE', index, ARGV[1], 'GT')
end
return 1
"""
)

# The live sessions of one user, as a flat list: id, encoded data, id, … Entries of sessions that
# expired, or no longer name the user, leave the index on the way.
#   KEYS[1] the user's index; ARGV[1] the user id, ARGV[2] the prefix of session keys (session:)
_USER_SESSIONS = (
    _OWNERS
    + """
local found = {}
for _, session_id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local value = redis.call('GET', ARGV[2] .. session_id)
  if value and owned_by(value, ARGV[1]) then
    found[#found + 1] = session_id
    found[#found + 1] = value
  else
    redis.call('SREM', KEYS[1], session_id)
  end
end
return found
"""
)

# Ends every session of one user: deletes those that name the user (and takes them out of the
# indexes of the other user they may name), then the index itself. Returns how many it ended.
#   KEYS[1] the user's index; ARGV[1] the user id, ARGV[2] the prefix of session keys,
#   ARGV[3] the prefix of index keys
_DELETE_USER_SESSIONS = (
    _OWNERS
    + """
local deleted = 0
for _, session_id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. session_id
  local users = owners(redis.call('GET', key))
  local mine = false
  for _, user in ipairs(users) do
    mine = mine or user == ARGV[1]
  end
  if mine then
    deleted = deleted + redis.call('DEL', key)
    for _, user in ipairs(users) do
      if user ~= ARGV[1] then
        redis.call('SREM', ARGV[3] .. user, session_id)
      end
    end
  end
end
redis.call('DEL', KEYS[1])
return deleted
"""
)

# Removes from each index (KEYS) the ids whose session no longer exists; returns how many.
# Server-side, because a round of commands per entry costs the client ~50 µs each. Whether a
# live session still names the index's user needs no check here: the scripts above keep that
# true for every write through the manager, and user_sessions and delete_user_sessions check it
# on every read anyway (decoding each session here would cost the server ~4 times as long).
#   ARGV[1] the prefix of session keys
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


class SessionManager:
    """Sessions by id and by user, on the cache alias `SESSION_CACHE_ALIAS`. Session data is a
    dict of JSON-safe values; a session belongs to the user its data names under Django's
    `_auth_user_id` or the seed README's `userId` (a string, a whole number or a UUID), and to
    both if they differ. Every method raises RedisUnavailable when Redis cannot be reached: a
    session is never silently lost or taken for absent."""

    def __init__(self, alias: str | None = None):
        self.alias = alias

    @property
    def cache(self):
        """The django-redis cache the sessions live in (its prefix, serializer and pool)."""
        return caches[self.alias or settings.SESSION_CACHE_ALIAS]

    def _redis(self):
        return self.cache.client.get_client(write=True)

    def _run(self, script: str, keys: list, args: list):
        client = self._redis()
        return client.register_script(script)(keys=keys, args=args, client=client)

    def key(self, session_id: str) -> str:
        """The session's key in Redis, `session:{session_id}`; ValueError for a malformed id."""
        if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
            raise ValueError(f"not a session id: {session_id!r}")
        return self.cache.make_key(session_id)

    def index_key(self, user_id) -> str:
        """The key of the user's index, `session:user:{user_id}`."""
        return self.cache.make_key(f"user:{user_id}")

    @_needs_redis
    def set(self, session_id: str, data: dict, ttl: int | None = None, *, only_if=None) -> bool:
        """Store `data` as the session for `ttl` seconds (default SESSION_COOKIE_AGE, 24 h), in
        the index of each user it names (and no longer in that of a user it named before).
        `only_if="new"` stores only a session that does not exist yet, `only_if="existing"`
        only one that still exists; returns whether it stored."""
        if not isinstance(data, dict):
            raise TypeError(f"session data is a dict; got {type(data).__name__}")
        key = self.key(session_id)
        ttl = ttl_seconds(ttl, settings.SESSION_COOKIE_AGE)
        encoded = self.cache.client.encode(data)
        args = [encoded, ttl, _CONDITIONS[only_if], session_id, self.index_key("")]
        return bool(self._run(_STORE_SESSION, [key], args))

    @_needs_redis
    def get(self, session_id: str) -> dict | None:
        """The session's data, or None if it has expired or never existed."""
        value = self._redis().get(self.key(session_id))
        return None if value is None else self.cache.client.decode(value)

    @_needs_redis
    def exists(self, session_id: str) -> bool:
        return bool(self._redis().exists(self.key(session_id)))

    @_needs_redis
    def refresh(self, session_id: str, ttl: int | None = None) -> bool:
        """Let the session live `ttl` more seconds from now (default SESSION_COOKIE_AGE), and its
        users' indexes at least as long; False if it has expired or never existed."""
        key, ttl = self.key(session_id), ttl_seconds(ttl, settings.SESSION_COOKIE_AGE)
        return bool(self._run(_REFRESH_SESSION, [key], [ttl, self.index_key("")]))

    @_needs_redis
    def delete(self, session_id: str) -> bool:
        """End the session (log out); False if it had already expired or never existed."""
        args = [session_id, self.index_key("")]
        return bool(self._run(_DELETE_SESSION, [self.key(session_id)], args))

    @_needs_redis
    def user_sessions(self, user_id) -> dict[str, dict]:
        """The user's live sessions, {session id: data}, in the order of their ids: one round
        trip whatever the number of sessions in Redis."""
        user_id = str(user_id)
        args = [user_id, self.key_prefix]
        found = self._run(_USER_SESSIONS, [self.index_key(user_id)], args)
        decode = self.cache.client.decode
        pairs = zip(found[0::2], found[1::2], strict=True)
        return {session_id.decode(): decode(value) for session_id, value in sorted(pairs)}

    @_needs_redis
    def delete_user_sessions(self, user_id) -> int:
        """End every session of the user (log them out everywhere); returns how many. One round
        trip whatever the number of sessions in Redis."""
        user_id = str(user_id)
        args = [user_id, self.key_prefix, self.index_key("")]
        return self._run(_DELETE_USER_SESSIONS, [self.index_key(user_id)], args)

    @property
    def key_prefix(self) -> str:
        """What every session key starts with, `session:`."""
        return self.cache.make_key("")

    @_needs_redis
    def cleanup(self) -> int:
        """Remove index entries of sessions that have expired; returns how many. Redis expires
        the sessions themselves; this keeps the indexes small. It walks the index keys with SCAN
        (never KEYS) and checks each batch of them in one short script on the server."""
        client = self._redis()
        scan = client.scan_iter(
            match=self.cache.client.make_pattern("user:*"),
            count=settings.DJANGO_REDIS_SCAN_ITERSIZE,
        )
        prune = client.register_script(_PRUNE_INDEXES)
        return sum(
            prune(keys=index_keys, args=[self.key_prefix], client=client)
            for index_keys in chunks(scan, CLEANUP_BATCH)
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
        # No key (or one that failed validation, overlong included) names no session.
        data = None
        if self.session_key is not None:
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
        ttl = self.get_expiry_age()
        if ttl <= 0:
            # An expiry date in the past: the session is gone at once, as in Django's cache
            # store. A new one is simply not stored (its key may not even be ours to delete).
            if not must_create:
                self.delete()
            return
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
        if not SESSION_ID.fullmatch(session_key):
            return  # names no session this store could have written
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
    return unavailable_response(request, message, RETRY_AFTER)


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
