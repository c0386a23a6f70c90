"""Where a regeneration request may go, and which key goes with it (issue 18, items 2 and 3).

An owner chooses a job's base URL, and the worker (and, for Test connection, the web process)
sends requests to it from inside the deployment. So a base URL is checked after DNS resolution,
at creation and again before every request, and the connection goes to the address that was
checked (no second lookup that a rebinding DNS server could answer differently):

- only ``http`` and ``https``, no credentials, query or fragment, a canonical host (numeric forms
  such as ``0x7f000001`` or ``2130706433`` are refused, not interpreted);
- link-local (169.254.0.0/16, fe80::/10), cloud metadata addresses and names, unspecified,
  multicast and reserved addresses are refused always;
- loopback and private addresses (and anything else not globally routable) are refused unless an
  administrator allows the host: ``AUDIT_MODEL_SERVER_ALLOW`` (host[:port] entries) or the
  configured server itself (``OPENAI_BASE_URL``).

The configured key (``OPENAI_API_KEY``) goes only to the configured base URL (``OPENAI_BASE_URL``,
compared exactly); a job aimed anywhere else sends no key.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Metadata services answer on these whatever the routing says; refused even when allow-listed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
    )
)
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
    }
)
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_HOST_CHARS = re.compile(r"^[a-z0-9.-]+$")


class UnsafeURL(ValueError):
    """The base URL may not be called (the message says why; it never carries a reply)."""


@dataclass(frozen=True)
class Target:
    """A checked base URL: connect to ``address``, speak to ``host`` (Host header and SNI)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # the base URL's path, without a trailing slash ("/v1")

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this hook)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def parse(base_url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a well-formed base URL; raises UnsafeURL."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        raise UnsafeURL(f"the base URL {base_url[:200]!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(f"the base URL must be an http(s) URL, not {base_url[:200]!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeURL(
            "the base URL may not carry credentials, a query or a fragment: the key of the "
            "configured server comes from the worker's OPENAI_API_KEY"
        )
    host = parts.hostname.lower().rstrip(".")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None:
        labels = host.split(".")
        if not _HOST_CHARS.match(host) or _NUMERIC_LABEL.match(labels[-1]):
            # 0x7f000001, 2130706433, 127.1, 0177.0.0.1: numeric forms other than the canonical
            # dotted quad, which resolvers read in different ways.
            raise UnsafeURL(
                f"the base URL's host {host[:100]!r} is not a canonical name or address"
            )
    elif literal.version == 4 and str(literal) != host:
        raise UnsafeURL(f"the base URL's host {host!r} is not a canonical address")
    port = port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, host, port, parts.path.rstrip("/")


def _entries() -> list[tuple[str, int | None]]:
    out = []
    configured = [settings.REGENERATION_BASE_URL] if settings.REGENERATION_BASE_URL else []
    for url in configured:
        try:
            _, host, port, _ = parse(url)
        except UnsafeURL:
            continue
        out.append((host, port))
    for entry in settings.REGENERATION_ALLOWED_SERVERS:
        entry = entry.strip().lower()
        if not entry:
            continue
        match = re.match(r"^\[([0-9a-f:.]+)\](?::(\d+))?$", entry) or re.match(
            r"^([^:]+)(?::(\d+))?$", entry
        )
        if match:
            out.append((match.group(1), int(match.group(2)) if match.group(2) else None))
        elif ":" in entry:  # a bare IPv6 address
            out.append((entry, None))
    return out


def allowed_by_administrator(host: str, port: int, addresses=()) -> bool:
    """The host (as named in the URL, or one of the addresses it resolved to) and port are on
    the administrator's allow-list or are the configured server's."""
    names = {host, *addresses}
    return any(h in names and (p is None or p == port) for h, p in _entries())


def _refusal(host: str, address: str) -> str:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES or ip.is_link_local:
        return f"{host} is a link-local or cloud metadata address ({ip})"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"{host} resolves to an address that cannot be a model server ({ip})"
    if not ip.is_global:
        return f"{host} resolves to a loopback or private address ({ip})"
    return ""


def check(base_url: str, *, require_resolution: bool = True) -> Target | None:
    """The checked target of ``base_url``; raises UnsafeURL. With ``require_resolution=False``
    (at creation, in the web process) an allow-listed name that does not resolve here passes:
    it is checked again, resolved, on every request."""
    scheme, host, port, path = parse(base_url)
    if host in METADATA_HOSTS:
        raise UnsafeURL(f"refused: {host} is a cloud metadata service")
    try:
        addresses = [str(ipaddress.ip_address(host))] if _is_address(host) else resolve(host, port)
    except (OSError, UnicodeError):
        if not require_resolution and allowed_by_administrator(host, port):
            return None
        raise UnsafeURL(
            f"the model server's host {host} does not resolve: check the base URL"
        ) from None
    if not addresses:
        raise UnsafeURL(f"the model server's host {host} does not resolve: check the base URL")
    allowed = allowed_by_administrator(host, port, addresses)
    for address in addresses:
        reason = _refusal(host, address)
        if not reason:
            continue
        metadata = "metadata" in reason or "cannot be" in reason
        if metadata or not allowed:
            hint = (
                ""
                if metadata
                else f"; {host}:{port} is not on the model-server allow-list "
                "(AUDIT_MODEL_SERVER_ALLOW, set by an administrator)"
            )
            raise UnsafeURL(f"refused: {reason}{hint}")
    return Target(scheme, host, port, addresses[0], path)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalised(base_url: str) -> str:
    return (base_url or "").strip().rstrip("/")


def api_key_for(base_url: str) -> str:
    """The configured key, only for the configured server's base URL; otherwise none."""
    configured = normalised(settings.REGENERATION_BASE_URL)
    if configured and normalised(base_url) == configured:
        return settings.REGENERATION_API_KEY
    return ""
