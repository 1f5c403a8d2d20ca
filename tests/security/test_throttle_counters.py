"""The attempt counters under every throttle: fixed windows in the database,
counted atomically, with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gallery.models import ThrottleCounter
from gallery.net import throttle

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)  # on a 60 s and a 15 min boundary


def test_hits_are_allowed_up_to_the_limit_and_refused_past_it():
    verdicts = [throttle.hit("k", limit=3, window=60, now=T0) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert ThrottleCounter.objects.get().count == 5


def test_retry_after_counts_down_to_the_end_of_the_window():
    assert throttle.hit("k", limit=1, window=60, now=T0).retry_after == 60
    assert throttle.hit("k", limit=1, window=60, now=T0 + timedelta(seconds=45)).retry_after == 15
    assert throttle.peek("k", limit=1, window=60, now=T0 + timedelta(seconds=59.5)).retry_after == 1


def test_a_new_window_starts_from_zero():
    for _ in range(3):
        throttle.hit("k", limit=2, window=60, now=T0)
    assert not throttle.peek("k", limit=2, window=60, now=T0 + timedelta(seconds=59)).allowed
    assert throttle.hit("k", limit=2, window=60, now=T0 + timedelta(seconds=60)).allowed


def test_without_now_the_windows_follow_the_throttles_clock(throttle_clock):
    throttle_clock.at = T0 + timedelta(seconds=59)
    assert throttle.hit("k", limit=1, window=60).retry_after == 1
    assert not throttle.attempt({"k": ("k", 1)}, window=60).taken
    throttle_clock.at = T0 + timedelta(seconds=60)  # the next window: counts start again
    assert throttle.hit("k", limit=1, window=60).allowed


def test_peek_counts_nothing():
    throttle.hit("k", limit=2, window=60, now=T0)
    for _ in range(5):
        assert throttle.peek("k", limit=2, window=60, now=T0).allowed
    assert not throttle.hit("k", limit=1, window=60, now=T0).allowed  # the 2nd hit


def test_keys_and_windows_are_counted_apart():
    throttle.hit("a", limit=1, window=60, now=T0)
    assert throttle.hit("b", limit=1, window=60, now=T0).allowed
    assert throttle.hit("a", limit=1, window=900, now=T0).allowed


def test_giving_a_slot_back_uncounts_exactly_that_hit():
    first = throttle.hit("k", limit=2, window=60, now=T0)
    throttle.hit("k", limit=2, window=60, now=T0)
    throttle.give_back(first)
    throttle.give_back(first)  # a second give-back of the same hit changes nothing
    assert ThrottleCounter.objects.get().count == 1


def test_a_slot_given_back_after_its_window_touches_no_other_window():
    early = throttle.hit("k", limit=5, window=60, now=T0)
    throttle.hit("k", limit=5, window=60, now=T0 + timedelta(seconds=61))
    throttle.give_back(early)
    assert throttle.peek("k", limit=2, window=60, now=T0 + timedelta(seconds=61)).count == 1


def test_expired_rows_are_swept_when_a_new_window_begins():
    throttle.hit("old", limit=5, window=60, now=T0)
    throttle.hit("long", limit=5, window=900, now=T0)
    throttle.hit("new", limit=5, window=60, now=T0 + timedelta(minutes=2))
    assert not ThrottleCounter.objects.filter(key__startswith="old:").exists()
    assert ThrottleCounter.objects.filter(key__startswith="long:").exists()


def test_long_keys_still_fit_the_column():
    verdict = throttle.hit("login:name:" + "x" * 500, limit=1, window=60, now=T0)
    assert verdict.allowed
    assert len(ThrottleCounter.objects.get().key) <= 200


def test_the_wall_clock_is_djangos(monkeypatch):
    monkeypatch.setattr(throttle, "clock", throttle.wall_clock)  # the default, outside tests
    monkeypatch.setattr("django.utils.timezone.now", lambda: T0 + timedelta(seconds=50))
    assert throttle.hit("k", limit=1, window=60).retry_after == 10


class FakeRequest:
    def __init__(self, meta: dict[str, str]) -> None:
        self.META = meta


def test_the_client_address_is_remote_addr_without_a_proxy(settings):
    settings.MJWEB_TRUSTED_PROXIES = 0
    request = FakeRequest({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "1.1.1.1"})
    assert throttle.client_address(request) == "10.1.2.3"
    assert throttle.client_address(FakeRequest({})) == ""
