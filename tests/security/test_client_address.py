"""Which address a request comes from, with and without trusted proxies in
front (MJWEB_TRUSTED_PROXIES, MJWEB_PROXY_HEADER): what the sign-in and API
throttles key on. A client may write any forwarded header it likes; only the
entries the trusted proxies appended are believed."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from gallery.api.views import api
from gallery.models import ApiToken, Membership
from gallery.net import throttle
from gallery.teams import forms_auth
from tests.conftest import PASSWORD

PROXY = "10.0.0.2"  # the load balancer, as the app sees it


def address(settings, proxies: int, header: str = "x-forwarded-for", **meta: str) -> str:
    settings.MJWEB_TRUSTED_PROXIES = proxies
    settings.MJWEB_PROXY_HEADER = header
    return throttle.client_address(RequestFactory().get("/", REMOTE_ADDR=PROXY, **meta))


# --- the address itself -----------------------------------------------------------------


def test_without_a_proxy_forwarded_headers_are_ignored(settings):
    spoofed = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "HTTP_FORWARDED": "for=203.0.113.8"}
    assert address(settings, 0, **spoofed) == PROXY
    assert address(settings, 0, "forwarded", **spoofed) == PROXY


def test_behind_one_proxy_the_rightmost_forwarded_address_is_the_client(settings):
    assert address(settings, 1, HTTP_X_FORWARDED_FOR="203.0.113.7") == "203.0.113.7"


def test_a_client_cannot_choose_its_address_beyond_the_trusted_hops(settings):
    # The client sent "1.1.1.1"; the one proxy appended the address it saw.
    forged = {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"}
    assert address(settings, 1, **forged) == "203.0.113.7"
    # Two proxies: the outer one appended the client, the inner one the outer.
    two = {"HTTP_X_FORWARDED_FOR": "1.1.1.1,203.0.113.7, 10.0.0.9"}
    assert address(settings, 2, **two) == "203.0.113.7"


def test_a_header_with_fewer_hops_than_configured_falls_back_to_the_peer(settings):
    assert address(settings, 2, HTTP_X_FORWARDED_FOR="203.0.113.7") == PROXY
    assert address(settings, 1) == PROXY  # no header at all


@pytest.mark.parametrize(
    "value",
    ["", ",", "unknown", "not an address", "999.1.1.1", "\x00\xff", "[::1", '"', "a" * 5000],
)
def test_a_malformed_header_gives_the_peer(settings, value):
    assert address(settings, 1, HTTP_X_FORWARDED_FOR=value) == PROXY
    assert address(settings, 1, "forwarded", HTTP_FORWARDED=value) == PROXY


def test_ports_brackets_and_mapped_addresses_are_read_as_the_address(settings):
    assert address(settings, 1, HTTP_X_FORWARDED_FOR="203.0.113.7:4711") == "203.0.113.7"
    assert address(settings, 1, HTTP_X_FORWARDED_FOR="[2001:db8::1]:80") == "2001:db8::1"
    assert address(settings, 1, HTTP_X_FORWARDED_FOR="2001:DB8:0::1") == "2001:db8::1"
    assert address(settings, 1, HTTP_X_FORWARDED_FOR="::ffff:203.0.113.7") == "203.0.113.7"


def test_the_standard_forwarded_header_is_read_when_configured(settings):
    value = 'for=1.1.1.1;proto=https, For="[2001:db8:cafe::17]:4711";by=10.0.0.9'
    assert address(settings, 1, "forwarded", HTTP_FORWARDED=value) == "2001:db8:cafe::17"
    # The header the proxies do not write is the client's, and is ignored.
    assert address(settings, 1, "forwarded", HTTP_X_FORWARDED_FOR="203.0.113.7") == PROXY
    assert address(settings, 1, HTTP_FORWARDED="for=203.0.113.7") == PROXY


def test_an_open_quote_from_the_client_cannot_hide_the_proxys_element(settings):
    value = 'for="1.1.1.1, for=203.0.113.7'
    assert address(settings, 1, "forwarded", HTTP_FORWARDED=value) == "203.0.113.7"


# --- what the throttles do with it ------------------------------------------------------


@pytest.fixture
def fresh(settings, db):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def sign_in(password: str, forwarded: str, username: str = "alice"):
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.django_db
def test_behind_a_proxy_one_addresss_failures_do_not_lock_out_everyone(fresh, settings, alice):
    settings.MJWEB_TRUSTED_PROXIES = 1
    for n in range(forms_auth.PER_ADDRESS):
        sign_in("wrong", "203.0.113.7", username=f"guess{n}")
    refused = sign_in(PASSWORD, "203.0.113.7")
    assert "Too many failed sign-ins for this address." in refused.content.decode()
    assert sign_in(PASSWORD, "198.51.100.4").status_code == 302  # another person, same proxy


@pytest.mark.django_db
def test_behind_a_proxy_a_forged_header_does_not_escape_the_address_limit(fresh, settings, alice):
    settings.MJWEB_TRUSTED_PROXIES = 1
    for n in range(forms_auth.PER_ADDRESS):
        sign_in("wrong", f"10.99.0.{n}, 203.0.113.7", username=f"guess{n}")
    refused = sign_in(PASSWORD, "10.99.1.1, 203.0.113.7")
    assert "Too many failed sign-ins for this address." in refused.content.decode()


@pytest.mark.django_db
def test_without_a_proxy_a_spoofed_header_does_not_escape_the_address_limit(fresh, alice):
    for n in range(forms_auth.PER_ADDRESS):
        sign_in("wrong", f"203.0.113.{n}", username=f"guess{n}")
    refused = sign_in(PASSWORD, "198.51.100.4")
    assert "Too many failed sign-ins for this address." in refused.content.decode()


@pytest.mark.django_db
def test_a_malformed_forwarded_header_signs_in_without_an_error(fresh, settings, alice):
    settings.MJWEB_TRUSTED_PROXIES = 3
    assert sign_in(PASSWORD, '\x00", ;;=,[').status_code == 302


@pytest.mark.django_db
def test_api_token_guesses_are_counted_per_forwarded_address(fresh, settings, alice, team):
    settings.MJWEB_TRUSTED_PROXIES = 1
    plain = ApiToken.issue(Membership.objects.get(user=alice), "cli")[1]

    def balance(token: str, forwarded: str):
        client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
        return client.get("/api/v1/balance", headers={"Authorization": f"Bearer {token}"})

    for n in range(api.AUTH_FAILURES_PER_ADDRESS):
        assert balance(f"mjw_guess{n}", f"10.99.0.{n}, 203.0.113.7").status_code == 401
    assert balance(plain, "203.0.113.7").status_code == 429
    assert balance(plain, "198.51.100.4").status_code == 200
