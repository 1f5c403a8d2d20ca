"""Site-wide request handling that belongs to no one view."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

QUEUE_DOWN = (
    "The task queue (Redis) is not answering. Anything you just saved is kept "
    "and goes ahead once it is back: check the gallery before trying again."
)


class RedisOutage:
    """A 503 that says what happened when Redis stays down past the clients'
    retries (mjweb.env.redis_options), instead of a 500 page.

    A job is committed before its task is sent to the broker, and the poller's
    sweep sends it again, so "it is kept" is true of every such request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, RedisConnectionError | RedisTimeoutError):
            return None
        log.warning("Redis unavailable during %s %s: %s", request.method, request.path, exc)
        response = HttpResponse(QUEUE_DOWN, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "10"
        return response
