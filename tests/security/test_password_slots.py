"""Password hashes take one of a few machine-wide slots, so a burst of sign-ins
cannot take every core; a slot held by another process is waited for."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.contrib.auth.hashers import check_password, make_password

from gallery.teams import passwords


@pytest.fixture
def one_slot(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(passwords, "SLOTS", 1)
    return tmp_path


def test_a_second_hash_waits_while_the_slot_is_held(one_slot):
    entered, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def holder():
        with passwords._hashing_slot():
            entered.set()
            release.wait(10)

    def second():
        with passwords._hashing_slot():
            second_done.set()

    first = threading.Thread(target=holder)
    first.start()
    assert entered.wait(10)
    waiting = threading.Thread(target=second)
    waiting.start()
    assert not second_done.wait(0.3)  # still queued behind the holder
    release.set()
    assert second_done.wait(10)
    first.join()
    waiting.join()


def test_a_slot_held_by_another_process_is_waited_for_and_freed_when_it_dies(one_slot):
    lock = one_slot / "locks" / "password-hash-0.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a+b'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    done = threading.Event()

    def hash_one():
        with passwords._hashing_slot():
            done.set()

    worker = threading.Thread(target=hash_one)
    worker.start()
    assert not done.wait(0.3)
    holder.kill()  # a killed worker's lock goes with it
    holder.wait()
    assert done.wait(10)
    worker.join()


def test_hashes_still_verify_both_ways(one_slot, settings):
    settings.PASSWORD_HASHERS = ["gallery.teams.passwords.QueuedPBKDF2PasswordHasher"]
    encoded = make_password("correct horse", hasher="pbkdf2_sha256")
    assert encoded.startswith("pbkdf2_sha256$")
    assert check_password("correct horse", encoded)
    assert not check_password("wrong", encoded)
    assert check_password("correct horse", encoded)  # the slot was given back


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_the_hash_runs_on_a_thread_of_lower_priority_than_the_request():
    request_thread = _niceness()
    hashing_thread = passwords.at_low_priority(_niceness)
    assert hashing_thread >= request_thread + passwords.NICENESS or hashing_thread == 19
    assert _niceness() == request_thread  # the request's own thread is left as it was


def test_a_failure_while_hashing_reaches_the_caller():
    def broken():
        raise ValueError("no such salt")

    with pytest.raises(ValueError, match="no such salt"):
        passwords.at_low_priority(broken)
