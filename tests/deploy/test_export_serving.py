"""A streamed ZIP export through the web process as deployed (gunicorn, the
ASGI dispatcher, the WSGI thread pool): it goes out in chunks as it is
written, not buffered whole, and arrives as a valid ZIP whose files match
its manifest."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import httpx
import pytest

from gallery.models import Job
from tests.deploy.test_asgi_serving import served, signed_in
from tests.factories import many_jobs, stored_originals

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_small_export_streams_through_the_deployed_server(tmp_path, alice, team):
    jobs = many_jobs(team, [alice], 30, prompt="a fox {n}")
    stored_originals(jobs)
    site_up = served(tmp_path, workers=1)
    with site_up as site, httpx.Client(base_url=site.base, timeout=30) as client:
        client.cookies.update(signed_in(alice))
        assert client.get(f"/t/{team.slug}/").status_code == 200  # sets the CSRF cookie
        token = client.cookies["csrftoken"]
        ids = [str(pk) for pk in Job.objects.values_list("pk", flat=True)]
        with client.stream(
            "POST",
            f"/t/{team.slug}/exports/",
            data={"scope": "selection", "ids": ids},
            headers={"X-CSRFToken": token},
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/zip"
            assert "content-length" not in response.headers  # streamed, not buffered
            chunks = list(response.iter_raw())
    assert len(chunks) > 1
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    rows = json.loads(archive.read("manifest.json"))
    assert len(rows) == 120
    for row in rows:
        assert hashlib.sha256(archive.read(row["file"])).hexdigest() == row["sha256"]
