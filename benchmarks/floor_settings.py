"""The product's settings with one more route, ``/floor/``: an authenticated DRF view that does
nothing. expert_load.py serves it through the same gunicorn to measure the framework's own floor
on this machine (the peer its next/submit figures are read against). Never used by the product."""

from audit.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.floor_urls"
