"""Django's own cache tests of keys and versions (vendored in tests/django_contract/cache.py), run
against the project's cache as Django runs them against each of its backends: the default alias
at version 1, "v2" the same cache at VERSION 2, and "prefix" one with another KEY_PREFIX."""

import os

from django.conf import settings
from django.test import SimpleTestCase, override_settings

import tests.django_contract.cache as django_tests


class RedisCacheContractTests(django_tests.BaseCacheTests, SimpleTestCase):
    def setUp(self):
        default = settings.CACHES["default"]  # the tests' own Redis database (conftest)
        caches = {
            **settings.CACHES,
            "v2": {**default, "VERSION": 2},
            "prefix": {**default, "KEY_PREFIX": f"cacheprefix{os.getpid()}"},
        }
        self.enterContext(override_settings(CACHES=caches))
        super().setUp()
