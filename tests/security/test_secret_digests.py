"""Secrets are kept as one kind of digest, made in one place
(gallery.net.digests): invite links, API tokens and callback URLs. Only the
digest is stored, and a secret that is not even valid text is refused as a
mismatch, never an error."""

from __future__ import annotations

import hashlib

import pytest

from gallery.api.models.tokens import token_digest
from gallery.models import Invite, Job
from gallery.net import digests
from gallery.teams.models.teams import token_hash
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


def test_the_digest_is_the_sha256_of_the_secrets_text():
    assert digests.secret_digest("abc") == hashlib.sha256(b"abc").hexdigest()


def test_a_lone_surrogate_is_digested_not_refused_with_an_error():
    odd = "token\ud800"
    assert len(digests.secret_digest(odd)) == 64
    assert not digests.matches(odd, digests.secret_digest("token"))


def test_matching_compares_against_the_stored_digest_only():
    stored = digests.secret_digest("s3cret")
    assert digests.matches("s3cret", stored)
    assert not digests.matches("s3cret ", stored)
    assert not digests.matches("s3cret", "")  # no digest stored: nothing matches


def test_invites_tokens_and_callbacks_keep_the_same_digest(alice, team):
    assert token_hash("x-1") == token_digest("x-1") == digests.secret_digest("x-1")
    job = finished_job(alice, team, images=0)
    secret = job.new_callback_token()
    job.refresh_from_db()
    assert job.callback_token_hash == digests.secret_digest(secret)
    invite, plain = Invite.create(team=team, created_by=alice, role="member", note="")
    assert invite.token_hash == digests.secret_digest(plain)


def test_a_callback_with_a_wrong_or_odd_token_is_not_found(client, alice, team):
    job = finished_job(alice, team, images=0)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, provider="evolink")
    job.new_callback_token()
    assert client.post(f"/callbacks/evolink/{job.pk}/not-the-token").status_code == 404
