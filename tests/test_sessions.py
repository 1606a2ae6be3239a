"""The session manager against a real Redis: every method, the per-user index of both kinds of
session (Django's logins and the seed README's `userId` sessions) under logins, logouts, changes
of user, expiry and cleanup, and Django's admin sessions seen and ended through it."""

import io
import string
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from legalplatform.redis import RedisUnavailable
from legalplatform.sessions import SessionStore, session_manager
from tests.redis_support import (
    admin_login,
    caches_at,
    fast_password_hashing,  # noqa: F401 - a fixture
    make_user,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

DAY = 24 * 60 * 60


def expire_now(redis_client, session_id):
    """Let Redis expire the session as it would at the end of its TTL."""
    redis_client.pexpire(f"session:{session_id}", 1)
    time.sleep(0.01)


def index_of(redis_client, user_id) -> set[str]:
    return {member.decode() for member in redis_client.smembers(f"session:user:{user_id}")}


# --- by session id ---------------------------------------------------------------------------


def test_set_get_exists_under_the_session_prefix_with_a_24_hour_ttl(redis_client):
    data = {
        "userId": "123",
        "role": "Partner",
        "lastActivity": datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        "budget": Decimal("1250.50"),
    }
    assert session_manager.set("session-abc123", data) is True
    assert session_manager.get("session-abc123") == data
    assert session_manager.exists("session-abc123") is True
    assert sorted(redis_client.keys("*")) == [b"session:session-abc123", b"session:user:123"]
    assert DAY - 2 <= redis_client.ttl("session:session-abc123") <= DAY
    assert redis_client.get("session:session-abc123").startswith(b"{")  # JSON, not pickle


def test_missing_sessions_read_as_absent(redis_client):
    assert session_manager.get("nobody") is None
    assert session_manager.exists("nobody") is False
    assert session_manager.refresh("nobody") is False
    assert session_manager.delete("nobody") is False


def test_set_with_a_ttl_and_the_new_or_existing_conditions(redis_client):
    assert session_manager.set("s1", {"a": 1}, ttl=60) is True
    assert 58 <= redis_client.ttl("session:s1") <= 60
    assert session_manager.set("s1", {"a": 2}, only_if="new") is False
    assert session_manager.set("s2", {"a": 2}, only_if="existing") is False
    assert session_manager.set("s1", {"a": 3}, only_if="existing") is True
    assert session_manager.get("s1") == {"a": 3} and not session_manager.exists("s2")


def test_refresh_extends_the_session_and_its_users_index(redis_client):
    session_manager.set("s1", {SESSION_KEY: "u1"}, ttl=60)
    assert redis_client.ttl("session:user:u1") <= 60
    assert session_manager.refresh("s1") is True
    assert redis_client.ttl("session:s1") > DAY - 5
    assert redis_client.ttl("session:user:u1") > DAY - 5
    assert session_manager.refresh("s1", ttl=120) is True
    assert redis_client.ttl("session:s1") <= 120
    assert redis_client.ttl("session:user:u1") > DAY - 5  # an index never outlives less


def test_delete_ends_the_session_and_leaves_the_index(redis_client):
    session_manager.set("s1", {SESSION_KEY: "u1"})
    session_manager.set("s2", {SESSION_KEY: "u1"})
    assert session_manager.delete("s1") is True
    assert session_manager.get("s1") is None
    assert index_of(redis_client, "u1") == {"s2"}
    assert session_manager.delete("s1") is False


@pytest.mark.parametrize("session_id", ["user:42", "a b", "", "x" * 256, None])
def test_malformed_session_ids_are_refused(redis_client, session_id):
    with pytest.raises(ValueError, match="not a session id"):
        session_manager.set(session_id, {})
    with pytest.raises(ValueError, match="not a session id"):
        session_manager.get(session_id)


@pytest.mark.parametrize("ttl", [0, -5, 1.5, "60", True])
def test_a_ttl_is_whole_seconds_of_at_least_one(redis_client, ttl):
    with pytest.raises(ValueError, match="TTL"):
        session_manager.set("s1", {}, ttl=ttl)


def test_session_data_must_be_a_dict(redis_client):
    with pytest.raises(TypeError, match="dict"):
        session_manager.set("s1", ["not", "a", "dict"])


# --- by user ---------------------------------------------------------------------------------


def test_user_sessions_and_delete_user_sessions_touch_only_that_user(redis_client):
    ana, bob = str(uuid.uuid4()), str(uuid.uuid4())
    for n in range(3):
        session_manager.set(f"ana{n}", {SESSION_KEY: ana, "n": n})
    session_manager.set("bob0", {SESSION_KEY: bob})
    session_manager.set("anonymous", {"cart": []})

    assert session_manager.user_sessions(ana) == {
        f"ana{n}": {SESSION_KEY: ana, "n": n} for n in range(3)
    }
    assert session_manager.user_sessions(uuid.UUID(bob)) == {"bob0": {SESSION_KEY: bob}}
    assert session_manager.delete_user_sessions(ana) == 3
    assert session_manager.user_sessions(ana) == {}
    assert not redis_client.exists(f"session:user:{ana}")
    assert session_manager.exists("bob0") and session_manager.exists("anonymous")
    assert session_manager.delete_user_sessions(ana) == 0


def test_the_readme_flow_finds_and_ends_a_session_through_its_user_id(redis_client):
    session_manager.set(
        "session-abc123",
        {
            "userId": "123",
            "role": "Partner",
            "firmId": "firm-456",
            "lastActivity": datetime.now(UTC).isoformat(),
        },
    )
    session = session_manager.get("session-abc123")
    assert f"User {session['userId']} is a {session['role']}" == "User 123 is a Partner"
    assert list(session_manager.user_sessions("123")) == ["session-abc123"]
    assert session_manager.refresh("session-abc123") is True
    assert session_manager.delete_user_sessions("123") == 1
    assert session_manager.get("session-abc123") is None
    assert redis_client.keys("*") == []


@pytest.mark.parametrize(
    "user_id", ["123", 123, uuid.UUID("2f1b6c1e-8a7e-4d3c-9a55-0f6e1d2c3b4a")], ids=type
)
def test_a_user_id_is_a_string_a_whole_number_or_a_uuid(redis_client, user_id):
    session_manager.set("s1", {"userId": user_id, "role": "Associate"})
    assert index_of(redis_client, user_id) == {"s1"}
    assert session_manager.user_sessions(str(user_id)) == {
        "s1": {"userId": user_id, "role": "Associate"}
    }
    assert session_manager.delete_user_sessions(user_id) == 1


@pytest.mark.parametrize("value", [None, "", True, 1.5, ["123"], {"id": "123"}])
def test_other_values_of_user_id_name_no_user(redis_client, value):
    session_manager.set("s1", {"userId": value})
    assert redis_client.keys("*") == [b"session:s1"]


def test_logins_and_readme_sessions_of_one_user_are_found_and_ended_together(redis_client):
    session_manager.set("login", {SESSION_KEY: "42", "_auth_user_backend": "x"})
    session_manager.set("readme", {"userId": "42", "role": "Partner"})
    session_manager.set("same-user-twice", {SESSION_KEY: "42", "userId": 42})
    session_manager.set("someone-else", {"userId": "43"})
    assert sorted(session_manager.user_sessions(42)) == ["login", "readme", "same-user-twice"]
    assert index_of(redis_client, "42") == {"login", "readme", "same-user-twice"}
    assert session_manager.delete_user_sessions("42") == 3
    assert sorted(redis_client.keys("*")) == [b"session:someone-else", b"session:user:43"]


def test_a_session_naming_two_users_is_in_both_indexes_and_ended_by_either(redis_client):
    session_manager.set("s1", {SESSION_KEY: "7", "userId": "8"})
    assert index_of(redis_client, "7") == index_of(redis_client, "8") == {"s1"}
    assert session_manager.delete_user_sessions("8") == 1
    assert not session_manager.exists("s1")
    assert redis_client.keys("*") == []  # out of user 7's index too


def test_a_session_whose_user_changes_moves_to_the_new_users_index(redis_client):
    session_manager.set("s1", {"userId": "1"})
    session_manager.set("s1", {"userId": "2"})
    assert index_of(redis_client, "1") == set() and index_of(redis_client, "2") == {"s1"}
    session_manager.set("s1", {SESSION_KEY: "3"}, only_if="existing")
    assert index_of(redis_client, "2") == set() and index_of(redis_client, "3") == {"s1"}
    session_manager.set("s1", {"cart": []})  # signed out, the session kept
    assert redis_client.keys("*") == [b"session:s1"]
    assert session_manager.delete_user_sessions("1") == 0
    assert session_manager.exists("s1")


def test_a_session_whose_key_disappears_leaves_its_users_indexes(redis_client):
    session_manager.set("ended", {"userId": "1"})
    session_manager.set("expired", {"userId": "1"})
    session_manager.set("kept", {"userId": "1"})
    assert session_manager.delete("ended") is True
    assert index_of(redis_client, "1") == {"expired", "kept"}
    expire_now(redis_client, "expired")
    assert session_manager.cleanup() == 1
    assert index_of(redis_client, "1") == {"kept"}


def test_a_session_rewritten_behind_the_managers_back_is_not_ended_with_its_old_user(
    redis_client,
):
    session_manager.set("s1", {"userId": "1"})
    redis_client.set("session:s1", b'{"userId":"2"}', ex=60)  # another writer, no index upkeep
    assert session_manager.user_sessions("1") == {}
    assert index_of(redis_client, "1") == set()  # pruned on the way
    session_manager.set("s2", {"userId": "1"})
    redis_client.set("session:s2", b'{"userId":"2"}', ex=60)
    assert session_manager.delete_user_sessions("1") == 0
    assert session_manager.exists("s2")


def test_a_session_dict_holding_the_tag_key_still_names_its_user(redis_client):
    session_manager.set("s1", {"__t": "the caller's own", "userId": "9"})
    assert session_manager.user_sessions("9") == {"s1": {"__t": "the caller's own", "userId": "9"}}


def test_refresh_extends_the_index_of_a_readme_session(redis_client):
    session_manager.set("s1", {"userId": "u1"}, ttl=60)
    assert session_manager.refresh("s1") is True
    assert redis_client.ttl("session:user:u1") > DAY - 5


def test_expired_sessions_leave_user_sessions_and_the_index(redis_client):
    session_manager.set("live", {SESSION_KEY: "u1"})
    session_manager.set("gone", {SESSION_KEY: "u1"})
    expire_now(redis_client, "gone")
    assert session_manager.user_sessions("u1") == {"live": {SESSION_KEY: "u1"}}
    assert index_of(redis_client, "u1") == {"live"}  # pruned on the way
    assert session_manager.delete_user_sessions("u1") == 1


def test_a_session_rewritten_for_another_user_is_not_ended_with_the_first(redis_client):
    session_manager.set("shared", {SESSION_KEY: "u1"})
    session_manager.set("shared", {SESSION_KEY: "u2"})
    assert session_manager.delete_user_sessions("u1") == 0
    assert session_manager.user_sessions("u2") == {"shared": {SESSION_KEY: "u2"}}


def test_the_index_expires_with_its_longest_lived_session(redis_client):
    session_manager.set("short", {SESSION_KEY: "u1"}, ttl=60)
    session_manager.set("long", {SESSION_KEY: "u1"}, ttl=600)
    session_manager.set("shorter", {SESSION_KEY: "u1"}, ttl=30)
    assert 590 <= redis_client.ttl("session:user:u1") <= 600


def test_cleanup_removes_index_entries_of_expired_sessions_and_counts_them(redis_client):
    for user in range(30):
        owner = SESSION_KEY if user % 2 else "userId"  # both kinds of session
        session_manager.set(f"live{user}", {owner: f"u{user}"})
        session_manager.set(f"gone{user}", {owner: f"u{user}"})
        if user % 3 == 0:
            expire_now(redis_client, f"gone{user}")
    assert session_manager.cleanup() == 10
    assert index_of(redis_client, "u0") == {"live0"}
    assert index_of(redis_client, "u1") == {"live1", "gone1"}
    assert session_manager.cleanup() == 0


def test_cleanup_walks_the_keyspace_with_scan_never_keys(redis_client):
    before = redis_client.info("commandstats")
    session_manager.set("s1", {SESSION_KEY: "u1"})
    session_manager.cleanup()
    after = redis_client.info("commandstats")
    assert after["cmdstat_scan"]["calls"] > before.get("cmdstat_scan", {}).get("calls", 0)
    assert after.get("cmdstat_keys") == before.get("cmdstat_keys")


# --- Django's sessions through the same manager ---------------------------------------------


@pytest.mark.django_db
def test_an_admin_login_is_visible_through_the_manager(client, redis_client):
    user = make_user()
    admin_login(client, user)
    session_id = client.cookies["sessionid"].value
    sessions = session_manager.user_sessions(user.pk)
    assert list(sessions) == [session_id]
    assert sessions[session_id][SESSION_KEY] == str(user.pk)
    assert redis_client.exists(f"session:{session_id}")
    assert DAY - 5 <= redis_client.ttl(f"session:{session_id}") <= DAY


@pytest.mark.django_db
def test_logins_and_logouts_keep_the_index(client, redis_client):
    user = make_user()
    other_browser = Client()  # the same user on a second device
    admin_login(client, user)
    admin_login(other_browser, user)
    assert len(session_manager.user_sessions(user.pk)) == 2

    first_session = client.cookies["sessionid"].value
    client.post("/admin/logout/")
    assert set(session_manager.user_sessions(user.pk)) == {other_browser.cookies["sessionid"].value}
    assert not session_manager.exists(first_session)
    assert index_of(redis_client, user.pk) == set(session_manager.user_sessions(user.pk))


@pytest.mark.django_db
def test_delete_user_sessions_logs_the_admin_out(client):
    user = make_user()
    admin_login(client, user)
    assert client.get("/admin/").status_code == 200
    assert session_manager.delete_user_sessions(user.pk) == 1
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_login_replaces_the_anonymous_session_key(client, redis_client):
    user = make_user()
    store = SessionStore()
    store["visited"] = True
    store.save()
    client.cookies["sessionid"] = store.session_key
    admin_login(client, user)
    assert not session_manager.exists(store.session_key)  # no session fixation
    (session_id,) = session_manager.user_sessions(user.pk)
    assert session_manager.get(session_id)["visited"] is True


@pytest.mark.django_db
def test_a_forged_cookie_naming_an_index_is_a_new_anonymous_session(client, redis_client):
    user = make_user()
    session_manager.set("real", {SESSION_KEY: str(user.pk)})
    client.cookies["sessionid"] = f"user:{user.pk}"
    response = client.get("/admin/")
    assert response.status_code == 302  # to the login page; no 500, no session of the user
    assert index_of(redis_client, user.pk) == {"real"}


def test_the_store_refuses_an_update_of_a_session_ended_meanwhile(redis_client):
    from django.contrib.sessions.backends.base import UpdateError

    store = SessionStore()
    store["a"] = 1
    store.save()
    session_manager.delete(store.session_key)
    store["a"] = 2
    with pytest.raises(UpdateError):
        store.save()


@pytest.mark.parametrize(
    "session_key", [None, "", "short", "user:42", "a b", "x" * 256, string.printable * 20]
)
def test_the_store_loads_no_key_or_an_invalid_one_as_an_empty_session(redis_client, session_key):
    store = SessionStore(session_key)
    assert store.load() == {}
    assert store.session_key is None
    assert store.exists(session_key) is False


def test_the_store_needs_no_redis_to_load_a_session_without_a_key(settings):
    settings.CACHES = caches_at("redis://127.0.0.1:1/0")
    assert SessionStore().load() == {}
    with pytest.raises(RedisUnavailable):
        SessionStore("a" * 32).load()  # a key: Redis must answer (a 503 in a request)


@pytest.mark.parametrize("expiry", [-timedelta(seconds=10), -1, "past datetime"])
def test_a_session_saved_with_an_expiry_in_the_past_is_gone_at_once(redis_client, expiry):
    store = SessionStore()
    store[SESSION_KEY] = "u1"
    store.save()
    assert index_of(redis_client, "u1") == {store.session_key}
    if expiry == "past datetime":
        expiry = timezone.now() - timedelta(minutes=1)
    store.set_expiry(expiry)
    store.save()
    assert not session_manager.exists(store.session_key)
    assert SessionStore(store.session_key).load() == {}
    assert redis_client.keys("*") == []  # out of the index too

    new = SessionStore()
    new["a"] = 1
    new.set_expiry(-1)
    new.save()  # never stored
    assert redis_client.keys("*") == []


def test_clearsessions_runs_the_cleanup(redis_client):
    session_manager.set("gone", {SESSION_KEY: "u1"})
    expire_now(redis_client, "gone")
    call_command("clearsessions")
    assert not redis_client.exists("session:user:u1")


# --- the command -------------------------------------------------------------------------------


def test_sessions_cleanup_command_prints_the_count(manage, redis_client):
    session_manager.set("gone", {SESSION_KEY: "u1"})
    session_manager.set("gone2", {SESSION_KEY: "u2"})
    expire_now(redis_client, "gone")
    expire_now(redis_client, "gone2")
    result = manage("sessions_cleanup")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Cleaned up 2 expired sessions"


def test_sessions_cleanup_is_silent_at_verbosity_0(redis_client):
    out = io.StringIO()
    call_command("sessions_cleanup", verbosity=0, stdout=out)
    assert out.getvalue() == ""


def test_sessions_cleanup_takes_no_database_option(manage):
    """Sessions live in Redis: a --database would do nothing, so there is none."""
    result = manage("sessions_cleanup", "--database", "elsewhere")
    assert result.returncode == 2
    assert "unrecognized arguments: --database elsewhere" in result.stderr


def test_sessions_cleanup_with_redis_down_is_a_command_error(settings):
    settings.CACHES = caches_at("redis://127.0.0.1:1/0")
    with pytest.raises(CommandError, match="^Redis is unavailable for sessions: .*refused"):
        call_command("sessions_cleanup")
