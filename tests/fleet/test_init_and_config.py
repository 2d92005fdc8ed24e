"""`wall fleet init` and the `[fleet]` table: the files a fleet needs, secrets kept private, and
errors that name the file, the field and the fix; a config without [fleet] is unchanged."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers.nats import START_TIMEOUT_S, NatsNode
from tests.servers.snac2 import free_port
from wall.engine.config import ConfigProblems, parse_config
from wall.engine.fleet.init import FleetInitError, Screen
from wall.engine.fleet.settings import nkey_public_key

ROOT = Path(__file__).resolve().parents[2]


def wall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_fleet_init_writes_a_ca_a_server_config_and_one_private_credential_per_user(tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    done = wall("fleet", "init", "--dir", str(folder), "--screen", "hq/hall-1", "--screen", "lyon/hall-1")
    assert done.returncode == 0, done.stderr
    users = ["collector", "kiosk-hq-hall-1", "kiosk-lyon-hall-1"]
    passwords = {u: (folder / "credentials" / u / "fleet.credential").read_text().strip() for u in users}
    # One NKey seed per user; the servers' auth.conf holds its public key, never the seed.
    assert (
        all(nkey_public_key(p).startswith("U") for p in passwords.values())
        and len(set(passwords.values())) == 3
    )
    auth = (folder / "auth.conf").read_text()
    assert all(p not in auth and nkey_public_key(p) in auth for p in passwords.values())
    for secret in [*passwords.values(), (folder / "ca.key").read_text()]:
        assert secret not in done.stdout + done.stderr
    for private in [
        "ca.key",
        "server.key",
        "auth.conf",
        *(f"credentials/{u}/fleet.credential" for u in users),
    ]:
        assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600, private
    check = subprocess.run(
        ["openssl", "verify", "-CAfile", str(folder / "ca.pem"), str(folder / "server.pem")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    names = subprocess.run(
        ["openssl", "x509", "-in", str(folder / "server.pem"), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
    ).stdout
    assert "IP Address:127.0.0.1" in names and "DNS:localhost" in names
    assert "kiosk-lyon-hall-1" in (folder / "auth.conf").read_text()

    # Adding a screen later keeps the CA and every password (kiosks already installed go on working).
    ca = (folder / "ca.pem").read_text()
    again = wall("fleet", "init", "--dir", str(folder), "--screen", "hq/hall-1", "--screen", "nice/hall-1")
    assert again.returncode == 0, again.stderr
    assert (folder / "ca.pem").read_text() == ca
    assert (folder / "credentials/kiosk-hq-hall-1/fleet.credential").read_text().strip() == passwords[
        "kiosk-hq-hall-1"
    ]
    assert (folder / "credentials/kiosk-nice-hall-1/fleet.credential").is_file()


def test_the_server_config_of_a_folder_named_relatively_starts_from_any_folder(tmp_path: Path) -> None:
    """The README's `wall fleet init --dir fleet`, then nats-server started elsewhere (systemd's
    working folder is /): it finds its certificate and keeps JetStream's data in the fleet's folder."""
    port = free_port()
    listen = ["--listen", f"127.0.0.1:{port}"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wall.cli",
            "fleet",
            "init",
            "--dir",
            "fleet",
            "--screen",
            "hq/hall-1",
            *listen,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "fleet"
    # NatsNode starts the server in the config's own folder, not where `wall fleet init` ran.
    node = NatsNode("wall-1", port, free_port(), folder / "server.conf", tmp_path / "nats.log")
    node.start()
    try:
        node.wait_ready(time.monotonic() + START_TIMEOUT_S)
    finally:
        node.stop()
    assert (folder / "jetstream" / "jetstream").is_dir()
    assert not (folder / "fleet").exists()


def test_fleet_init_refuses_a_screen_it_cannot_name(tmp_path: Path) -> None:
    done = wall("fleet", "init", "--dir", str(tmp_path / "f"), "--screen", "Lyon Hall")
    assert done.returncode == 2
    assert "--screen 'Lyon Hall': write SITE/SCREEN" in done.stderr
    with pytest.raises(FleetInitError):
        Screen.parse("hq/")


def fleet_table(ca: Path, **more: object) -> dict[str, object]:
    return {"servers": ["tls://127.0.0.1:4222"], "ca_file": str(ca), **more}


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    folder = tmp_path / "f"
    subprocess.run(
        [sys.executable, "-m", "wall.cli", "fleet", "init", "--dir", str(folder)],
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    return folder / "ca.pem"


def problems(data: dict[str, object], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigProblems) as caught:
        parse_config(data, "kiosk.toml", env or {})
    return caught.value.lines


def test_a_kiosk_reads_its_credential_from_systemd_and_never_shows_it(ca: Path, tmp_path: Path) -> None:
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "fleet.credential").write_text("s3cret-fleet-password-xyz\n")
    config = parse_config(
        {"fleet": fleet_table(ca, site="lyon", screen="hall-1")},
        "kiosk.toml",
        {"CREDENTIALS_DIRECTORY": str(credentials)},
    )
    assert config.fleet is not None and config.fleet.nats_user == "kiosk-lyon-hall-1"
    assert config.fleet.credential is not None
    assert config.fleet.credential.get_secret_value() == "s3cret-fleet-password-xyz"
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.fleet)


def test_fleet_errors_name_the_file_the_field_and_the_fix(ca: Path) -> None:
    env = {"WALL_FLEET__CREDENTIAL": "a-long-enough-password"}
    assert problems({"fleet": fleet_table(ca, site="lyon", screen="hall-1")}) == [
        "kiosk.toml: fleet.credential: is missing: set the environment variable WALL_FLEET__CREDENTIAL or "
        "the systemd credential fleet.credential (the file credentials/kiosk-lyon-hall-1/fleet.credential "
        "written by `wall fleet init`)"
    ]
    plain = problems(
        {"fleet": fleet_table(ca, site="lyon", screen="hall-1", servers=["nats://10.0.0.5:4222"])}, env
    )
    assert plain == [
        "kiosk.toml: fleet.servers: 'nats://10.0.0.5:4222' is not a TLS server address: "
        "write tls://host:port, e.g. tls://10.0.0.5:4222 (the fleet never talks in clear text)"
    ]
    (missing_screen,) = problems({"fleet": fleet_table(ca, site="lyon")}, env)
    assert missing_screen.startswith("kiosk.toml: fleet: screen: is missing: a kiosk sets site and screen")
    feed = {"name": "news", "type": "rss", "url": "https://example.org/feed"}
    (polling_kiosk,) = problems(
        {"fleet": fleet_table(ca, site="lyon", screen="hall-1"), "sources": [feed]}, env
    )
    assert "kiosk.toml: sources: a fleet's kiosk polls nothing" in polling_kiosk
    limited = {**feed, "sites": ["paris"]}
    (unknown_site,) = problems({"fleet": fleet_table(ca, sites=["hq", "lyon"]), "sources": [limited]}, env)
    assert unknown_site == (
        "kiosk.toml: sources[0].sites: 'paris' not in fleet.sites: use some of hq, lyon, or add the site to "
        "fleet.sites"
    )
    assert all("a-long-enough-password" not in line for line in [*plain, missing_screen, polling_kiosk])


def test_without_a_fleet_table_the_config_is_standalone_as_before() -> None:
    config = parse_config(
        {"sources": [{"name": "news", "type": "rss", "url": "https://example.org/f"}]}, env={}
    )
    assert config.fleet is None
    assert config.sources[0].sites == []
