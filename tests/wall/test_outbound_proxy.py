"""`[network] proxy`: the wall reaches the internet through the company's egress proxy, and the
outbound policy still holds.

A forward proxy on 127.0.0.1 (`tests.support.forward_proxy`) stands for the company's proxy and
records what it is asked. As in test_outbound.py, 127.0.0.1 stands for the LAN and 127.0.0.2 for a
host on the internet (the tests' policy lets that one address count as public); names are resolved
by a table (`RESOLVER`) for the wall and by the proxy's own table for the proxy.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from sources.base import AuthError, TransientError
from tests.hostile.test_startup import start_wall, status, wait_for, wall_env
from tests.support.forward_proxy import ForwardProxy, ProxyRequest, basic, forward_proxy
from tests.support.public import POLICY, PUBLIC_STAND_IN
from tests.wall.test_cli import wall
from wall.core.proxy import matches_no_proxy, no_proxy_entry
from wall.core.secrets import mask
from wall.engine.config import ConfigProblems, load_config, parse_config, remember_good_config
from wall.engine.images import picture_fetcher
from wall.engine.services import build_sources, make_client, open_store

ROOT = Path(__file__).resolve().parents[2]
RSS = (ROOT / "tests" / "fixtures" / "rss" / "rss2.xml").read_bytes()
USER = "lobby-wall"
PASSWORD = "Pr0xy-pa55word-4-lobby"
NAMES = {
    "pics.example": [PUBLIC_STAND_IN],
    "localhost": ["127.0.0.1"],
    "inside.example": ["127.0.0.1"],  # a public-looking name that resolves to the LAN
    "mixed.example": [PUBLIC_STAND_IN, "10.0.0.5"],  # one public address is not enough
}


async def RESOLVER(host: str, port: int) -> list[str]:
    """The wall's DNS in these tests: `NAMES` (and an address is itself); nothing else resolves."""
    if host in NAMES:
        return NAMES[host]
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def proxied_config(
    tmp_path: Path, proxy: ForwardProxy, sources: list[dict[str, Any]] | None = None, **network: Any
) -> Any:
    """A config whose `[network] proxy` is `proxy`, logged in as USER with PASSWORD from the
    environment, as a deployment sets it."""
    data = {
        "storage": {"state_dir": str(tmp_path)},
        "network": {"proxy": proxy.url, "proxy_username": USER, **network},
        "sources": sources or [],
    }
    return parse_config(data, str(tmp_path / "wall.toml"), {"WALL_NETWORK__PROXY_PASSWORD": PASSWORD})


@pytest.fixture
def proxy(public_server: HTTPServer) -> Iterator[ForwardProxy]:
    with forward_proxy(login=(USER, PASSWORD), hosts={"pics.example": PUBLIC_STAND_IN}) as running:
        yield running


# --- a configured source through the proxy ------------------------------------------------------


