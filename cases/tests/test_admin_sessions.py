"""Sessions an admin can see and end: the user change page lists the user's live sessions (when
each was last used, from which address and browser), "Log out everywhere" ends them through
session_manager.delete_user_sessions (for one user from the page, or for the selected users from
the list), and each session's activity is written at most once a minute."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize

from cases.models import User
from cases.tests.builders import make_user
from legalplatform.session_activity import ACTIVITY_INTERVAL
from legalplatform.sessions import session_manager

pytestmark = pytest.mark.usefixtures("redis_client")

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1"


def signed_in(user: User, address: str, agent: str) -> Client:
    """A browser of `user`, signed in, that has opened the admin's index once."""
    browser = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    browser.force_login(user)
    assert browser.get(reverse("admin:index")).status_code == 200
    return browser


def change_page(admin: Client, user: User) -> str:
    response = admin.get(reverse("admin:cases_user_change", args=[user.pk]))
    assert response.status_code == 200
    return response.content.decode()


def sessions_block(page: str) -> str:
    start = page.index('id="session-count"')
    return page[start : page.index("</fieldset>", start)]


@pytest.fixture
def admin(client, firm_a):
    client.force_login(make_user(firm_a, is_superuser=True))
    return client


def test_the_user_page_shows_each_session_with_its_use(admin, associate):
    laptop = signed_in(associate, "192.0.2.10", FIREFOX)
    signed_in(associate, "198.51.100.7", SAFARI)
    page = change_page(admin, associate)
    block = sessions_block(page)
    assert "2 active session(s)" in block
    assert "192.0.2.10" in block and "198.51.100.7" in block
    assert FIREFOX in block and SAFARI in block
    # when, in the site's time zone and the admin's format (as every date on the page)
    data = session_manager.get(laptop.cookies["sessionid"].value)
    used = timezone.localtime(timezone.datetime.fromisoformat(data["lastActivity"]))
    assert localize(used) in block
    assert "also ends all their sessions." in page


def test_log_out_everywhere_from_the_user_page(admin, associate):
    laptop = signed_in(associate, "192.0.2.10", FIREFOX)
    phone = signed_in(associate, "198.51.100.7", SAFARI)
    page = change_page(admin, associate)
    action = re.search(r'formaction="([^"]+)"', sessions_block(page)).group(1)
    response = admin.post(action, {}, follow=True)
    assert "2 session(s) of" in response.content.decode()
    assert session_manager.user_sessions(associate.pk) == {}
    for browser in (laptop, phone):  # both are signed out
        assert browser.get(reverse("admin:index")).status_code == 302
    assert "0 active session(s)" in sessions_block(change_page(admin, associate))
    assert admin.get(reverse("admin:index")).status_code == 200  # the admin's own session lives


def test_log_out_everywhere_for_the_selected_users(admin, associate, paralegal, partner):
    for user in (associate, paralegal, partner):
        signed_in(user, "192.0.2.10", FIREFOX)
    response = admin.post(
        reverse("admin:cases_user_changelist"),
        {"action": "log_out_everywhere", "_selected_action": [associate.pk, paralegal.pk]},
        follow=True,
    )
    assert "2 session(s) of 2 user(s) ended." in response.content.decode()
    assert session_manager.user_sessions(associate.pk) == {}
    assert session_manager.user_sessions(paralegal.pk) == {}
    assert len(session_manager.user_sessions(partner.pk)) == 1


def test_the_page_only_ends_sessions_by_post_and_within_the_firm(client, associate, partner_b):
    client.force_login(make_user(associate.firm, User.Role.PARTNER))
    signed_in(partner_b, "192.0.2.10", FIREFOX)
    url = reverse("admin:cases_user_log_out_everywhere", args=[associate.pk])
    assert client.get(url).status_code == 403
    other_firm = reverse("admin:cases_user_log_out_everywhere", args=[partner_b.pk])
    assert client.post(other_firm).status_code == 404
    assert len(session_manager.user_sessions(partner_b.pk)) == 1


def test_activity_is_written_once_a_minute_and_when_the_browser_changes(associate):
    browser = signed_in(associate, "192.0.2.10", FIREFOX)
    key = browser.cookies["sessionid"].value
    first = session_manager.get(key)["lastActivity"]
    browser.get(reverse("admin:index"))
    assert session_manager.get(key)["lastActivity"] == first  # within the minute: not written
    # a minute later (the recorded time moved back), the next request records it anew
    data = session_manager.get(key)
    earlier = timezone.now() - timedelta(seconds=ACTIVITY_INTERVAL + 1)
    session_manager.set(key, {**data, "lastActivity": earlier.isoformat()})
    browser.get(reverse("admin:index"))
    assert session_manager.get(key)["lastActivity"] > earlier.isoformat()
    # another address is recorded at once
    browser.get(reverse("admin:index"), REMOTE_ADDR="203.0.113.5")
    assert session_manager.get(key)["ipAddress"] == "203.0.113.5"
