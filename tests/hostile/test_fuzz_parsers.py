"""Hostile payloads through every adapter's pure parser (issue 12).

Each documented payload in tests/fixtures/<network>/ is mutated by Hypothesis: values of the wrong
type, nulls, huge integers, NaN, deep nesting (a part of the payload embedded in itself, deeper than
Python's recursion limit), keys taken away, lists repeated, odd strings, bad dates, odd URLs. RSS and
Atom feeds are mutated as XML, bodies as bytes. A parser may refuse a payload only with a
SourceError (the poller then retries), and whatever it returns must be what the wall can keep: after
the poller's `admit`, a real SQLite store accepts it and gives it back.

The runs are derandomized and use no example database, so `make test` is deterministic; each
parser gets a bounded number of examples.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources import (
    bluesky,
    discourse,
    facebook,
    graph,
    humhub,
    instagram,
    linkedin,
    mastodon,
    matrix,
    mattermost,
    rss,
    slack,
    teams,
    vivaengage,
    x,
    youtube,
)
from sources.base import Fetched, SourceError
from wall.core.model import Author, Batch, Count, Post
from wall.engine.poller import admit
from wall.engine.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EXAMPLES = 80  # per parser: about 40 parsers stay well under a minute together
DEEP = 1200  # deeper than Python's default recursion limit (1000)

Json = Any
Parser = Callable[[Any], Batch]

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",  # a lone surrogate: valid in a JSON string, not in UTF-8
    "\u202egnp.exe",
    "é" * 3,
    "x" * 5000,
    "9999-12-31T23:59:59-23:59",  # a valid date that overflows once taken to UTC
    "0001-01-01T00:00:00+14:00",
    "2099-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "yesterday",
    "1e400",
    "-1",
    "99999999999999999999999",
    "javascript:alert(1)",
    "http://[::1",
    "http://[zz]/a.png",
    "http://h:99999/a.png",
    "https://",
    "//evil.example/a.png",
    "mxc://",
    "mxc://a/b/c/../../x",
    "at://",
    "@",
    "#",
    "#" * 40,
    "<script>alert(1)</script>",
    "&#0;&#xFFFFFFFF;&#55296;",
    "<@U1|x> <#C1> <!here> <http://a|b>",
    "{size}",
    "%s%n",
]
ODD_NUMBERS = [
    0,
    -1,
    1,
    2**31,
    2**63,
    2**64 + 1,
    10**400,
    -(10**400),
    1.5,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
]

scalars = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.sampled_from(ODD_NUMBERS),
    st.sampled_from([None, True, False]),
    st.text(max_size=20),
    st.integers(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def load(network: str, name: str) -> Json:
    return json.loads((FIXTURES / network / name).read_text(encoding="utf-8"))


def raw(network: str, name: str) -> bytes:
    return (FIXTURES / network / name).read_bytes()


# -- mutations of a decoded JSON payload ---------------------------------------------------------------


def paths(value: Json, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node of a JSON value down to 30 levels, as the keys leading to it."""
    yield prefix
    if len(prefix) > 30:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def get(doc: Json, path: tuple[Any, ...]) -> Json:
    for key in path:
        doc = doc[key]
    return doc


