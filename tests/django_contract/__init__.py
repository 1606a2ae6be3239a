"""Test classes of Django's own test suite, vendored unchanged (Django's wheel ships no tests) so
that the project's suite can run Django's session and cache contracts against this project's
session store and cache; see each module's header for what it holds and where it comes from."""
