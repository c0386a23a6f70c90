import pytest

from tests.regeneration.stub_server import StubServer


def allow(settings, server) -> None:
    """Put a loopback test server on the administrator's allow-list (AUDIT_MODEL_SERVER_ALLOW):
    loopback is refused otherwise, so the tests also see the deny path."""
    settings.REGENERATION_ALLOWED_SERVERS = [
        *settings.REGENERATION_ALLOWED_SERVERS,
        server.allow_entry,
    ]


@pytest.fixture
def stub(settings):
    """A running OpenAI-compatible STUB server (no model; see stub_server.py), allowed."""
    server = StubServer().start()
    allow(settings, server)
    yield server
    server.stop()


@pytest.fixture
def fast_retries(settings):
    settings.REGENERATION_RETRY_BACKOFF = 0.01
    settings.REGENERATION_TIMEOUT = 2.0
