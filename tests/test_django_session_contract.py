"""Django's own session tests, run against legalplatform.sessions as Django runs them against each
of its backends: SessionTestsMixin on the store, SessionMiddlewareTests through the project's
middleware (both vendored unchanged in tests/django_contract/sessions.py)."""

import string
from unittest import mock

from django.test import SimpleTestCase

import tests.django_contract.sessions as django_tests
from legalplatform.sessions import SessionMiddleware, SessionStore, session_manager


class RedisSessionTests(django_tests.SessionTestsMixin, SimpleTestCase):
    backend = SessionStore

    # From Django's CacheSessionTests (the cache store is the one this store stands in for): a
    # cookie holding a key longer than any session's reads as no session.
    def test_load_overlong_key(self):
        self.session._session_key = (string.ascii_letters + string.digits) * 20
        self.assertEqual(self.session.load(), {})


class _StoredSession:
    """A session as this store keeps it, read the way Django's test reads its `Session` row."""

    def __init__(self, session_key):
        self.session_key = session_key

    def get_decoded(self):
        return session_manager.get(self.session_key)


class _StoredSessions:
    """Stands in for django.contrib.sessions.models.Session: `objects.get(session_key=…)`."""

    class objects:
        @staticmethod
        def get(session_key):
            if not session_manager.exists(session_key):
                raise LookupError(f"no session {session_key!r} in Redis")
            return _StoredSession(session_key)


class RedisSessionMiddlewareTests(django_tests.SessionMiddlewareTests):
    """Django's middleware tests with the names they use bound to this project's: its
    SessionMiddleware (Django's, answering 503 when Redis is down), and, in the two tests that
    name Django's database store and its `Session` model, this store and the session it keeps
    in Redis."""

    def setUp(self):
        super().setUp()
        for name, project_object in (
            ("SessionMiddleware", SessionMiddleware),
            ("DatabaseSession", SessionStore),
            ("Session", _StoredSessions),
        ):
            self.enterContext(mock.patch.object(django_tests, name, project_object))
