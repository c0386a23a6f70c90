"""Fixtures for the pure statistics tests (no Django needed)."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_files():
    """The statistics touch no files: override the project-wide autouse fixture (which needs
    pytest-django's ``settings``) so these tests also run with ``-p no:django``."""
