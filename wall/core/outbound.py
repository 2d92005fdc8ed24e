"""The wall's one outbound policy: which addresses a request may reach, enforced where connections
are made.

The wall reads what strangers write. A URL inside a post or an API answer (a picture, an avatar, a
link in a feed) may point at the company's LAN, at the wall itself, or at a public name that
resolves or redirects there. Only the configured sources' own origins may be reached on the LAN,
and only by their own requests (`sources.base.HttpFetcher` decides which requests those are).

- `is_public_address(ip)` is the rule: no loopback, RFC 1918, link-local, CGNAT, unique-local,
  site-local, multicast, unspecified, reserved or documentation address, and none of them hidden in
  an IPv4-mapped, IPv4-compatible, 6to4 or NAT64 form.
- `GuardedBackend` applies it to the address actually connected to, after DNS, at every connection
  (so at every redirect hop, and a name that resolves to a public address once and to 127.0.0.1 the
  next time is refused the second time): the socket is opened on the checked address itself.
- `OutboundTransport` holds two connection pools: one for the configured origins (may reach the
  LAN) and a guarded one for everything else. A request goes to the first only when its
  `extensions[TRUSTED]` says so; anything else, whatever built it, is guarded. Keep-alive
  connections are never shared between the two, so a request from a post cannot ride on a
  connection opened for an internal source.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore
import httpx

TRUSTED = "lobby_wall.trusted_origin"  # request extension: True for a configured source's own origin

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Ranges Python's `is_global` does not already exclude on 3.11, or that hide an IPv4 address.
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are IPv4
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


class OutboundRefused(httpcore.ConnectError):
    """A connection the outbound policy forbids (its message names the host and the address)."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _IPV4_COMPATIBLE or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: Address) -> bool:
    """True when `ip` is an ordinary public unicast address, the only kind a URL from a post may reach."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(inner)
        if ip.is_site_local or ip in _NAT64_LOCAL:
            return False
    elif ip in _CGNAT:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (an address literal resolves to itself)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressPolicy:
    """Which resolved addresses a guarded connection may open.

    `also_public` lists networks to treat as public: only tests and benches set it, so that a loopback
    server can stand in for a host on the internet.
    """

    def __init__(self, *, also_public: Iterable[str] = ()) -> None:
        self.also_public: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in also_public)

    def allows(self, address: str) -> bool:
        """True when a connection to `address` (an IP literal, maybe with a %scope) may be opened."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if any(ip.version == net.version and ip in net for net in self.also_public):
            return True
        return is_public_address(ip)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses it unless an address passes the policy, and opens the socket
    on that checked address (TLS still verifies the certificate against the host name)."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self.resolver(host.strip("[]"), port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        allowed = [a for a in addresses if self.policy.allows(a)]
        if not allowed:
            shown = ", ".join(sorted(set(addresses))[:3]) or "no address"
            raise OutboundRefused(f"{host} is not a public address ({shown}): refused by the outbound policy")
        error: Exception | None = None
        for address in allowed:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are never reached from a URL")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _guarded_transport(
    policy: AddressPolicy, resolver: Resolver, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through `GuardedBackend`."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    old = transport._pool
    # httpx builds its pool without a way to pass a network backend; the pool is rebuilt with the
    # same settings and the guard (tests/wall/test_outbound.py fails if this stops taking effect).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=old._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy, resolver=resolver),
    )
    return transport


class OutboundTransport(httpx.AsyncBaseTransport):
    """Routes a request to the LAN-capable pool when it is marked `TRUSTED`, else to the guarded one."""

    def __init__(
        self,
        *,
        policy: AddressPolicy | None = None,
        resolver: Resolver = system_resolver,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        self.policy = policy or AddressPolicy()
        self.trusted = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        self.guarded = _guarded_transport(self.policy, resolver, limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(TRUSTED) is True:
            return await self.trusted.handle_async_request(request)
        return await self.guarded.handle_async_request(request)

    async def aclose(self) -> None:
        await self.trusted.aclose()
        await self.guarded.aclose()


def outbound_client(
    *,
    timeout: httpx.Timeout,
    headers: dict[str, str],
    limits: httpx.Limits | None = None,
    policy: AddressPolicy | None = None,
    resolver: Resolver = system_resolver,
) -> httpx.AsyncClient:
    """An AsyncClient under the outbound policy. It follows no redirect itself: `HttpFetcher` does,
    hop by hop, so that each hop is routed and checked again and secrets stay on their origin."""
    return httpx.AsyncClient(
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would connect for us, out of the policy's sight
        transport=OutboundTransport(policy=policy, resolver=resolver, limits=limits),
    )
