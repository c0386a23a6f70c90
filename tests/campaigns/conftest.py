"""The owner page and API tests use the six roles' ``world`` of tests/conftest.py."""

from tests.conftest import ALLOWED, METHODS, ROLES  # noqa: F401  (imported from here by tests)
