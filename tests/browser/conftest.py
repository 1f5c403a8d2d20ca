"""Fixtures of the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.test_asgi_serving import Site, served

MAX_STREAM_S = 3  # a held stream ends this soon, so a test can watch it come back


@pytest.fixture
def asgi_site(transactional_db, tmp_path) -> Iterator[Site]:
    """The site as bin/serve runs it (gunicorn, mjweb.serving.Worker, two
    processes) on the test database and media folder. Its streams are real and
    end after MAX_STREAM_S; events the test writes reach them through each
    process's hub, as another process's writes would."""
    with served(tmp_path, MJWEB_LIVE_MAX_STREAM_S=str(MAX_STREAM_S)) as site:
        yield site