def put(doc: Json, path: tuple[Any, ...], value: Json) -> Json:
    """`doc` with `value` at `path`, copying only the containers on the way (the rest is shared)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copied = dict(doc) if isinstance(doc, dict) else list(doc)
    copied[head] = put(doc[head], rest, value)
    return copied


def drop(doc: Json, path: tuple[Any, ...]) -> Json:
    parent = get(doc, path[:-1])
    copied = dict(parent) if isinstance(parent, dict) else list(parent)
    del copied[path[-1]]
    return put(doc, path[:-1], copied)


def nested(doc: Json, ancestor: tuple[Any, ...], path: tuple[Any, ...], depth: int) -> Json:
    """The node at `ancestor` holding, where `path` was, a copy of itself, `depth` times over."""
    outer = get(doc, ancestor)
    relative = path[len(ancestor) :]
    inner = get(doc, path)
    for _ in range(depth):
        inner = put(outer, relative, inner)
    return put(doc, ancestor, inner)


@st.composite
def mutated(draw: st.DrawFn, original: Json) -> Json:
    """`original` after one to four hostile changes."""
    doc = original
    for _ in range(draw(st.integers(1, 4))):
        where = list(paths(doc))
        path = draw(st.sampled_from(where))
        node = get(doc, path)
        action = draw(
            st.sampled_from(["replace", "storm", "drop", "wrap", "swap", "repeat", "nest", "nest_deep"])
        )
        if action == "storm":  # many values of the wrong type at once, anywhere in the payload
            chosen = draw(st.lists(st.integers(0, len(where) - 1), min_size=1, max_size=30))
            for target in sorted({where[i] for i in chosen}, key=len, reverse=True):  # deepest first
                if target:
                    doc = put(doc, target, draw(scalars))
        elif action == "replace":
            doc = put(doc, path, draw(json_values))
        elif action == "drop" and path:
            doc = drop(doc, path)
        elif action == "wrap":
            doc = put(doc, path, draw(st.sampled_from([[node], {"value": node}, [node, node]])))
        elif action == "swap":
            doc = put(doc, path, swapped(node))
        elif action == "repeat" and isinstance(node, list) and node:
            doc = put(doc, path, node * draw(st.sampled_from([2, 50, 300])))
        elif action in ("nest", "nest_deep") and len(path) >= 1:
            ancestor = path[: draw(st.integers(0, len(path) - 1))]
            doc = nested(doc, ancestor, path, DEEP if action == "nest_deep" else 5)
    return doc


def swapped(node: Json) -> Json:
    """The same value with another JSON type: a string's length, a number's text, a list's JSON."""
    if isinstance(node, str):
        return len(node)
    if node is None:
        return "null"
    if isinstance(node, bool | int | float):
        return str(node)
    return dumps(node).decode("utf-8", "replace")


def dumps(doc: Json) -> bytes:
    try:
        return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (RecursionError, ValueError):
        return b"[" * 100_000  # too deep to write: as deep as a body can be


@st.composite
def body_of(draw: st.DrawFn, original: Json) -> bytes:
    """A mutated payload as the bytes a server sends, sometimes cut short or not JSON at all."""
    data = dumps(draw(mutated(original)))
    cut = draw(st.sampled_from(["whole", "whole", "truncated", "garbage", "deep"]))
    if cut == "truncated":
        return data[: draw(st.integers(0, len(data)))]
    if cut == "garbage":
        garbage: bytes = draw(st.binary(max_size=64))
        return garbage
    if cut == "deep":
        return b'{"a":' * 50_000
    return data


# -- mutations of an XML feed ---------------------------------------------------------------------------


@st.composite
def feed_of(draw: st.DrawFn, original: bytes) -> bytes:
    """A mutated RSS or Atom document."""
    root = ElementTree.fromstring(original)
    elements = list(root.iter())
    for _ in range(draw(st.integers(1, 4))):
        element = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["text", "attribute", "drop", "repeat", "nest"]))
        if action in ("repeat", "nest") and len(elements) > 2000:
            action = "text"  # big enough: a feed of millions of elements only measures the machine
        if action == "text":
            element.text = draw(st.sampled_from(ODD_STRINGS).map(lambda s: s.replace("\ud800", "")))
        elif action == "attribute" and element.attrib:
            name = draw(st.sampled_from(sorted(element.attrib)))
            element.set(name, draw(st.sampled_from(ODD_STRINGS).map(lambda s: s.replace("\ud800", ""))))
        elif action in ("drop", "repeat"):
            for parent in root.iter():
                if element in list(parent):
                    if action == "drop":
                        parent.remove(element)
                    else:
                        for _ in range(draw(st.sampled_from([2, 30]))):
                            parent.append(copy.deepcopy(element))
                    break
        elif action == "nest" and element is not root:
            inner = copy.deepcopy(element)
            for _ in range(draw(st.sampled_from([3, 300]))):
                outer = ElementTree.Element(element.tag)
                outer.append(inner)
                inner = outer
            root.append(inner)
        elements = list(root.iter())
    data: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    cut = draw(st.sampled_from(["whole", "whole", "truncated", "doctype"]))
    if cut == "truncated":
        end: int = draw(st.integers(0, len(data)))
        return data[:end]
    if cut == "doctype":  # entities that expand: the parser must not blow up
        head = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        return head + data.split(b"?>", 1)[-1].replace(b"<title>", b"<title>&b;", 1)
    return data


