"""The gunicorn worker the web process runs (`-k mjweb.serving.Worker`): uvicorn
serving mjweb.asgi, set for this site rather than uvicorn's defaults.

- proxy_headers off: uvicorn would otherwise take the client address from
  X-Forwarded-For for any loopback peer; the throttles and the access log trust
  only MJWEB_TRUSTED_PROXIES (gallery/net/throttle.py), read from the request.
- access_log off: uvicorn's line bypasses gunicorn.conf.py's redaction (invite
  tokens, signed file URLs); mjweb.asgi writes the line instead.
- no Server header; keepalive still comes from gunicorn.conf.py.
- a stop waits at most 5 s for open responses (uvicorn would wait forever for a
  held stream), and first tells the live hub to end every stream with `bye`, so
  the pages reconnect at once to a process that is running.
"""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker


class _Server(Server):
    async def shutdown(self, sockets: Any = None) -> None:
        # Runs on the event loop once a signal (SIGTERM from gunicorn, SIGINT,
        # SIGQUIT) asked the server to exit, before it waits for open responses.
        from mjweb.asgi import stop_streams

        stop_streams()
        await super().shutdown(sockets=sockets)


class Worker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "auto",
        "http": "auto",
        "proxy_headers": False,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 5,
    }

    async def _serve(self) -> None:
        # UvicornWorker._serve with our Server in place of uvicorn's.
        self.config.app = self.wsgi
        server = _Server(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
