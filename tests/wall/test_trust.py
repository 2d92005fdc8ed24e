"""Which authorities the wall's HTTPS requests trust (`wall.core.outbound.trust_context`): the system's
folder, read one authority at a time, shared by every pool of the one client (issue 14: each
context parsed certifi's whole bundle, ~0.8 MB, and the client had two)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from sources.base import Fetched, HttpFetcher, TransientError
from tests.support.tls import make_tls, trust_folder
from wall.core.outbound import SYSTEM_TRUST_DIR, OutboundTransport, outbound_client, trust_context
from wall.core.proxy import ProxyRoute
from wall.engine.config import parse_config
from wall.engine.services import make_client


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    """An internal RSE over HTTPS on loopback, its certificate signed by the company's own authority."""
    company = make_tls(tmp_path / "company")
    server = HTTPServer(host="localhost", ssl_context=company.server_context())
    server.expect_request("/api/posts").respond_with_json({"posts": ["hello"]})
    server.start()
    yield server, company.ca
    server.clear()
    if server.is_running():
        server.stop()


async def fetch(server: HTTPServer, tls: ssl.SSLContext) -> Fetched:
    """What a source configured with this server's address does: its own origin, on the LAN."""
    async with outbound_client(timeout=httpx.Timeout(10), headers={}, tls=tls) as client:
        fetcher = HttpFetcher(client, origins=[server.url_for("/")])
        return await fetcher.get(server.url_for("/api/posts"))


async def test_an_authority_added_to_the_trust_folder_is_trusted_and_read_only_when_met(
    https_server: tuple[HTTPServer, Path], tmp_path: Path
) -> None:
    server, company_ca = https_server
    other = make_tls(tmp_path / "other")  # an authority the system also trusts, never met
    tls = trust_context(str(trust_folder(tmp_path / "certs", other.ca, company_ca)))
    assert tls.cert_store_stats()["x509_ca"] == 0  # nothing read before a server names its authority
    answer = await fetch(server, tls)
    assert answer.json() == {"posts": ["hello"]}
    assert tls.cert_store_stats()["x509_ca"] == 1  # the company's, not the other one


async def test_a_server_signed_by_an_authority_not_in_the_folder_is_refused(
    https_server: tuple[HTTPServer, Path], tmp_path: Path
) -> None:
    server, _company_ca = https_server
    stranger = make_tls(tmp_path / "stranger")
    tls = trust_context(str(trust_folder(tmp_path / "certs", stranger.ca)))
    with pytest.raises(TransientError, match=r"certificate is not trusted .*update-ca-certificates"):
        await fetch(server, tls)
    assert server.log == []  # no request was sent over the untrusted connection


async def test_without_authorities_in_the_folder_certifis_bundle_is_trusted(
    https_server: tuple[HTTPServer, Path], tmp_path: Path
) -> None:
    server, _company_ca = https_server
    empty = tmp_path / "certs"
    empty.mkdir()
    (empty / "README").write_text("no authority here", encoding="utf-8")
    for folder in (empty, tmp_path / "missing"):
        tls = trust_context(str(folder))
        assert tls.cert_store_stats()["x509_ca"] > 100  # the public authorities, all of them
        with pytest.raises(TransientError, match=r"certificate is not trusted .*update-ca-certificates"):
            await fetch(server, tls)  # and not the company's own


def test_this_machine_trusts_its_systems_authorities_by_folder() -> None:
    """`make` installs Debian's ca-certificates (scripts/install-debian-deps.sh): its folder is used."""
    tls = trust_context()
    assert tls.cert_store_stats()["x509_ca"] == 0
    assert tls.verify_mode == ssl.CERT_REQUIRED and tls.check_hostname
    assert Path(SYSTEM_TRUST_DIR, "ca-certificates.crt").exists() or any(Path(SYSTEM_TRUST_DIR).glob("*.0"))


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[list[httpx.AsyncClient]]:
    direct = parse_config({"storage": {"state_dir": str(tmp_path)}}, str(tmp_path / "wall.toml"))
    proxied = parse_config(
        {"storage": {"state_dir": str(tmp_path)}, "network": {"proxy": "https://proxy.corp.example:3128"}},
        str(tmp_path / "wall.toml"),
    )
    async with make_client(direct) as one, make_client(proxied) as two:
        yield [one, two]


async def test_every_pool_of_the_wall_shares_one_tls_context(clients: list[httpx.AsyncClient]) -> None:
    for client in clients:
        transport = client._transport
        assert isinstance(transport, OutboundTransport)
        pools = [transport.trusted._pool, transport.guarded._pool]
        if transport.proxied is not None:
            pools += [proxied._pool for proxied in transport.proxied]
            assert isinstance(transport.proxy, ProxyRoute)
        assert len(pools) == (4 if transport.proxied else 2)
        assert all(pool._ssl_context is transport.tls for pool in pools)
