"""Fixtures of the project-wide browser tests: the demo dataset, committed so that the live
server's threads see it, and a headless Chromium page (tests/browser.py)."""

import pytest

from ops.seeding.demo import seed_database
from tests.browser import Browser


@pytest.fixture
def demo(transactional_db):
    """The demo dataset, committed so that the live server's threads see it."""
    return seed_database()


@pytest.fixture
def browser():
    browser = Browser()
    yield browser
    browser.close()
