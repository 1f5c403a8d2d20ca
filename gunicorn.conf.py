"""Gunicorn settings every start shares (bin/run, bin/serve, the container);
gunicorn reads this file from the working directory by itself.

Keep idle connections open longer than gunicorn's 2 s default: browsers and API
clients reuse a connection after a pause of a second or two, and a server that
closes it at that same instant makes the request fail with a connection reset.
The uvicorn worker (mjweb/serving.py) takes it as its keep-alive timeout.

Invite tokens, signed file URLs and share links are credentials: every atom of
an access-log line (request line, path, query string, Referer, …) has their
secret part replaced by a marker before it is written (gallery/net/redact.py).
The address it logs is the client's as the throttles see it, behind the
configured proxies (gallery/net/throttle.py client_address), not the proxy's.
The web process's uvicorn worker writes its lines in mjweb/asgi.py by the same
rules; RedactingLogger below does it for a WSGI worker (`gunicorn mjweb.wsgi`).
"""

from gunicorn.glogging import Logger

from gallery.net.redact import redact

keepalive = 20


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["h"] = _client_address(environ) or atoms.get("h", "-")
        return {key: redact(v) if isinstance(v, str) else v for key, v in atoms.items()}


def _client_address(environ: dict) -> str:
    # Imported here: the master reads this file before Django is set up; a
    # worker logs only after the application (and so Django) has loaded.
    try:
        from django.conf import settings

        from gallery.net.throttle import address_in

        return address_in(
            environ,
            trusted_proxies=settings.MJWEB_TRUSTED_PROXIES,
            header=settings.MJWEB_PROXY_HEADER,
        )
    except Exception:  # a log line is never worth a failed request
        return ""


logger_class = RedactingLogger