# -- what the wall must be able to keep ---------------------------------------------------------------


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """One real SQLite store (in memory: the fuzz writes thousands of batches) for every example."""
    kept = Store(":memory:")
    yield kept
    kept.close()


def kept_by_the_wall(store: Store, batch: Batch) -> None:
    """The batch, admitted as the poller does, is stored and read back whole."""
    admitted = admit(batch, NOW)
    store.apply("fuzz", admitted, now=NOW)
    last = {post.key: post for post in admitted.posts}  # a key given twice: the later one is kept
    for post in last.values():
        assert post.created_at <= NOW.replace(minute=5)
        again = store.post(post.key)
        assert again is not None and again.text == post.text and again.media == post.media
    store.forget_sources([])


def run(parser: Parser, payload: Any, store: Store) -> None:
    """`parser(payload)` refuses with a SourceError or gives what the wall can keep."""
    try:
        batch = parser(payload)
    except SourceError:
        return
    kept_by_the_wall(store, batch)


def posts(*found: Post | None) -> Batch:
    return Batch(posts=tuple(p for p in found if p is not None))


def counts(*found: Count | None) -> Batch:
    return Batch(counts=tuple(c for c in found if c is not None))


def fetched(status: int, body: bytes) -> Fetched:
    return Fetched(status, httpx.Headers({"retry-after": "1"}), body, "https://api.example/x?key=s3cr3t")