async def test_a_configured_feed_is_fetched_through_the_proxy_with_its_login(
    tmp_path: Path, httpserver: HTTPServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed's name is known only to the proxy (the wall does not resolve a trusted origin), and
    a proxy from the environment is not used: the configured one is."""
    with forward_proxy() as environment_proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, environment_proxy.url)
        proxy.hosts["feeds.example"] = "127.0.0.1"
        httpserver.expect_request("/feed.xml").respond_with_data(RSS, content_type="application/rss+xml")
        url = f"http://feeds.example:{httpserver.port}/feed.xml"
        config = proxied_config(tmp_path, proxy, [{"name": "news", "type": "rss", "url": url}])
        async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
            (source,) = build_sources(config, client)
            batch = await source.poll()

        assert batch.posts, "the feed's posts arrive through the proxy"
        assert proxy.requests == [ProxyRequest("GET", url, basic(USER, PASSWORD))]
        assert environment_proxy.requests == []
    ((request, _response),) = httpserver.log
    assert "Proxy-Authorization" not in request.headers  # the login stays with the proxy


async def test_an_https_source_is_tunnelled_with_connect_and_the_login(
    tmp_path: Path, httpserver: HTTPServer, proxy: ForwardProxy
) -> None:
    """The tunnel reaches a plain-HTTP server here, so TLS fails after it: what matters is that the
    proxy was asked for the tunnel, with the login."""
    proxy.hosts["feeds.example"] = "127.0.0.1"
    url = f"https://feeds.example:{httpserver.port}/feed.xml"
    config = proxied_config(tmp_path, proxy, [{"name": "news", "type": "rss", "url": url}])
    async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
        (source,) = build_sources(config, client)
        with pytest.raises(TransientError):
            await source.poll()
    assert proxy.requests == [
        ProxyRequest("CONNECT", f"feeds.example:{httpserver.port}", basic(USER, PASSWORD))
    ]


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_a_refused_proxy_login_says_so_and_the_password_is_in_no_log_or_error(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, scheme: str
) -> None:
    """The proxy wants another password: 407 (to a forwarded request for http://, to CONNECT for
    https://). The source needs attention with the reason, and the password, or its base64 form,
    is nowhere: not in the error, not in any log line (httpx and httpcore at debug level too)."""
    caplog.set_level(logging.DEBUG)
    with forward_proxy(login=(USER, "what-the-proxy-wants"), hosts={"feeds.example": "127.0.0.1"}) as strict:
        url = f"{scheme}://feeds.example:{httpserver.port}/feed.xml"
        config = proxied_config(tmp_path, strict, [{"name": "news", "type": "rss", "url": url}])
        async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
            (source,) = build_sources(config, client)
            with pytest.raises(AuthError) as refused:
                await source.poll()
        assert strict.requests  # the proxy was asked, and said no

    message = str(refused.value)
    assert "proxy" in message and "407" in message and "proxy_password" in message
    login = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    outputs = [message, repr(refused.value), caplog.text, repr(config), repr(config.network.proxy_route())]
    for output in outputs:
        assert PASSWORD not in output and login not in output
    assert mask(f"x {PASSWORD} {login} y") == "x *** *** y"  # every output path masks both
    assert httpserver.log == []


def test_wall_fetch_through_a_refusing_proxy_prints_neither_the_password_nor_a_traceback(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    with forward_proxy(login=(USER, "what-the-proxy-wants"), hosts={"feeds.example": "127.0.0.1"}) as strict:
        path = tmp_path / "wall.toml"
        path.write_text(
            f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
            f'[network]\nproxy = "{strict.url}"\nproxy_username = "{USER}"\n'
            f'[[sources]]\nname = "news"\ntype = "rss"\n'
            f'url = "http://feeds.example:{httpserver.port}/feed.xml"\n',
            encoding="utf-8",
        )
        result = wall(
            "fetch", "news", "--json", "--config", str(path), env={"WALL_NETWORK__PROXY_PASSWORD": PASSWORD}
        )
        assert [r.target for r in strict.requests] == [f"http://feeds.example:{httpserver.port}/feed.xml"]
    assert result.returncode != 0
    assert "proxy_password" in result.stderr and "Traceback" not in result.stderr
    login = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert PASSWORD not in result.stdout + result.stderr and login not in result.stdout + result.stderr


# --- URLs from posts through the proxy ----------------------------------------------------------


async def test_a_picture_at_a_lan_address_is_refused_before_the_proxy_is_asked(
    tmp_path: Path, httpserver: HTTPServer, proxy: ForwardProxy
) -> None:
    httpserver.expect_request("/secret").respond_with_data("internal data")
    port = httpserver.port
    config = proxied_config(tmp_path, proxy)
    async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
        fetcher = picture_fetcher(client)
        for url in (
            f"http://127.0.0.1:{port}/secret",
            f"http://[::ffff:127.0.0.1]:{port}/secret",
            "http://10.0.0.5/pic.png",
            "https://192.168.1.10/pic.png",  # would be a CONNECT
            f"http://inside.example:{port}/secret",  # a name resolving to the LAN
            "https://mixed.example/pic.png",  # one of its addresses is private
        ):
            with pytest.raises(TransientError, match=r"not a public address.*outbound policy"):
                await fetcher.get(url)
    assert proxy.requests == []  # the proxy saw nothing
    assert httpserver.log == []


async def test_a_public_picture_goes_through_the_proxy_and_a_redirect_to_the_lan_is_refused_at_the_hop(
    tmp_path: Path, httpserver: HTTPServer, public_server: HTTPServer, proxy: ForwardProxy
) -> None:
    httpserver.expect_request("/secret").respond_with_data("internal data")
    public_server.expect_request("/ok.png").respond_with_data(b"PNG", content_type="image/png")
    for name, inside in (
        ("address", f"http://127.0.0.1:{httpserver.port}/secret"),
        ("name", f"http://inside.example:{httpserver.port}/secret"),
    ):
        public_server.expect_request(f"/{name}.png").respond_with_data(
            "", status=302, headers={"Location": inside}
        )
    base = f"http://pics.example:{public_server.port}"
    config = proxied_config(tmp_path, proxy)
    async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
        fetcher = picture_fetcher(client)
        assert (await fetcher.get(f"{base}/ok.png")).content == b"PNG"
        for name in ("address", "name"):
            with pytest.raises(TransientError, match=r"not a public address.*outbound policy"):
                await fetcher.get(f"{base}/{name}.png")
    assert proxy.targets() == [f"{base}/ok.png", f"{base}/address.png", f"{base}/name.png"]
    assert all(r.proxy_authorization == basic(USER, PASSWORD) for r in proxy.requests)
    assert httpserver.log == []


async def test_a_name_the_wall_cannot_resolve_is_refused_unless_the_proxy_resolves_names(
    tmp_path: Path, public_server: HTTPServer, proxy: ForwardProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """On a network whose DNS knows only internal names, the wall cannot judge a picture's host:
    refused by default, with a log line naming the setting; with `proxy_resolves_names` the proxy
    resolves it (and its ACL is then the only line)."""
    public_server.expect_request("/ok.png").respond_with_data(b"PNG", content_type="image/png")
    proxy.hosts["cdn.example"] = PUBLIC_STAND_IN
    url = f"http://cdn.example:{public_server.port}/ok.png"

    async with make_client(proxied_config(tmp_path, proxy), policy=POLICY, resolver=RESOLVER) as client:
        with pytest.raises(TransientError, match="cannot be resolved by the wall"):
            await picture_fetcher(client).get(url)
    assert proxy.requests == []
    assert any(
        r.levelno == logging.WARNING
        and "cdn.example" in r.getMessage()
        and "proxy_resolves_names" in r.getMessage()
        for r in caplog.records
    )

    config = proxied_config(tmp_path, proxy, proxy_resolves_names=True)
    async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
        assert (await picture_fetcher(client).get(url)).content == b"PNG"
    assert proxy.targets() == [url]


async def test_no_proxy_hosts_are_reached_directly_and_a_post_s_url_there_is_still_guarded(
    tmp_path: Path, httpserver: HTTPServer, public_server: HTTPServer, proxy: ForwardProxy
) -> None:
    httpserver.expect_request("/_matrix/sync").respond_with_json({"next_batch": "s1"})
    httpserver.expect_request("/secret").respond_with_data("internal data")
    public_server.expect_request("/ok.png").respond_with_data(b"PNG", content_type="image/png")
    own = f"http://localhost:{httpserver.port}"
    config = proxied_config(tmp_path, proxy, no_proxy=["localhost", "127.0.0.1/32"])
    async with make_client(config, policy=POLICY, resolver=RESOLVER) as client:
        # The internal server (a source's own origin) is in no_proxy: reached directly.
        internal = picture_fetcher(client, origins=[own])
        assert (await internal.get(f"{own}/_matrix/sync")).json() == {"next_batch": "s1"}
        # A post's URL naming a no_proxy host goes direct too, through the guard: refused.
        fetcher = picture_fetcher(client)
        for url in (f"http://127.0.0.1:{httpserver.port}/secret", f"{own}/secret"):
            with pytest.raises(TransientError, match="not a public address"):
                await fetcher.get(url)
        # Anything else still goes through the proxy.
        assert (await fetcher.get(f"http://pics.example:{public_server.port}/ok.png")).content == b"PNG"
    assert proxy.targets() == [f"http://pics.example:{public_server.port}/ok.png"]
    assert [request.path for request, _ in httpserver.log] == ["/_matrix/sync"]


@pytest.mark.parametrize(
    ("host", "entries", "direct"),
    [
        ("matrix.corp.example", ["corp.example"], True),
        ("corp.example", [".corp.example"], True),
        ("MATRIX.Corp.Example.", ["*.corp.example"], True),
        ("evilcorp.example", ["corp.example"], False),
        ("corp.example.evil.example", ["corp.example"], False),
        ("10.20.30.40", ["10.0.0.0/8"], True),
        ("10.20.30.40", ["10.20.30.40"], True),
        ("11.0.0.1", ["10.0.0.0/8"], False),
        ("[fd00::1]", ["fd00::/8"], True),
        ("ten.example", ["10.0.0.0/8"], False),  # names are not resolved to match a range
        ("10.1.1.1", ["corp.example"], False),
    ],
)
def test_no_proxy_matches_names_domains_and_ranges(host: str, entries: list[str], direct: bool) -> None:
    assert matches_no_proxy(host, [no_proxy_entry(e) for e in entries]) is direct


# --- configuration ------------------------------------------------------------------------------


def problems(network: Mapping[str, Any], env: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigProblems) as refused:
        parse_config({"network": dict(network)}, "wall.toml", env or {})
    return refused.value.lines


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        (
            "http://wall:hunter2-in-url@proxy.corp.example:3128",
            "wall.toml: network.proxy: must not hold a user name or password: set proxy_username, "
            "and proxy_password in the environment (WALL_NETWORK__PROXY_PASSWORD) or the systemd "
            "credential network.proxy_password",
        ),
        (
            "socks5://proxy.corp.example:1080",
            "wall.toml: network.proxy: socks5:// proxies are not supported: use an http:// (or https://) "
            "proxy URL, e.g. http://proxy.corp.example:3128",
        ),
        ("ftp://proxy.corp.example", "wall.toml: network.proxy: ftp:// proxies are not supported"),
        ("proxy.corp.example:3128", "wall.toml: network.proxy: has no scheme: write it as http://"),
        ("http://proxy.corp.example:3128/pac", "wall.toml: network.proxy: must be only a scheme, a host"),
        ("http://proxy.corp.example:99999", "wall.toml: network.proxy: is not a URL with a valid port"),
        ("http://:3128", "wall.toml: network.proxy: has no host"),
    ],
)
def test_a_bad_proxy_url_is_refused_with_the_field_and_the_fix(proxy: str, expected: str) -> None:
    (line,) = problems({"proxy": proxy})
    assert line.startswith(expected)
    assert "hunter2" not in line  # a password typed in the URL is not echoed


@pytest.mark.parametrize(
    ("network", "env", "expected"),
    [
        (
            {"proxy": "http://proxy.corp.example:3128", "proxy_username": "wall"},
            {},
            "wall.toml: network.proxy_password: is missing while proxy_username is set: set the "
            "environment variable WALL_NETWORK__PROXY_PASSWORD or the systemd credential "
            "network.proxy_password",
        ),
        (
            {"proxy": "http://proxy.corp.example:3128"},
            {"WALL_NETWORK__PROXY_PASSWORD": "a-password"},
            "wall.toml: network: proxy_username: is missing while proxy_password is set",
        ),
        (
            {"proxy_username": "wall"},
            {"WALL_NETWORK__PROXY_PASSWORD": "a-password"},
            "wall.toml: network: proxy: is empty while proxy_username is set",
        ),
        (
            {"proxy": "http://proxy.corp.example:3128", "no_proxy": ["https://matrix.corp.example"]},
            {},
            "wall.toml: network.no_proxy: 'https://matrix.corp.example' is not a host name, domain or "
            "CIDR range",
        ),
        (
            {"proxy": "http://proxy.corp.example:3128", "no_proxy": ["matrix.corp.example:8448"]},
            {},
            "wall.toml: network.no_proxy: 'matrix.corp.example:8448' is not a host name",
        ),
    ],
)
def test_an_incomplete_proxy_login_or_a_bad_no_proxy_entry_is_refused(
    network: dict[str, Any], env: dict[str, str], expected: str
) -> None:
    (line,) = problems(network, env)
    assert line.startswith(expected)
    assert "a-password" not in line


def test_the_proxy_password_comes_from_a_credential_and_stays_out_of_the_last_good_copy(
    tmp_path: Path,
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "network.proxy_password").write_text("from-systemd-credential\n", encoding="utf-8")
    data = {"network": {"proxy": "http://proxy.corp.example:3128/", "proxy_username": "wall"}}
    config = parse_config(data, "wall.toml", {"CREDENTIALS_DIRECTORY": str(credentials)})
    route = config.network.proxy_route()
    assert route is not None
    assert (route.url, route.username, route.password) == (
        "http://proxy.corp.example:3128",
        "wall",
        "from-systemd-credential",
    )
    assert mask("from-systemd-credential") == "***"

    inline = {"network": {**data["network"], "proxy_password": "inline-proxy-password"}}
    config = parse_config(inline, str(tmp_path / "wall.toml"), {})
    (copy,) = remember_good_config(config, {"STATE_DIRECTORY": str(tmp_path / "state")})
    assert "inline-proxy-password" not in copy.read_text(encoding="utf-8")


def test_a_shell_without_the_password_still_reads_the_config_for_status() -> None:
    """`wall status` and `wall purge` load the config with `need_secrets=False`: no proxy password
    in a shell is no reason to refuse it (`wall run` and `wall fetch` still need it)."""
    data = {"network": {"proxy": "http://proxy.corp.example:3128", "proxy_username": "wall"}}
    config = parse_config(data, "wall.toml", {}, need_secrets=False)
    assert config.network.proxy_username == "wall" and config.network.proxy_password is None


# --- the product at start -----------------------------------------------------------------------


def test_wall_run_polls_through_the_proxy_and_a_changed_proxy_setting_waits_for_a_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A real `wall run`: its feed is reachable only through the proxy (only the proxy knows the
    name), its posts are stored; a saved change of `no_proxy` is reported as needing a restart by
    `wall status` typed in a shell that has no proxy password; the password is in no output."""
    httpserver.expect_request("/news").respond_with_data(RSS, content_type="application/rss+xml")
    with forward_proxy(login=(USER, PASSWORD), hosts={"feeds.example": "127.0.0.1"}) as egress:
        config = tmp_path / "wall.toml"
        head = (
            f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
            f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "http://feeds.example:{httpserver.port}/news"\n'
            f'[network]\nproxy = "{egress.url}"\nproxy_username = "{USER}"\n'
        )
        config.write_text(head, encoding="utf-8")
        shell = wall_env(tmp_path)
        running = start_wall(config, {**shell, "WALL_NETWORK__PROXY_PASSWORD": PASSWORD})
        try:
            assert wait_for(lambda: stored_count(config) > 0), "no post arrived through the proxy"
            config.write_text(head + 'no_proxy = ["corp.example"]\n', encoding="utf-8")
            assert wait_for(lambda: "restart needed: network.no_proxy" in status(config, shell).stdout)
            running.terminate()
            stdout, stderr = running.communicate(timeout=90)
        finally:
            running.kill()
        assert egress.requests and all(
            r.proxy_authorization == basic(USER, PASSWORD) for r in egress.requests
        )
    assert "Traceback" not in stderr
    login = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert PASSWORD not in stdout + stderr and login not in stdout + stderr


def stored_count(config: Path) -> int:
    """Posts of the source `news` in the wall's store."""
    store = open_store(load_config(config, env={}, need_secrets=False))
    try:
        return store.post_count("news")
    finally:
        store.close()
