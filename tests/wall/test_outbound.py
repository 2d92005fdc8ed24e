"""The outbound policy: a URL from a post reaches public addresses only, checked on the address
connected to, at every redirect hop; a source's own origins stay reachable on the LAN; secrets never
follow a redirect to another origin.

Servers on 127.0.0.1 stand for the company's LAN (the wall itself, an internal service). A server on
127.0.0.2 stands for a host on the internet: the tests' policy lets that one address count as public.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import ConfigError, HttpFetcher, TransientError, bearer_for, same_site
from tests.support.public import POLICY, PUBLIC_STAND_IN
from wall.core.outbound import AddressPolicy, is_public_address
from wall.engine.config import parse_config
from wall.engine.services import make_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.254", False),
        ("192.168.1.10", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # CGNAT
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("224.0.0.251", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("192.0.2.1", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),  # site-local
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2001:db8::1", False),
    ],
)
def test_only_ordinary_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_a_scoped_link_local_address_is_refused() -> None:
    assert not AddressPolicy().allows("fe80::1%1")
    assert not AddressPolicy().allows("not an address")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = parse_config({"storage": {"state_dir": str(tmp_path)}}, str(tmp_path / "wall.toml"))
    async with make_client(config, policy=POLICY) as client:
        yield client


def picture_fetcher(client: httpx.AsyncClient) -> HttpFetcher:
    """How the wall fetches a URL taken from a post: no configured origin."""
    return HttpFetcher(client, conditional=False)


async def test_a_url_from_a_post_never_reaches_the_lan(
    client: httpx.AsyncClient, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/secret").respond_with_data("internal data")
    port = httpserver.port
    fetcher = picture_fetcher(client)
    for url in (
        f"http://127.0.0.1:{port}/secret",
        f"http://localhost:{port}/secret",
        f"http://2130706433:{port}/secret",  # 127.0.0.1 as one decimal number
        f"http://0x7f.1:{port}/secret",
        f"http://[::ffff:127.0.0.1]:{port}/secret",
    ):
        with pytest.raises(TransientError, match=r"not a public address|cannot reach"):
            await fetcher.get(url)
    assert httpserver.log == []  # the internal server never saw a request


async def test_a_public_url_that_redirects_inside_is_refused_at_the_hop(
    client: httpx.AsyncClient, httpserver: HTTPServer, public_server: HTTPServer
) -> None:
    httpserver.expect_request("/secret").respond_with_data("internal data")
    inside = f"http://127.0.0.1:{httpserver.port}/secret"
    public_server.expect_request("/pic.png").respond_with_data("", status=302, headers={"Location": inside})
    public_server.expect_request("/ok.png").respond_with_data(b"PNG", content_type="image/png")
    fetcher = picture_fetcher(client)

    assert (await fetcher.get(public_server.url_for("/ok.png"))).content == b"PNG"
    with pytest.raises(TransientError, match="outbound policy"):
        await fetcher.get(public_server.url_for("/pic.png"))
    assert httpserver.log == []


async def test_the_check_is_on_the_address_connected_to_so_dns_rebinding_fails(
    tmp_path: Path, public_server: HTTPServer
) -> None:
    """`rebind.example` answers the public address once, then 127.0.0.1, where an internal server
    listens on the same port: the second connection is refused although the name passed once."""
    inside = HTTPServer(host="127.0.0.1", port=public_server.port)
    inside.expect_request("/pic.png").respond_with_data("internal data")
    inside.start()
    public_server.expect_request("/pic.png").respond_with_data(b"PNG")
    answers = [PUBLIC_STAND_IN, "127.0.0.1"]

    async def rebinding(host: str, port: int) -> list[str]:
        assert host == "rebind.example"
        return [answers.pop(0)]

    config = parse_config({"storage": {"state_dir": str(tmp_path)}}, str(tmp_path / "wall.toml"))
    try:
        async with make_client(config, policy=POLICY, resolver=rebinding) as client:
            client.headers["Connection"] = "close"  # a new connection (and a new resolution) each time
            fetcher = picture_fetcher(client)
            url = f"http://rebind.example:{public_server.port}/pic.png"
            assert (await fetcher.get(url)).content == b"PNG"
            with pytest.raises(TransientError, match="outbound policy"):
                await fetcher.get(url)
        assert inside.log == []
    finally:
        inside.stop()


async def test_a_source_reaches_its_own_lan_origin_but_a_redirect_elsewhere_is_guarded(
    client: httpx.AsyncClient, httpserver: HTTPServer
) -> None:
    other = HTTPServer(host="127.0.0.1", port=0)
    other.expect_request("/elsewhere").respond_with_data("other internal service")
    other.start()
    try:
        httpserver.expect_request("/_matrix/sync").respond_with_json({"next_batch": "s1"})
        httpserver.expect_request("/moved").respond_with_data(
            "", status=302, headers={"Location": other.url_for("/elsewhere")}
        )
        own = HttpFetcher(client, origins=[httpserver.url_for("/")])
        assert (await own.get(httpserver.url_for("/_matrix/sync"))).json() == {"next_batch": "s1"}
        with pytest.raises(TransientError, match="outbound policy"):
            await own.get(httpserver.url_for("/moved"))
        assert other.log == []
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("method", "headers", "data"),
    [
        ("GET", {"Api-Key": "discourse-key-123456"}, None),  # Discourse
        ("GET", {"Authorization": "Bearer syt_matrix_token"}, None),
        ("POST", {}, {"client_secret": "teams-secret-98765"}),  # Teams client credentials
        ("POST", {}, {"password": "bluesky-app-password"}),
    ],
)
async def test_a_request_with_a_secret_never_follows_a_redirect_to_another_origin(
    client: httpx.AsyncClient,
    httpserver: HTTPServer,
    public_server: HTTPServer,
    method: str,
    headers: dict[str, str],
    data: dict[str, str] | None,
) -> None:
    for status in (302, 307, 308):
        httpserver.expect_request(f"/api/{status}").respond_with_data(
            "", status=status, headers={"Location": public_server.url_for("/steal")}
        )
    public_server.expect_request("/steal").respond_with_data("thanks")
    fetcher = HttpFetcher(client, origins=[httpserver.url_for("/")])
    for status in (302, 307, 308):
        with pytest.raises(ConfigError, match="another origin"):
            await fetcher.request(
                "POST" if method == "POST" else "GET",
                httpserver.url_for(f"/api/{status}"),
                headers=headers,
                data=data,
            )
    assert public_server.log == []


async def test_a_plain_get_follows_a_redirect_and_a_secret_stays_on_its_origin(
    client: httpx.AsyncClient, httpserver: HTTPServer, public_server: HTTPServer
) -> None:
    seen: list[dict[str, str]] = []

    def record(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response("<rss/>", content_type="application/rss+xml")

    public_server.expect_request("/feed.xml").respond_with_handler(record)
    httpserver.expect_request("/old-feed").respond_with_data(
        "", status=301, headers={"Location": public_server.url_for("/feed.xml")}
    )
    httpserver.expect_request("/same").respond_with_data("", status=302, headers={"Location": "/same-2"})
    httpserver.expect_request("/same-2", headers={"Authorization": "Bearer t0ken-same"}).respond_with_data(
        "ok"
    )
    fetcher = HttpFetcher(client, origins=[httpserver.url_for("/")])

    fetched = await fetcher.get(httpserver.url_for("/old-feed"), headers={"Accept": "application/rss+xml"})
    assert fetched.content == b"<rss/>"
    assert seen[0].get("Accept") == "application/rss+xml"
    # Same origin: the token goes on to the next hop.
    same = await fetcher.get(httpserver.url_for("/same"), headers={"Authorization": "Bearer t0ken-same"})
    assert same.content == b"ok"


def test_same_site_allows_only_the_same_origin_or_an_upgrade_to_https() -> None:
    assert same_site("https://a.example/x", "https://a.example:443/y")
    assert same_site("http://a.example/x", "https://a.example/y")
    assert not same_site("https://a.example/x", "http://a.example/y")  # never down to clear text
    assert not same_site("https://a.example/x", "https://b.example/y")
    assert not same_site("https://a.example/x", "https://a.example:8443/y")
    assert not same_site("https://a.example/x", "https://a.example.evil.example/y")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://chat.corp.example/api/v4/files/1", {"Authorization": "Bearer tok"}),
        ("https://CHAT.corp.example:443/api/v4/users/2/image", {"Authorization": "Bearer tok"}),
        ("https://chat.corp.example/other/1", {}),  # outside the API root
        ("http://chat.corp.example/api/v4/files/1", {}),  # another scheme: another origin
        ("https://chat.corp.example:8443/api/v4/files/1", {}),
        ("https://chat.corp.example.evil.example/api/v4/files/1", {}),
        ("https://evil.example/?u=https://chat.corp.example/api/v4/", {}),
        ("https://user@evil.example@chat.corp.example/api/v4/x", {}),
    ],
)
def test_a_token_goes_only_to_its_own_origin(url: str, expected: dict[str, str]) -> None:
    got = bearer_for(url, "https://chat.corp.example", "tok", path_prefix="/api/v4")
    if url.startswith("https://user@"):
        # Whatever a parser makes of this, the token never goes to evil.example.
        assert got == {} or httpx.URL(url).host == "chat.corp.example"
    else:
        assert got == expected


def test_the_client_is_ready_before_its_first_request(tmp_path: Path) -> None:
    """httpcore loaded anyio's asyncio backend at the first request: 20-35 ms of imports on the GUI
    thread's loop in the middle of the first poll (issue 14, bench stall). A fresh process shows it."""
    wall_toml = tmp_path / "wall.toml"
    wall_toml.write_text('[[sources]]\nname = "demo"\ntype = "demo"\n', encoding="utf-8")
    code = (
        "import sys\n"
        "from wall.engine.config import load_config\n"
        "from wall.engine.services import make_client\n"
        f"make_client(load_config({str(wall_toml)!r}, env={{}}))\n"
        "print('anyio._backends._asyncio' in sys.modules)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    assert ran.stdout.strip() == "True"