def decoded(body: bytes) -> dict[str, Any]:
    """What the adapters hand to a classifier: the body's JSON object, {} when it is none."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def errors_only(classify: Callable[[bytes], object]) -> Parser:
    """An error-body parser: any answer is fine as long as reading the body does not crash."""

    def parse(body: bytes) -> Batch:
        classify(body)
        return Batch()

    return parse


# -- every adapter's parsers, with the payloads they read ------------------------------------------------


def rss_feed(content: bytes) -> Batch:
    found = rss.parse_feed(content, source="fuzz", kind="mention", now=NOW, url="https://feeds.example/f")
    return Batch(posts=tuple(found))


def mastodon_page(payload: Any) -> Batch:
    return Batch(
        posts=tuple(
            mastodon.parse_statuses(payload, source="fuzz", kind="mention", instance_host="m.example")
        )
    )


def mastodon_account(payload: Any) -> Batch:
    return counts(mastodon.parse_follower_count(payload, source="fuzz", account="a", observed_at=NOW))


def mastodon_event(payload: Any) -> Batch:
    data = dumps(payload).decode("utf-8", "surrogatepass")
    batch = Batch()
    for event in ("update", "status.update", "delete"):
        found = mastodon.parse_stream_event(
            mastodon.SseEvent(event, data), source="fuzz", kind="mention", instance_host="m.example"
        )
        if found is not None:
            batch = Batch(posts=(*batch.posts, *found.posts), deleted=(*batch.deleted, *found.deleted))
    parser = mastodon.SseParser(max_chars=10_000)
    for item in parser.feed(b"event: update\ndata: " + data.encode("utf-8", "surrogatepass") + b"\n\n"):
        if isinstance(item, mastodon.SseEvent):
            found = mastodon.parse_stream_event(
                item, source="fuzz", kind="mention", instance_host="m.example"
            )
            batch = Batch(posts=(*batch.posts, *(found.posts if found else ())))
    return batch


def bluesky_search(payload: Any) -> Batch:
    items = payload.get("posts") if isinstance(payload, dict) else None
    return posts(
        *(bluesky.parse_post(item, source="fuzz") for item in (items if isinstance(items, list) else []))
    )


def bluesky_profile(payload: Any) -> Batch:
    return counts(bluesky.parse_profile_count(payload, source="fuzz", account="a", observed_at=NOW))


def youtube_channels(payload: Any) -> Batch:
    items = youtube.parse_channels(payload)
    return counts(
        *(youtube.parse_channel_count(item, source="fuzz", account="c", observed_at=NOW) for item in items)
    )


def facebook_page(payload: Any) -> Batch:
    return Batch(
        counts=tuple(facebook.parse_page_counts(payload, source="fuzz", account="p", observed_at=NOW))
    )


def instagram_media(payload: Any) -> Batch:
    items, _ = instagram.parse_media_page(payload)
    return posts(*(instagram.parse_media(item, source="fuzz", tag="bluebottle") for item in items))


def instagram_account(payload: Any) -> Batch:
    return counts(
        instagram.parse_account_count(payload, source="fuzz", account="a", observed_at=NOW),
        instagram.parse_discovery_count(payload, source="fuzz", account="a", observed_at=NOW),
    )


def instagram_hashtag(payload: Any) -> Batch:
    instagram.parse_hashtag_id(payload)
    return Batch()


def linkedin_counts(payload: Any) -> Batch:
    size = linkedin.parse_network_size(payload)
    name = linkedin.parse_organization_name(payload)
    return counts(Count("fuzz", "linkedin", "org", size, NOW, name))


def x_search(payload: Any) -> Batch:
    page = x.parse_search(payload, source="fuzz")
    return Batch(posts=page.posts if page else ())


def x_users(payload: Any) -> Batch:
    found = x.parse_users(payload, source="fuzz", accounts=["norauto", "other"], observed_at=NOW)
    return Batch(counts=tuple(found[0]) if found else ())


def teams_delta(payload: Any) -> Batch:
    found, deleted = teams.parse_delta_page(
        payload, source="fuzz", kind="internal", base_url="https://graph.example/v1.0", team="t", channel="c"
    )
    return Batch(posts=tuple(found), deleted=tuple(deleted))


def teams_token(payload: Any) -> Batch:
    teams.parse_token(payload)
    return Batch()


def viva_page(payload: Any) -> Batch:
    found = vivaengage.parse_page(payload, source="fuzz", kind="internal")
    if isinstance(payload, dict):
        vivaengage.message_ids(payload)
        vivaengage.older_available(payload)
        vivaengage.oldest_time(payload)
        vivaengage.find_deleted({"1": NOW}, [payload], NOW)
    return Batch(posts=tuple(found))


def discourse_posts(payload: Any) -> Batch:
    items = discourse.latest_posts(payload, shown="/posts.json")
    for item in items:
        if isinstance(item, dict):
            discourse.post_signature(item)
    return posts(
        *(
            discourse.parse_post(item, source="fuzz", kind="internal", base_url="https://forum.example")
            for item in items
        )
    )


def discourse_categories(payload: Any) -> Batch:
    discourse.category_ids(payload, "staff")
    return Batch()


def humhub_posts(payload: Any) -> Batch:
    items = payload.get("results") if isinstance(payload, dict) else None
    zone = ZoneInfo("Europe/Paris")
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            humhub.post_signature(item)
        found.append(
            humhub.parse_post(item, source="fuzz", kind="internal", base_url="https://h.example", zone=zone)
        )
    return posts(*found)


ROOM = "!726s6s6q:example.com"


def matrix_sync(payload: Any) -> Batch:
    if not isinstance(payload, dict):
        return Batch()
    found: list[Post | None] = []
    for update in matrix.parse_sync_rooms(payload, {ROOM}).values():
        update.senders()
        for event in update.timeline:
            matrix.redaction_target(event)
            post = matrix.parse_message(
                event,
                room_id=ROOM,
                members=update.members,
                source="fuzz",
                kind="internal",
                base_url="https://matrix.example",
            )
            found.append(post)
            if post is not None:
                found.append(matrix.apply_edit(post, event, base_url="https://matrix.example"))
    return posts(*found)


def matrix_members(payload: Any) -> Batch:
    members = matrix.parse_joined_members(payload) or {}
    return counts(Count("fuzz", "matrix", "room", len(members), NOW))


def mattermost_posts(payload: Any) -> Batch:
    changes = mattermost.parse_post_list(payload, since=None, floor=None)
    author = Author("Léa", "@lea")
    found = [
        mattermost.parse_post(
            raw, author=author, source="fuzz", kind="internal", base_url="https://mm.example"
        )
        for raw in changes.posts
    ]
    return Batch(posts=tuple(p for p in found if p is not None), deleted=changes.deleted)


def mattermost_users(payload: Any) -> Batch:
    for user in payload if isinstance(payload, list) else [payload]:
        mattermost.parse_user(user, base_url="https://mm.example")
    return Batch()


def slack_history(payload: Any) -> Batch:
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list):
        return Batch()
    changes = slack.select_changes(
        messages, state=None, oldest=None, complete=True, window_start="1700000000.000000"
    )
    again = slack.select_changes(
        messages, state=changes.state, oldest="1700000000.000000", complete=True, window_start="1700000000.0"
    )
    author = Author("Léa", "@lea")
    found = [
        slack.parse_message(m, channel="C1", author=author, source="fuzz", kind="internal")
        for m in (*changes.messages, *again.messages)
    ]
    return Batch(posts=tuple(p for p in found if p is not None))


def slack_user(payload: Any) -> Batch:
    slack.parse_user(payload.get("user") if isinstance(payload, dict) else payload)
    return Batch()


JSON_PARSERS: list[tuple[str, Parser, Json]] = [
    ("rss-jsonfeed", lambda doc: rss_feed(dumps(doc)), load("rss", "jsonfeed.json")),
    ("rss-jsonfeed-pictures", lambda doc: rss_feed(dumps(doc)), load("rss", "jsonfeed_pictures.json")),
    ("mastodon-timeline", mastodon_page, load("mastodon", "tag_timeline.json")),
    ("mastodon-account", mastodon_account, load("mastodon", "account_lookup.json")),
    ("mastodon-event", mastodon_event, load("mastodon", "tag_timeline.json")[0]),
    ("bluesky-search", bluesky_search, load("bluesky", "search_query.json")),
    ("bluesky-tag-search", bluesky_search, load("bluesky", "search_tag.json")),
    ("bluesky-profile", bluesky_profile, load("bluesky", "profile.json")),
    ("youtube-channels", youtube_channels, load("youtube", "channels_by_id.json")),
    ("facebook-page", facebook_page, load("facebook", "page.json")),
    ("instagram-media", instagram_media, load("instagram", "recent_media_page1.json")),
    ("instagram-account", instagram_account, load("instagram", "account.json")),
    ("instagram-discovery", instagram_account, load("instagram", "discovery_bluebottle.json")),
    ("instagram-hashtag", instagram_hashtag, load("instagram", "hashtag_search.json")),
    ("linkedin-size", linkedin_counts, load("linkedin", "network_size.json")),
    ("linkedin-organization", linkedin_counts, load("linkedin", "organization.json")),
    ("x-search", x_search, load("x", "search_recent.json")),
    ("x-edits", x_search, load("x", "search_edit.json")),
    ("x-users", x_users, load("x", "users_by.json")),
    ("teams-delta", teams_delta, load("teams", "delta_changes.json")),
    ("teams-first", teams_delta, load("teams", "delta_first.json")),
    ("teams-token", teams_token, load("teams", "token.json")),
    ("vivaengage-page", viva_page, load("vivaengage", "group_first.json")),
    ("discourse-posts", discourse_posts, load("discourse", "latest_posts.json")),
    ("discourse-categories", discourse_categories, load("discourse", "categories.json")),
    ("humhub-posts", humhub_posts, load("humhub", "posts_page1.json")),
    ("matrix-sync", matrix_sync, load("matrix", "sync_initial.json")),
    ("matrix-members", matrix_members, load("matrix", "joined_members.json")),
    ("mattermost-posts", mattermost_posts, load("mattermost", "posts_first_page.json")),
    ("mattermost-users", mattermost_users, load("mattermost", "users_ids.json")),
    ("slack-history", slack_history, load("slack", "history_first.json")),
    ("slack-user", slack_user, load("slack", "users_info_lea.json")),
]

ERROR_BODIES: list[tuple[str, Parser, Json]] = [
    ("bluesky-error", errors_only(lambda b: bluesky.classify_error(400, b, shown="s")), {"error": "X"}),
    (
        "youtube-error",
        errors_only(lambda b: youtube.classify_error(403, b, shown="s", now=NOW)),
        load("youtube", "error_quota_exceeded.json"),
    ),
    (
        "graph-error",
        errors_only(lambda b: graph.parse_graph_error(b, secret="s3cr3t")),
        load("facebook", "error_page_throttled.json"),
    ),
    (
        "linkedin-error",
        errors_only(lambda b: linkedin.parse_error(b, secret="s3cr3t")),
        load("linkedin", "error_throttled.json"),
    ),
    (
        "x-error",
        errors_only(
            lambda b: (
                x.names_since_id(b),
                x.classify_error(400, b, shown="s", what="w", check="c", secret="s3cr3t"),
            )
        ),
        load("x", "error_invalid_query.json"),
    ),
    (
        "teams-error",
        errors_only(
            lambda b: (
                teams.graph_error(b),
                teams.needs_resync(400, b),
                teams.classify_graph_error(fetched(400, b), team="t", channel="c", secrets=("s3cr3t",)),
            )
        ),
        {"error": {"code": "BadRequest", "message": "m"}},
    ),
    (
        "vivaengage-error",
        errors_only(lambda b: vivaengage.classify_error(fetched(429, b), group="g")),
        {"message": "x"},
    ),
    (
        "discourse-error",
        errors_only(lambda b: discourse.classify_error(fetched(429, b), what="w", has_key=True)),
        {"error_type": "rate_limit", "extras": {"wait_seconds": 5}},
    ),
    (
        "matrix-error",
        errors_only(
            lambda b: (
                matrix.error_code(b),
                matrix.classify_error(429, httpx.Headers(), b, shown="s", room="r"),
            )
        ),
        {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2000},
    ),
    (
        "mattermost-error",
        errors_only(lambda b: (mattermost.error_id(b), mattermost.classify_error(fetched(403, b), what="w"))),
        load("mattermost", "error_403.json"),
    ),
    (
        "slack-error",
        errors_only(
            lambda b: slack.classify_error(
                decoded(b),
                fetched(200, b),
                method="conversations.history",
                channel="C1",
            )
        ),
        {"ok": False, "error": "ratelimited"},
    ),
]


@pytest.mark.parametrize(("name", "parser", "fixture"), JSON_PARSERS, ids=[p[0] for p in JSON_PARSERS])
def test_a_mutated_payload_is_refused_with_a_source_error_or_kept_whole(
    name: str, parser: Parser, fixture: Json, store: Store
) -> None:
    run(parser, fixture, store)  # the documented payload itself is read

    @FUZZ
    @given(payload=mutated(fixture))
    def check(payload: Json) -> None:
        run(parser, payload, store)

    check()


@pytest.mark.parametrize(("name", "parser", "fixture"), ERROR_BODIES, ids=[p[0] for p in ERROR_BODIES])
def test_a_mutated_error_body_never_crashes_its_reader(
    name: str, parser: Parser, fixture: Json, store: Store
) -> None:
    @FUZZ
    @given(body=body_of(fixture))
    def check(body: bytes) -> None:
        run(parser, body, store)

    check()


@pytest.mark.parametrize(
    "name",
    ["rss2.xml", "atom.xml", "google_alerts.xml", "wordpress.xml", "media_rss.xml", "youtube_channel.xml"],
)
def test_a_mutated_feed_is_refused_with_a_source_error_or_kept_whole(name: str, store: Store) -> None:
    original = raw("rss", name)
    run(rss_feed, original, store)

    @FUZZ
    @given(content=feed_of(original))
    def check(content: bytes) -> None:
        run(rss_feed, content, store)

    check()


def test_a_mutated_json_feed_body_is_refused_with_a_source_error_or_kept_whole(store: Store) -> None:
    @FUZZ
    @given(body=body_of(load("rss", "jsonfeed.json")))
    def check(body: bytes) -> None:
        run(rss_feed, body, store)

    check()


def deep(make: Callable[[Json], Json], depth: int = 5000) -> Json:
    """`make` applied to itself `depth` times (a shape its parser might read recursively)."""
    value = make(None)
    for _ in range(depth):
        value = make(value)
    return value


def test_payloads_nested_deeper_than_python_allows_are_read_or_refused(store: Store) -> None:
    categories = deep(lambda inner: {"id": 7, "slug": "staff", "subcategory_list": [inner] if inner else []})
    assert discourse.category_ids({"category_list": {"categories": [categories]}}, "staff") == frozenset({7})
    carousel = deep(
        lambda inner: {
            "id": "17900000000000001",
            "timestamp": "2026-11-30T10:00:00+0000",
            "media_type": "CAROUSEL_ALBUM",
            "children": {"data": [inner or {}]},
        }
    )
    post = instagram.parse_media(carousel, source="fuzz", tag="bluebottle")
    assert post is not None and post.media == ()
    embed = deep(lambda inner: {"$type": "app.bsky.embed.recordWithMedia#view", "media": inner or {}})
    bsky = load("bluesky", "search_query.json")["posts"][0]
    assert bluesky.parse_post({**bsky, "embed": embed}, source="fuzz") is not None
    with pytest.raises(SourceError):
        rss_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000)
    with pytest.raises(SourceError):
        Fetched(200, httpx.Headers(), b"[" * 100_000, "https://api.example/x").json()
