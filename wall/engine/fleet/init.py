"""`wall fleet init`: a private CA, the servers' certificate, the nats-server configuration (TLS,
JetStream, one user per kiosk and the collector) and one credential file per NATS user.

The certificates are made by the `openssl` command (the recipe is in docs/fleet.md). Each user's
credential is an NKey seed (the `nkeys` package, which nats-py signs with): the servers' `auth.conf`
holds only its public key, so nothing on a server lets anyone log in. Running it again keeps the
CA, the certificate and every existing credential, and adds the new screens; a credential file of
a fleet made before NKeys holds a password: it is kept (its kiosk goes on working) and `auth.conf`
holds its bcrypt hash instead of the password.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wall.engine.fleet.layout import (
    COLLECTOR_USER,
    NAME,
    NAME_RULE,
    collector_permissions,
    kiosk_permissions,
    kiosk_user,
)
from wall.engine.fleet.settings import nkey_public_key

CREDENTIAL_FILE = "fleet.credential"  # the systemd credential name the kiosk reads (`[fleet] credential`)
CERT_DAYS = 825
BCRYPT_ROUNDS = 11  # nats-server's own default: ~0.1 s a login, once per connection
_NEW_EC_KEY = ("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
_SIGN = ("x509", "-req", "-CAcreateserial")


class FleetInitError(Exception):
    """`wall fleet init` cannot go on; the message names the argument or file and the fix."""


@dataclass(frozen=True, slots=True)
class Screen:
    """One kiosk of the fleet: `site/screen` on the command line."""

    site: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Screen:
        """`hq/hall-1` -> Screen('hq', 'hall-1'); anything else raises FleetInitError."""
        site, _, name = text.strip().partition("/")
        if not (NAME.match(site) and NAME.match(name)):
            raise FleetInitError(
                f"--screen {text!r}: write SITE/SCREEN, each {NAME_RULE}, e.g. --screen lyon/hall-1"
            )
        return cls(site, name)

    @property
    def user(self) -> str:
        """Its NATS user."""
        return kiosk_user(self.site, self.name)


@dataclass(slots=True)
class FleetFiles:
    """What `init_fleet` wrote (paths inside its folder)."""

    folder: Path
    ca: Path
    cert: Path
    key: Path
    auth: Path
    server: Path
    credentials: dict[str, Path] = field(default_factory=dict)  # NATS user -> credential file


def init_fleet(
    folder: Path, screens: Sequence[Screen], *, names: Sequence[str] = (), listen: str = "127.0.0.1:4222"
) -> FleetFiles:
    """Write (or complete) the fleet's folder: CA, server certificate for 127.0.0.1, localhost and
    `names`, `auth.conf` with the users' public keys (or password hashes) and permissions, a
    one-node `server.conf`, and a credential file per user (mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    files = FleetFiles(
        folder,
        ca=folder / "ca.pem",
        cert=folder / "server.pem",
        key=folder / "server.key",
        auth=folder / "auth.conf",
        server=folder / "server.conf",
    )
    _certificates(files, names)
    users: list[dict[str, Any]] = []
    for user, permissions in [
        (COLLECTOR_USER, collector_permissions()),
        *((s.user, kiosk_permissions(s.site, s.name)) for s in screens),
    ]:
        path = folder / "credentials" / user / CREDENTIAL_FILE
        files.credentials[user] = path
        users.append({**_server_side(user, path), "permissions": permissions})
    # JSON is valid nats-server syntax, and quotes every `$JS...` subject (unquoted, `$` is a variable).
    _write_private(files.auth, "authorization: " + json.dumps({"users": users}, indent=1) + "\n")
    _write_private(
        files.server, server_config(files, name="wall-1", listen=listen, store_dir=folder / "jetstream")
    )
    return files


def server_config(
    files: FleetFiles,
    *,
    name: str,
    listen: str,
    store_dir: Path,
    cluster_listen: str = "",
    routes: Sequence[str] = (),
) -> str:
    """A nats-server config using the fleet's TLS files and users; with `cluster_listen`, one node
    of a cluster whose routes are TLS too (the same certificate serves and authenticates routes)."""
    # Absolute paths: nats-server reads them from its working folder (/ under systemd), not the
    # config's, so `wall fleet init --dir fleet` would make a config that starts only in its parent.
    cert, key, ca = (path.absolute() for path in (files.cert, files.key, files.ca))
    tls = f'tls {{ cert_file: "{cert}", key_file: "{key}", ca_file: "{ca}", timeout: 5 }}'
    lines = [
        f'server_name: "{name}"',
        f'listen: "{listen}"',
        tls,
        f'jetstream {{ store_dir: "{store_dir.absolute()}" }}',
        f'include "{files.auth.name}"',
    ]
    if cluster_listen:
        route_list = ", ".join(f'"nats-route://{route}"' for route in routes)
        lines.append(f'cluster {{ name: "wall", listen: "{cluster_listen}", {tls}, routes: [{route_list}] }}')
    return "\n".join(lines) + "\n"


def _server_side(user: str, path: Path) -> dict[str, str]:
    """What `auth.conf` holds for `user`: the public key of its seed (kept when its credential file
    exists, else a new one), or the bcrypt hash of the password of a fleet made before NKeys."""
    kept = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    if not kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = new_user_seed()
        _write_private(path, kept + "\n")
    public = nkey_public_key(kept)
    if public:
        return {"nkey": public}
    import bcrypt  # only a fleet made before NKeys needs it

    hashed = bcrypt.hashpw(kept.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
    return {"user": user, "password": hashed}


def new_user_seed() -> str:
    """A new NKey user seed ("SU..."), from the system's random source."""
    import nkeys

    seed: bytes = nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode()


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


def _certificates(files: FleetFiles, names: Sequence[str]) -> None:
    folder = files.folder
    ca_key = folder / "ca.key"
    if not files.ca.is_file():
        _openssl(
            *_NEW_EC_KEY,
            "-x509",
            "-keyout",
            str(ca_key),
            "-out",
            str(files.ca),
            "-days",
            "3650",
            "-subj",
            "/CN=lobby-wall fleet CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        )
        os.chmod(ca_key, 0o600)
    if files.cert.is_file() and files.key.is_file():
        return
    alt = ["IP:127.0.0.1", "DNS:localhost"]
    for name in names:
        try:
            alt.append(f"IP:{ipaddress.ip_address(name)}")
        except ValueError:
            alt.append(f"DNS:{name}")
    extensions = folder / "server.ext"
    extensions.write_text(
        f"subjectAltName={','.join(dict.fromkeys(alt))}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        # clientAuth too: cluster nodes present the same certificate to each other on their routes.
        "extendedKeyUsage=serverAuth,clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        encoding="utf-8",
    )
    request = folder / "server.csr"
    _openssl(
        *_NEW_EC_KEY, "-keyout", str(files.key), "-out", str(request), "-subj", "/CN=lobby-wall fleet server"
    )
    os.chmod(files.key, 0o600)
    _openssl(
        *_SIGN,
        "-in",
        str(request),
        "-CA",
        str(files.ca),
        "-CAkey",
        str(ca_key),
        "-out",
        str(files.cert),
        "-days",
        str(CERT_DAYS),
        "-extfile",
        str(extensions),
    )
    request.unlink()


def _openssl(*args: str) -> None:
    try:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError:
        raise FleetInitError("the openssl command is missing: install the Debian package openssl") from None
    if done.returncode != 0:
        raise FleetInitError(f"openssl {args[0]} failed: {done.stderr.strip()[-400:]}")
