"""Where the moderation page may listen and under which names (issue 12; stdlib only, Qt-free).

A page on another address than loopback is reachable from the company network: its token and session
cookie then cross that network, so it is served over HTTPS only (`[web] cert` and `key`). Whatever the
address, a browser must reach it under a name the config lists (`server_names`): a page on 127.0.0.1
answers a hostile web site whose DNS name points at 127.0.0.1 (DNS rebinding) unless the Host header
is checked.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::")


def is_loopback(host: str) -> bool:
    """True when `host` (an address or `localhost`) only listens on this machine."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a DNS name may resolve to anything: treat it as reachable from the network


def host_name(value: str) -> str:
    """The name part of a Host header or a configured name, lower case: no port, brackets, final dot."""
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8787
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def default_server_names(host: str) -> list[str]:
    """The names a browser may use when `server_names` is empty: the listening address itself, and
    the loopback names for a loopback page (an SSH tunnel arrives as localhost or 127.0.0.1)."""
    names = [host_name(host)]
    if is_loopback(host):
        names += [n for n in LOOPBACK_NAMES if n not in names]
    return [n for n in names if n not in WILDCARD_HOSTS]


def check_pem_file(value: str, what: str) -> str:
    """`value` if it names a readable file; else ValueError naming the file and the fix."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ValueError(f"{value!r} is not an absolute path: give the full path of the PEM {what} file")
    try:
        with path.open("rb") as file:
            file.read(1)
    except FileNotFoundError:
        raise ValueError(f"file {str(path)!r} not found: put the PEM {what} there or fix the path") from None
    except OSError as exc:
        raise ValueError(
            f"cannot read {str(path)!r} ({exc.strerror or exc}): make it a file readable by the user "
            "that runs the wall"
        ) from None
    return value


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A TLS server context for the page from PEM files (TLS 1.2 at least); ssl.SSLError when the
    files are not a certificate and its private key, or the key needs a passphrase."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # A passphrase would be asked on the terminal at every start of a kiosk: refuse it instead.
    context.load_cert_chain(Path(cert).expanduser(), Path(key).expanduser(), password=_no_passphrase)
    return context


def _no_passphrase() -> bytes:
    raise ValueError("the private key is encrypted")
