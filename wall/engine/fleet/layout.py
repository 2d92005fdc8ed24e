"""Where the fleet's data lives in NATS, and who may touch it: one home for the names and the
permissions, used by `wall fleet init` (the server's config), the collector and the kiosks.

Each site has its own KV bucket and object store, so a kiosk's read permission is a stream name:
NATS 2.9 cannot restrict which keys of a shared bucket a consumer filters on (docs/fleet.md).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from wall.core.model import POST_KINDS, PostKind

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")  # a site or screen: a subject token and a bucket suffix
NAME_RULE = "lower-case letters, digits and '-', at most 31 characters, e.g. 'lyon' or 'hall-1'"
COLLECTOR_USER = "collector"
STATUS_ROOT = "wall.status"
ASK_ROOT = "wall.ask"  # the collector asks one kiosk for something (a screenshot now)
FORMAT_VERSION = 1  # in every published value: a kiosk refuses a layout it does not know


def state_bucket(site: str) -> str:
    """The KV bucket holding what the screens of `site` show (stream `KV_<bucket>`)."""
    return f"wall-{site}"


def picture_bucket(site: str) -> str:
    """The object store holding the pictures of `site`'s posts (stream `OBJ_<bucket>`)."""
    return f"pictures-{site}"


def posts_key(kind: PostKind) -> str:
    """The key of the shown posts of one kind in a site's bucket."""
    return f"posts.{kind}"


COUNTS_KEY = "counts"
STATUSES_KEY = "statuses"
ANNOUNCEMENT_KEY = "announcement"
PANIC_KEY = "panic"
PLAYLIST_KEY = "playlist"  # the panels the site's screens rotate through, decided on the collector
STATE_KEYS = (
    *(posts_key(k) for k in POST_KINDS),
    COUNTS_KEY,
    STATUSES_KEY,
    ANNOUNCEMENT_KEY,
    PANIC_KEY,
    PLAYLIST_KEY,
)
SCREEN_KEYS = (ANNOUNCEMENT_KEY, PANIC_KEY, PLAYLIST_KEY)  # what one screen may have of its own
SCREEN_KEY_ROOT = "screen"


def screen_key(screen: str, key: str) -> str:
    """One screen's own value of `key` (one of SCREEN_KEYS) in its site's bucket: every kiosk of the
    site receives it (the bucket is the unit of permission) and applies only its own screen's."""
    return f"{SCREEN_KEY_ROOT}.{screen}.{key}"


def split_screen_key(key: str) -> tuple[str, str] | None:
    """(screen, key) of a screen's own key, else None."""
    root, _, rest = key.partition(".")
    screen, _, base = rest.partition(".")
    return (screen, base) if root == SCREEN_KEY_ROOT and screen and base in SCREEN_KEYS else None


def picture_name(url: str) -> str:
    """The object name of a picture: the URL's SHA-256 (a URL is not a valid object name)."""
    return hashlib.sha256(url.encode()).hexdigest()


def kiosk_user(site: str, screen: str) -> str:
    """The NATS user of one kiosk."""
    return f"kiosk-{site}-{screen}"


def inbox_prefix(user: str) -> str:
    """Each user's replies and deliveries come to its own inbox subjects, so no one reads another's."""
    return f"_INBOX.{user}"


def status_subject(site: str, screen: str) -> str:
    """The root of the subjects one kiosk publishes its own status on (`.heartbeat`, `.screenshot`)."""
    return f"{STATUS_ROOT}.{site}.{screen}"


def ask_subject(site: str, screen: str) -> str:
    """Where the collector asks one kiosk for a screenshot now; only that kiosk may listen."""
    return f"{ASK_ROOT}.{site}.{screen}"


def screenshot_bucket(site: str) -> str:
    """The object store of the latest screenshot of each of `site`'s screens (object = screen).
    Written by the collector only: NATS 2.9 cannot confine a kiosk to one object (docs/fleet.md)."""
    return f"screenshots-{site}"


PROOF_STREAM = "wall-proof"  # every kiosk's proof of play, kept `[fleet] proof_days`
PROOF_SUBJECTS = f"{STATUS_ROOT}.*.*.proof.>"


def proof_subject(site: str, screen: str, post_key: str) -> str:
    """Where a kiosk publishes a proof-of-play record: under its own status subjects, ending with
    the post key's digest so the collector's question "was this post shown" is a subject filter."""
    return f"{status_subject(site, screen)}.proof.{post_digest(post_key)}"


def post_digest(post_key: str) -> str:
    """A post key as a subject token (keys hold ':' and '.', which a subject cannot)."""
    return hashlib.sha256(post_key.encode()).hexdigest()[:32]


def kiosk_permissions(site: str, screen: str) -> dict[str, Any]:
    """A kiosk reads its site's bucket and pictures (consumers, stream info, message gets) and
    publishes only its own status subjects; everything else is denied by being absent."""
    publish: list[str] = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    for stream in (f"KV_{state_bucket(site)}", f"OBJ_{picture_bucket(site)}"):
        publish += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.INFO.{stream}.>",
            f"$JS.API.CONSUMER.DELETE.{stream}.>",
            f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.>",
            f"$JS.FC.{stream}.>",  # flow-control answers of the ordered consumers
        ]
    publish.append(f"{status_subject(site, screen)}.>")
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": [f"{inbox_prefix(kiosk_user(site, screen))}.>", ask_subject(site, screen)]},
    }


def collector_permissions() -> dict[str, Any]:
    """The collector: the only user that may write content (KV, objects, stream management)."""
    return {
        "publish": {"allow": ["$JS.API.>", "$KV.>", "$O.>", "$JS.FC.>", "$JS.ACK.>", f"{ASK_ROOT}.>"]},
        "subscribe": {"allow": [f"{inbox_prefix(COLLECTOR_USER)}.>", f"{STATUS_ROOT}.>"]},
    }
