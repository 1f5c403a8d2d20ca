"""An authentication backend for tests: Django's own, counting the passwords
it is asked to check, so a test can see how many attempts got that far."""

from __future__ import annotations

import threading

from django.contrib.auth.backends import ModelBackend

_lock = threading.Lock()
checked = 0


class CountingBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        global checked
        with _lock:
            checked += 1
        return super().authenticate(request, username=username, password=password, **kwargs)


def reset() -> None:
    global checked
    with _lock:
        checked = 0
