import pytest

from tests.regeneration.stub_server import StubServer


@pytest.fixture
def stub():
    """A running OpenAI-compatible STUB server (no model; see stub_server.py)."""
    server = StubServer().start()
    yield server
    server.stop()


@pytest.fixture
def fast_retries(settings):
    settings.REGENERATION_RETRY_BACKOFF = 0.01
    settings.REGENERATION_TIMEOUT = 2.0
