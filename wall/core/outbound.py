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
- `ProxyRoute` is the explicit `[network] proxy` (never one from the environment). Through it the
  proxy connects, not the wall, so an untrusted request is checked before the proxy is asked
  (`DestinationCheck`): an address literal must be public, a name must resolve, here, to public
  addresses only. The proxy resolves the name again, so this is not proof against DNS rebinding:
  the proxy's own ACL is the second line. Hosts matching `no_proxy` are reached directly, untrusted
  ones through `GuardedBackend` as without a proxy. Trusted and untrusted requests keep separate
  pools to the proxy too.
- `trust_context()` is the one TLS client context every pool shares: the system's certificate
  authorities, looked up in their folder when a server's chain names one (the ones Debian's
  `ca-certificates` keeps up to date, with the company's own CA once `update-ca-certificates` has
  added it), or certifi's bundle where the system has none.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore
import httpx

from wall.core.proxy import ProxyRoute

log = logging.getLogger("wall.core.outbound")

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


# --- an explicit outbound proxy (its settings: `wall.core.proxy`) ------------------------------


class DestinationCheck:
    """The policy for an untrusted request the proxy will connect for us: the wall can only judge
    the destination before asking, so every address of the name must be public."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver, *, resolves_names: bool = False) -> None:
        self.policy = policy
        self.resolver = resolver
        self.resolves_names = resolves_names
        self._unresolved_logged: set[str] = set()

    async def check(self, host: str, port: int, timeout: float | None = None) -> None:
        """Return when the proxy may be asked for `host`; raise `OutboundRefused` otherwise."""
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            if not self.policy.allows(host):
                raise OutboundRefused(f"{host} is not a public address: refused by the outbound policy")
            return
        try:
            with anyio.fail_after(timeout):
                addresses = await self.resolver(host, port)
        except (OSError, TimeoutError) as exc:
            if self.resolves_names:
                return  # [network] proxy_resolves_names: the proxy resolves it, its ACL judges it
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            if host not in self._unresolved_logged and len(self._unresolved_logged) < 1000:
                self._unresolved_logged.add(host)
                log.warning(
                    "outbound: %s cannot be resolved by the wall (%s): refused before asking the proxy; "
                    "if this network's DNS does not know external names, set [network] "
                    "proxy_resolves_names = true (weaker: the proxy's ACL alone then keeps the LAN safe)",
                    host,
                    reason,
                )
            raise OutboundRefused(
                f"{host} cannot be resolved by the wall ({reason}): refused by the outbound policy "
                "before asking the proxy"
            ) from None
        refused = sorted({a for a in addresses if not self.policy.allows(a)})
        if refused or not addresses:
            shown = ", ".join(refused[:3]) or "no address"
            raise OutboundRefused(f"{host} is not a public address ({shown}): refused by the outbound policy")


class _CheckedProxy(httpcore.AsyncHTTPProxy):
    """A connection pool through the proxy that checks each request's destination first."""

    def __init__(self, check: DestinationCheck, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        timeouts = request.extensions.get("timeout", {})
        port = request.url.port or (443 if request.url.scheme == b"https" else 80)
        await self.check.check(request.url.host.decode("ascii"), port, timeouts.get("connect"))
        return await super().handle_async_request(request)


def _proxied_transport(
    route: ProxyRoute, limits: httpx.Limits, check: DestinationCheck | None, ssl_context: ssl.SSLContext
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every request goes through the proxy (the proxy's own address is
    trusted: the operator configured it), checked first by `check` when there is one. `ssl_context`
    is shared (building one costs ~15 ms) and also checks an https:// proxy's certificate."""
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    url = httpx.URL(route.url)
    options: dict[str, typing.Any] = {
        "proxy_url": httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=b"/"),
        "proxy_auth": (route.username, route.password) if route.username else None,
        "ssl_context": ssl_context,
        "proxy_ssl_context": ssl_context if url.scheme == "https" else None,  # httpcore refuses it for http
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }
    # As in `_guarded_transport`: httpx takes no pool from outside, so its pool is replaced.
    transport._pool = _CheckedProxy(check, **options) if check else httpcore.AsyncHTTPProxy(**options)
    return transport


SYSTEM_TRUST_DIR = "/etc/ssl/certs"
_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")  # how OpenSSL finds an authority in a folder


def trust_context(trust_dir: str = SYSTEM_TRUST_DIR) -> ssl.SSLContext:
    """The TLS client context of the wall's HTTP pools: certificates checked against the authorities
    in `trust_dir`, which OpenSSL reads one at a time, when a chain names them, by their hashed
    names.

    A kiosk runs for years: the system's folder follows Debian's `ca-certificates` updates (an
    authority removed or added), where certifi's bundle stays as installed; it also holds a company's
    own authority (a TLS-inspecting proxy, an internal RSE) once added with `update-ca-certificates`.
    And it costs no memory for the authorities never met: certifi's bundle is parsed whole into
    every context made from it (~0.8 MB each). Without a hashed authority in the folder (a minimal
    system), certifi's bundle is used."""
    try:
        names = os.listdir(trust_dir)
    except OSError:
        names = []
    if any(_HASHED_NAME.fullmatch(name) for name in names):
        return ssl.create_default_context(capath=trust_dir)
    return httpx.create_ssl_context(trust_env=False)


def _guarded_transport(
    policy: AddressPolicy, resolver: Resolver, limits: httpx.Limits, tls: ssl.SSLContext
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through `GuardedBackend`."""
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=False)
    # httpx builds its pool without a way to pass a network backend; the pool is rebuilt with the
    # same settings and the guard (tests/wall/test_outbound.py fails if this stops taking effect).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy, resolver=resolver),
    )
    return transport


class OutboundTransport(httpx.AsyncBaseTransport):
    """Routes a request to the LAN-capable pool when it is marked `TRUSTED`, else to the guarded one;
    with a `proxy`, to the same two kinds of pool through the proxy, unless its host is in `no_proxy`."""

    def __init__(
        self,
        *,
        policy: AddressPolicy | None = None,
        resolver: Resolver = system_resolver,
        limits: httpx.Limits | None = None,
        proxy: ProxyRoute | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        self.policy = policy or AddressPolicy()
        # One context for every pool (each parses its trust store, and a handshake's session cache
        # is per context): made once, and checks an https:// proxy's certificate too.
        self.tls = tls or trust_context()
        self.trusted = httpx.AsyncHTTPTransport(verify=self.tls, limits=limits, trust_env=False)
        self.guarded = _guarded_transport(self.policy, resolver, limits, self.tls)
        self.proxy = proxy
        self.proxied: tuple[httpx.AsyncHTTPTransport, httpx.AsyncHTTPTransport] | None = None
        if proxy is not None:
            check = DestinationCheck(self.policy, resolver, resolves_names=proxy.resolves_names)
            self.proxied = (
                _proxied_transport(proxy, limits, None, self.tls),
                _proxied_transport(proxy, limits, check, self.tls),
            )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trusted = request.extensions.get(TRUSTED) is True
        if self.proxied is not None and not (self.proxy and self.proxy.bypasses(request.url.host)):
            return await self.proxied[0 if trusted else 1].handle_async_request(request)
        if trusted:
            return await self.trusted.handle_async_request(request)
        return await self.guarded.handle_async_request(request)

    async def aclose(self) -> None:
        await self.trusted.aclose()
        await self.guarded.aclose()
        for transport in self.proxied or ():
            await transport.aclose()


def outbound_client(
    *,
    timeout: httpx.Timeout,
    headers: dict[str, str],
    limits: httpx.Limits | None = None,
    policy: AddressPolicy | None = None,
    resolver: Resolver = system_resolver,
    proxy: ProxyRoute | None = None,
    tls: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient under the outbound policy, through `proxy` when one is configured. It follows
    no redirect itself: `HttpFetcher` does, hop by hop, so that each hop is routed and checked again
    and secrets stay on their origin. `tls`: `trust_context()` unless given (tests)."""
    return httpx.AsyncClient(
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        # A proxy from the environment would connect for us, out of the policy's sight: only the one
        # configured in [network] is used, and checked around (`DestinationCheck`).
        trust_env=False,
        transport=OutboundTransport(policy=policy, resolver=resolver, limits=limits, proxy=proxy, tls=tls),
    )
