"""The site's settings with the serving stand-ins (tests/deploy/serving_stubs.py)."""

from mjweb.settings import *  # noqa: F403

MJWEB_LIVE_HUB = "tests.deploy.serving_stubs"
ROOT_URLCONF = "tests.deploy.serving_stubs"
