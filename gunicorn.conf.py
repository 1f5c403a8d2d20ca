"""Gunicorn settings every start shares (bin/run, bin/serve, the container);
gunicorn reads this file from the working directory by itself.

Keep idle connections open longer than gunicorn's 2 s default: browsers and API
clients reuse a connection after a pause of a second or two, and a server that
closes it at that same instant makes the request fail with a connection reset.
The gthread worker parks idle connections without holding a thread.
"""

keepalive = 20
