"""Who may reach the moderation page, and how (issue 12; stdlib only, Qt-free).

A page on another address than loopback is reachable from the company network: its token and session
cookie then cross that network, so it is served over HTTPS only (`[web] cert` and `key`). Whatever the
address, a browser must reach it under a name the config lists (`server_names`): a page on 127.0.0.1
answers a hostile web site whose DNS name points at 127.0.0.1 (DNS rebinding) unless the Host header
is checked. Guessing the token costs time (`LoginDelay`), but never locks the right token out.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections.abc import Callable
from pathlib import Path

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::")
FIRST_DELAY_S = 1.0  # after one failure; doubles with each further one
MAX_DELAY_S = 30.0  # a guesser gets ~2 tries a minute; a colleague waits half a minute at worst
FORGET_ONE_AFTER_S = 60.0  # three typos cost 4 s, forgotten 3 minutes later
FREE_FAILURES_IN_TOTAL = 20  # beyond that, from all addresses together, every login waits...
FORGET_ONE_IN_TOTAL_AFTER_S = 15.0  # ...until they fall back under it (as fast as 20 in 5 minutes)
MAX_CLIENTS_REMEMBERED = 10_000


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


class LoginDelay:
    """How long a login waits before its token is checked. Each failure from an address doubles that
    address's wait (FIRST_DELAY_S, then 2, 4... up to MAX_DELAY_S); one failure is forgotten per
    FORGET_ONE_AFTER_S without a new one. Past FREE_FAILURES_IN_TOTAL from all addresses together,
    every login waits too. Nothing is ever refused: a person behind the same proxy as a guesser waits,
    then logs in with the right token."""

    def __init__(
        self,
        *,
        first: float = FIRST_DELAY_S,
        cap: float = MAX_DELAY_S,
        forget_one_after: float = FORGET_ONE_AFTER_S,
        free_in_total: int = FREE_FAILURES_IN_TOTAL,
        forget_one_in_total_after: float = FORGET_ONE_IN_TOTAL_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first, self.cap, self.free_in_total = first, cap, free_in_total
        self.forget_one_after, self.forget_one_in_total_after = forget_one_after, forget_one_in_total_after
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # address -> (failures, when the last was)
        self._total = (0, clock())

    @staticmethod
    def _left(failures: tuple[int, float], now: float, forget_one_after: float) -> int:
        count, last = failures
        return max(0, count - int(max(0.0, now - last) // forget_one_after))

    def _wait(self, failures: int) -> float:
        return 0.0 if failures < 1 else min(self.cap, self.first * 2.0 ** (failures - 1))

    def delay(self, client: str) -> float:
        """Seconds a login from `client` waits now before its token is checked."""
        now = self.clock()
        mine = self._left(self._failures.get(client, (0, now)), now, self.forget_one_after)
        total = self._left(self._total, now, self.forget_one_in_total_after)
        return max(self._wait(mine), self._wait(total - self.free_in_total + 1))

    def failed(self, client: str) -> None:
        """Count one failed login from `client`."""
        now = self.clock()
        self._total = (self._left(self._total, now, self.forget_one_in_total_after) + 1, now)
        mine = self._left(self._failures.pop(client, (0, now)), now, self.forget_one_after)
        self._failures[client] = (mine + 1, now)  # re-inserted: the dict stays ordered by last failure
        if len(self._failures) > MAX_CLIENTS_REMEMBERED:  # many addresses must not grow memory without end
            self._failures = {
                c: f for c, f in self._failures.items() if self._left(f, now, self.forget_one_after)
            }
            while len(self._failures) > MAX_CLIENTS_REMEMBERED:
                del self._failures[next(iter(self._failures))]  # the longest quiet goes first
