"""The explicit `[network] proxy`: its URL and `no_proxy` entries checked, and `ProxyRoute`.

Apart from `wall.core.outbound` (which connects through it) so that reading a config needs no HTTP
stack: a fleet kiosk never makes a request and must not carry httpx to check its config.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

PROXY_EXAMPLE = "http://proxy.corp.example:3128"


def check_proxy_url(value: str) -> str:
    """`value` as a proxy URL the wall can use (http or https, host, optional port, nothing else),
    or a ValueError saying what to write. The URL itself is never echoed: it may hold a password."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise ValueError(f"is not a URL with a valid port: write it as {PROXY_EXAMPLE}") from None
    scheme = parts.scheme.lower()
    if "://" not in value:
        raise ValueError(f"has no scheme: write it as {PROXY_EXAMPLE}")
    if scheme not in ("http", "https"):
        raise ValueError(
            f"{scheme}:// proxies are not supported: use an http:// (or https://) proxy URL, "
            f"e.g. {PROXY_EXAMPLE}"
        )
    if "@" in parts.netloc:
        # A password in the URL would travel wherever the URL is shown (logs, `wall status`).
        raise ValueError(
            "must not hold a user name or password: set proxy_username, and proxy_password in the "
            "environment (WALL_NETWORK__PROXY_PASSWORD) or the systemd credential network.proxy_password"
        )
    if not parts.hostname:
        raise ValueError(f"has no host: write it as {PROXY_EXAMPLE}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must be only a scheme, a host and a port, e.g. {PROXY_EXAMPLE}")
    return f"{scheme}://{parts.netloc}"


def no_proxy_entry(entry: str) -> str:
    """One `no_proxy` entry, normalised: a host name or domain suffix (`corp.example` also matches
    `matrix.corp.example`), an address, or a CIDR range; a ValueError says what to write instead."""
    text = entry.strip().lower().removeprefix("*.").lstrip(".").rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "/" in text and "://" not in text:
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            pass
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or not all(c.isalnum() or c in "-_." for c in text) or ".." in text:
        raise ValueError(
            f"{entry!r} is not a host name, domain or CIDR range: write a name such as "
            '"matrix.corp.example", a domain such as "corp.example" or a range such as "10.0.0.0/8" '
            "(no scheme, port or path)"
        )
    return text


def matches_no_proxy(host: str, entries: Iterable[str]) -> bool:
    """True when `host` (as in a URL) is to be reached directly: it is a listed name or under a
    listed domain, or an address literal inside a listed address or range. Names are not resolved
    for this: a range matches addresses written in URLs."""
    name = host.strip("[]").lower().rstrip(".")
    try:
        ip: Address | None = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    for entry in entries:
        if ip is not None:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if ip.version == net.version and ip in net:
                return True
        elif name == entry or name.endswith(f".{entry}"):
            return True
    return False


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """The configured outbound proxy: where it is, how to log in, which hosts bypass it."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    no_proxy: tuple[str, ...] = ()
    resolves_names: bool = False  # a name the wall cannot resolve is left to the proxy (weaker)

    def bypasses(self, host: str) -> bool:
        """True when requests to `host` go direct, not through the proxy."""
        return matches_no_proxy(host, self.no_proxy)
