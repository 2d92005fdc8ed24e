"""Microsoft Teams: the posts of one channel, read with Microsoft Graph's channel-message delta query.

Fetching is `TeamsSource.poll`; parsing is pure (`parse_message`, `parse_delta_page`,
`classify_graph_error`, `classify_token_error`) and tested on payloads shaped as Microsoft documents them.

- Authentication is an app-only token from the client-credentials flow
  (`POST {auth_url}/{tenant}/oauth2/v2.0/token`). It is kept in memory until `TOKEN_MARGIN_SECONDS`
  before it expires and fetched again once when Graph answers 401; it is never written to `state()`.
  The app registration needs the *application* permission ChannelMessage.Read.All with admin consent.
- `GET /teams/{team}/channels/{channel}/messages/delta` returns the channel's *root* messages only,
  never the replies (those need one request per thread: the wall does not show them). Its documented
  options are `$top` (at most 50 a page), `$skip`, `$expand=replies` and
  `$filter=lastModifiedDateTime gt <time>` (the only filter, `gt` only); delta only reaches back
  eight months. The first sync asks for `$top=limit` and a `$filter` of `first_sync_hours`, so a
  channel with years of history costs a few pages, not hundreds.
- A round of change tracking follows `@odata.nextLink` until a page carries `@odata.deltaLink`; the
  delta link (a full URL) is what `state()` keeps. At most `max_pages` pages are read per poll: if
  the round is not over, the next nextLink is kept instead and the next poll carries on from it.
  A stored link whose origin or path does not match the configured base_url/team/channel is ignored,
  and links Graph sends elsewhere are refused, so the token only ever travels to base_url. An expired
  delta link (410, or 400 `syncStateNotFound`/`resyncRequired`) starts a new first sync.
- A poll is all or nothing: if a page fails, the stored link does not move and the next poll asks again.
- A message with `deletedDateTime` (or an `@removed` marker) becomes a deletion; an edited message
  comes back with `lastEditedDateTime`, which becomes `edited_at`. Only `messageType == "message"` is
  shown (system events such as "X added Y to the team" are skipped). A message posted by an app
  (Workflows, a connector) is shown under the app's name: company announcements often come that way,
  and the consent rules (required tag) still apply to them.
- Inline pictures are Graph "hosted contents", readable only with the token: their URLs are rebuilt
  on base_url (`.../messages/{id}/hostedContents/{hid}/$value`) and `image_headers` gives the bearer
  header for base_url's origin only. File attachments live in SharePoint (another token) and are not
  shown; `image/*` attachments with a public `contentUrl` are.
- Teams has no hashtag field: tags are the `#words` of the text. Authors have no public handle or
  avatar URL in the message (the photo needs another permission), so `handle` and `avatar_url` are "".
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    RateLimited,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    bearer_for,
    check_api_root,
    parse_retry_after,
    raise_for_status,
    redact_url,
    required_secret,
    same_origin,
    secret_value,
    text_hashtags,
)
from sources.payload import as_dict, http_url, iso_time, json_object
from wall.core.model import Author, Batch, Media, Post, PostKind, utcnow
from wall.core.text import clean_text, html_to_text

NETWORK = "teams"
DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTH_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PERMISSION = "ChannelMessage.Read.All"
MAX_TOP = 50  # Graph refuses a larger $top on channel-message delta
TOKEN_MARGIN_SECONDS = 300.0  # before expiry, a cached token is replaced
DEFAULT_TOKEN_LIFETIME_SECONDS = 3599.0  # what Entra ID grants when `expires_in` is missing
MAX_TOKEN_LIFETIME_SECONDS = 86400.0  # Entra ID grants at most a day; a larger (or NaN) answer is nonsense
MAX_MEDIA_PER_POST = 4
RESYNC_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
GENERIC_ALT = frozenset({"", "image", "img", "picture", "photo"})
# Entra ID (AADSTS) codes that say which setting is wrong.
AAD_TENANT_CODES = frozenset({90002, 900023, 90013})
AAD_CLIENT_ID_CODES = frozenset({700016, 900144})
AAD_SECRET_CODES = frozenset({7000215, 7000222, 7000216})

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_CHANNEL = re.compile(r"^19:[^/?#\s]{1,200}@thread\.[a-z0-9]{1,20}$")
_IMG = re.compile(r"(?is)<img\b[^>]*>")
_EMOJI = re.compile(r"(?is)<emoji\b[^>]*>(?:\s*</emoji>)?")
_ATTR = re.compile(r"""(?is)\b([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_HOSTED = re.compile(r"/hostedContents/([^/?#]+)/\$value$")
_ERROR_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")


class TeamsSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "teams"`: one channel of one team, read with an app registration."""

    type: Literal["teams"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(60, ge=15, le=86400, description="Seconds between polls")
    base_url: str = Field(DEFAULT_BASE_URL, description="Microsoft Graph root, with its version")
    auth_url: str = Field(DEFAULT_AUTH_URL, description="Microsoft Entra ID (login) root")
    tenant: str = Field(description="Directory (tenant) id, or its domain such as contoso.onmicrosoft.com")
    client_id: str = Field(description="Application (client) id of the app registration")
    client_secret: SecretStr | None = Field(None, description="A client secret of that app registration")
    team: str = Field(description="The team's id (groupId=... in the channel's link)")
    channel: str = Field(description="The channel's id, 19:...@thread.tacv2")
    limit: int = Field(20, ge=1, le=MAX_TOP, description="Messages asked per page ($top)")
    max_pages: int = Field(5, ge=1, le=50, description="Pages read per poll at most")
    first_sync_hours: float = Field(
        72, gt=0, le=24 * 240, description="How far back the first sync reaches (delta stops at 8 months)"
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="client_secret")

    @field_validator("auth_url")
    @classmethod
    def _check_auth_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_AUTH_URL, secret="client_secret")

    @field_validator("tenant")
    @classmethod
    def _check_tenant(cls, value: str) -> str:
        tenant = value.strip()
        if tenant.lower() in ("common", "organizations", "consumers"):
            raise ValueError(
                f"{tenant!r} cannot sign in an app on its own: give your directory (tenant) id or domain"
            )
        if not (_GUID.match(tenant) or _DOMAIN.match(tenant)):
            raise ValueError(
                f"{value!r} is not a tenant: give the Directory (tenant) id shown in the app registration's "
                "overview, or a domain such as contoso.onmicrosoft.com"
            )
        return tenant.lower()

    @field_validator("client_id", "team")
    @classmethod
    def _check_guid(cls, value: str) -> str:
        ident = value.strip()
        if not _GUID.match(ident):
            raise ValueError(f"{value!r} is not an id: write it as 8-4-4-4-12 hexadecimal digits")
        return ident.lower()

    @field_validator("channel")
    @classmethod
    def _check_channel(cls, value: str) -> str:
        channel = unquote(value.strip())  # "Get link to channel" gives it URL-encoded
        if not _CHANNEL.match(channel):
            raise ValueError(
                f"{value!r} is not a channel id: copy it from the channel's 'Get link to channel' "
                "(the part after /channel/), e.g. 19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
            )
        return channel


class TeamsSource(SourceBase):
    """Polls one channel's message delta: new and edited root messages, and deletions."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: TeamsSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._link: str | None = None  # the delta link, or a next link while a round is unfinished

    def __repr__(self) -> str:
        return (
            f"TeamsSource(name={self.settings.name!r}, team={self.settings.team!r}, "
            f"channel={self.settings.channel!r})"
        )

    @property
    def delta_url(self) -> str:
        """The channel's delta endpoint on base_url."""
        return f"{self.settings.base_url}/{channel_path(self.settings.team, self.settings.channel)}/delta"

    async def poll(self) -> Batch:
        """New and changed messages since the last poll, and the ids of deleted ones."""
        stored = self._link
        try:
            return await self._round(stored or self.first_sync_url())
        except _ResyncNeeded:
            self._link = None
            return await self._round(self.first_sync_url())

    def state(self) -> dict[str, Any]:
        """The delta (or unfinished next) link, to resume after a restart. No token: it is not stored."""
        return {"delta_link": self._link} if self._link else {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; a link for another base_url, team or channel is ignored."""
        link = state.get("delta_link")
        self._link = link if isinstance(link, str) and self.is_own_link(link) else None

    def image_headers(self, url: str) -> dict[str, str]:
        """The bearer header for an image on base_url's origin (hosted contents), {} for anything else."""
        if self._token is None or self._token_expired():
            return {}
        return bearer_for(url, self.settings.base_url, self._token)

    def first_sync_url(self) -> str:
        """The first delta request: one bounded page size, only messages changed recently."""
        since = self.clock() - timedelta(hours=self.settings.first_sync_hours)
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.delta_url}?$top={self.settings.limit}&$filter=lastModifiedDateTime%20gt%20{stamp}"

    def is_own_link(self, link: str) -> bool:
        """True for a delta/next link of this channel on base_url (Graph may percent-encode the path)."""
        return same_origin(link, self.settings.base_url) and unquote(urlsplit(link).path) == unquote(
            urlsplit(self.delta_url).path
        )

    # -- fetching ---------------------------------------------------------------------------------

    async def _round(self, url: str) -> Batch:
        posts: dict[str, Post] = {}
        deleted: dict[str, None] = {}
        link = url
        for page in range(self.settings.max_pages):
            payload = await self._graph_get(link, stored=page == 0 and link == self._link)
            page_posts, page_deleted = parse_delta_page(
                payload,
                source=self.settings.name,
                kind=self.settings.kind,
                base_url=self.settings.base_url,
                team=self.settings.team,
                channel=self.settings.channel,
                limit=self.settings.limit,
            )
            for post in page_posts:
                deleted.pop(post.id, None)
                posts[post.id] = post
            for post_id in page_deleted:
                posts.pop(post_id, None)
                deleted[post_id] = None
            next_link, delta_link = payload.get("@odata.nextLink"), payload.get("@odata.deltaLink")
            following = delta_link if isinstance(delta_link, str) else next_link
            if not isinstance(following, str) or not following:
                raise TransientError(
                    f"unexpected answer from {redact_url(link)}: neither @odata.nextLink nor @odata.deltaLink"
                )
            if not self.is_own_link(following):
                raise TransientError(
                    f"Graph sent a link outside {self.delta_url} ({redact_url(following)}): not followed"
                )
            link = following
            if isinstance(delta_link, str):
                break
        self._link = link
        return Batch(posts=tuple(posts.values()), deleted=tuple(deleted))

    async def _graph_get(self, url: str, *, stored: bool) -> dict[str, Any]:
        """One Graph page as a JSON object, with one new token when Graph says 401."""
        for attempt in (1, 2):
            token = await self._access_token()
            fetched = await self.http.get(
                url, headers={"Authorization": f"Bearer {token}"}, conditional=False, raise_errors=False
            )
            if fetched.status == 401 and attempt == 1:
                self._token = None
                continue
            if fetched.status >= 400:
                if stored and needs_resync(fetched.status, fetched.content):
                    raise _ResyncNeeded
                raise classify_graph_error(
                    fetched,
                    team=self.settings.team,
                    channel=self.settings.channel,
                    secrets=(token, secret_value(self.settings.client_secret)),
                )
            payload = fetched.json()
            if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
                raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: no `value` list")
            return payload
        raise AuthError("Graph refused a fresh token too")  # pragma: no cover - the loop always returns

    def _token_expired(self) -> bool:
        return self._token_expires is None or self.clock() >= self._token_expires

    async def _access_token(self) -> str:
        if self._token is not None and not self._token_expired():
            return self._token
        self._token = None
        secret = required_secret(
            self.settings.client_secret,
            self.settings,
            "client_secret",
            what="a client secret of the app registration",
        )
        url = f"{self.settings.auth_url}/{quote(self.settings.tenant, safe='')}/oauth2/v2.0/token"
        fetched = await self.http.request(
            "POST",
            url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": secret,
                "scope": GRAPH_SCOPE,
            },
            conditional=False,
            raise_errors=False,
        )
        if fetched.status >= 400:
            raise classify_token_error(fetched, settings=self.settings)
        token, lifetime = parse_token(fetched.json())
        if token is None:
            raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: no access_token")
        margin = min(TOKEN_MARGIN_SECONDS, lifetime / 2)
        self._token = token
        self._token_expires = self.clock() + timedelta(seconds=lifetime - margin)
        return token


class _ResyncNeeded(Exception):
    """The stored delta link is no longer valid: start a new first sync."""


# -- pure helpers ---------------------------------------------------------------------------------------


def channel_path(team: str, channel: str) -> str:
    """`teams/{team}/channels/{channel}/messages`, with the ids written as Graph writes them."""
    return f"teams/{quote(team, safe='')}/channels/{quote(channel, safe=':@')}/messages"


def parse_token(payload: Any) -> tuple[str | None, float]:
    """`access_token` and its lifetime in seconds from a token endpoint answer."""
    if not isinstance(payload, dict):
        return None, 0.0
    token = payload.get("access_token")
    raw = payload.get("expires_in")
    try:
        lifetime = (
            float(raw) if raw is not None and not isinstance(raw, bool) else DEFAULT_TOKEN_LIFETIME_SECONDS
        )
    except (TypeError, ValueError, OverflowError):
        lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
    if not isinstance(token, str) or not token:
        return None, 0.0
    if lifetime != lifetime:  # NaN
        lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
    return token, min(max(lifetime, 1.0), MAX_TOKEN_LIFETIME_SECONDS)


def classify_token_error(fetched: Fetched, *, settings: TeamsSettings) -> SourceError:
    """The error an Entra ID token answer means, from `error` and the AADSTS `error_codes`.

    The messages are written here: Entra's `error_description` is never copied.
    """
    shown = redact_url(fetched.url)
    body = json_object(fetched.content)
    error = body.get("error") if isinstance(body.get("error"), str) else ""
    codes = [c for c in body.get("error_codes") or [] if isinstance(c, int) and not isinstance(c, bool)]
    said = f"{error or f'HTTP {fetched.status}'}" + (f", AADSTS{codes[0]}" if codes else "")
    if fetched.status == 429 or fetched.status >= 500:
        try:
            raise_for_status(fetched.status, fetched.headers, shown)
        except SourceError as exc:
            return exc
    if AAD_TENANT_CODES & set(codes):
        return ConfigError(
            f"Microsoft Entra ID does not know tenant {settings.tenant!r} ({said}) at {shown}: "
            "check `tenant` (the Directory (tenant) id of the app registration)"
        )
    if AAD_CLIENT_ID_CODES & set(codes):
        return ConfigError(
            f"no application {settings.client_id!r} in tenant {settings.tenant!r} ({said}) at {shown}: "
            "check `client_id` (the Application (client) id) and `tenant`"
        )
    if AAD_SECRET_CODES & set(codes) or error == "invalid_client":
        return AuthError(
            f"Microsoft Entra ID refused the client secret ({said}) at {shown}: the secret is wrong or "
            "expired; create a new client secret in the app registration and set `client_secret` "
            "(its Value, not its Secret ID)"
        )
    if error == "unauthorized_client":
        return AuthError(
            f"application {settings.client_id!r} may not use client credentials ({said}) at {shown}: "
            f"check the app registration in tenant {settings.tenant!r}"
        )
    if fetched.status in (400, 401, 403):
        return AuthError(
            f"Microsoft Entra ID refused the token request ({said}) at {shown}: check `tenant`, `client_id` "
            "and `client_secret`"
        )
    return TransientError(f"unexpected answer from {shown} (HTTP {fetched.status})")


def graph_error(body: bytes) -> tuple[str, str]:
    """`error.code` and `error.message` of a Graph error body ('' when absent)."""
    error = json_object(body).get("error")
    if not isinstance(error, dict):
        return "", ""
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) and _ERROR_CODE.match(code) else "",
        message if isinstance(message, str) else "",
    )


def needs_resync(status: int, body: bytes) -> bool:
    """True when Graph says a delta link has expired and a full sync must start again."""
    return status == 410 or (status == 400 and graph_error(body)[0].lower() in RESYNC_CODES)


def classify_graph_error(
    fetched: Fetched, *, team: str, channel: str, secrets: tuple[str, ...] = ()
) -> SourceError:
    """The error a Graph error answer means. Graph's message is kept (cut, secrets blanked): it names
    the missing permission on a 403."""
    shown = redact_url(fetched.url)
    code, message = graph_error(fetched.content)
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    status = fetched.status
    detail = f"{code}, HTTP {status}" if code else f"HTTP {status}"
    said = f": {clean_text(message)[:200]}" if message else ""
    if status == 401:
        return AuthError(
            f"Graph refused the app token ({detail}) at {shown}{said}: check `tenant` and `client_id`"
        )
    if status == 403:
        return AuthError(
            f"Graph forbids reading channel messages ({detail}) at {shown}{said}: give the app registration "
            f"the application permission {PERMISSION} and grant admin consent"
        )
    if status == 404:
        return ConfigError(
            f"team {team!r} or channel {channel!r} not found ({detail}) at {shown}: check `team` and "
            "`channel` (from the channel's 'Get link to channel')"
        )
    if status == 429:
        wait = parse_retry_after(fetched.headers.get("retry-after"))
        return RateLimited(f"Graph throttled the requests ({detail}) at {shown}", wait if wait else 60.0)
    if status in (503, 504):
        wait = parse_retry_after(fetched.headers.get("retry-after"))
        if wait is not None:
            return RateLimited(f"Graph is busy ({detail}) at {shown}", wait)
        return TransientError(f"Graph is unavailable ({detail}) at {shown}")
    if status >= 500:
        return TransientError(f"server error from Graph ({detail}) at {shown}")
    return ConfigError(f"Graph refused the request ({detail}) at {shown}{said}")


def _attributes(tag: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR.finditer(tag)
    }


def _emoji_as_text(markup: str) -> str:
    """Teams emoji (`<emoji alt="😄">` or an Emoji `<img>`) replaced by their alt text, kept in the text."""

    def emoji(match: re.Match[str]) -> str:
        return html.escape(_attributes(match.group(0)).get("alt", ""))

    def image(match: re.Match[str]) -> str:
        attrs = _attributes(match.group(0))
        if "schema.skype.com/emoji" in attrs.get("itemtype", "").lower():
            return html.escape(attrs.get("alt", ""))
        return match.group(0)

    return _IMG.sub(image, _EMOJI.sub(emoji, markup))


def inline_images(markup: str, *, message_id: str, base_url: str, team: str, channel: str) -> list[Media]:
    """Pictures of an HTML body. Hosted contents get their URL rebuilt on base_url (they need the
    token, given by `image_headers` for that origin only); other http(s) pictures are kept as they are."""
    media: list[Media] = []
    for match in _IMG.finditer(markup):
        attrs = _attributes(match.group(0))
        if "schema.skype.com/emoji" in attrs.get("itemtype", "").lower():
            continue
        src = http_url(attrs.get("src"))
        if not src:
            continue
        hosted = _HOSTED.search(urlsplit(src).path)
        if hosted:
            hosted_id = quote(unquote(hosted.group(1)), safe="")
            src = (
                f"{base_url}/{channel_path(team, channel)}/{quote(message_id, safe='')}"
                f"/hostedContents/{hosted_id}/$value"
            )
        alt = clean_text(attrs.get("alt", ""))
        media.append(Media(src, "" if alt.lower() in GENERIC_ALT else alt, "image"))
    return media


def attachment_images(items: Any) -> list[Media]:
    """`image/*` attachments with an http(s) `contentUrl` (files in SharePoint are not shown)."""
    media: list[Media] = []
    for item in items if isinstance(items, list) else []:
        item = as_dict(item)
        content_type = item.get("contentType")
        url = http_url(item.get("contentUrl"))
        if isinstance(content_type, str) and content_type.lower().startswith("image/") and url:
            name = item.get("name")
            alt = clean_text(name) if isinstance(name, str) else ""
            media.append(Media(url, alt, "image", http_url(item.get("thumbnailUrl"))))
    return media


def is_deleted(obj: Any) -> bool:
    """True for a delta entry that says the message was deleted."""
    return isinstance(obj, dict) and (obj.get("deletedDateTime") is not None or "@removed" in obj)


def parse_author(sender: Any) -> Author | None:
    """The user (or app) who sent a message, from its `from` identitySet; None when neither is named."""
    sender = as_dict(sender)
    for key in ("user", "application"):
        identity = as_dict(sender.get(key))
        name = identity.get("displayName")
        if isinstance(name, str) and clean_text(name):
            return Author(name=clean_text(name))
    return None


def parse_message(
    obj: Any, *, source: str, kind: PostKind, base_url: str, team: str, channel: str
) -> Post | None:
    """A Post from a chatMessage; None when it is deleted, not a user's message or malformed."""
    if not isinstance(obj, dict) or is_deleted(obj) or obj.get("messageType") != "message":
        return None
    message_id = obj.get("id")
    created_at = iso_time(obj.get("createdDateTime"))
    author = parse_author(obj.get("from"))
    if not isinstance(message_id, str) or not message_id or created_at is None or author is None:
        return None
    body = as_dict(obj.get("body"))
    raw_content = body.get("content")
    content = raw_content if isinstance(raw_content, str) else ""
    if str(body.get("contentType", "")).lower() == "html":
        text = html_to_text(_emoji_as_text(content))
        media = inline_images(content, message_id=message_id, base_url=base_url, team=team, channel=channel)
    else:
        text, media = clean_text(content), []
    subject = obj.get("subject")
    if isinstance(subject, str) and clean_text(subject):
        text = clean_text(f"{subject}\n\n{text}")
    media += attachment_images(obj.get("attachments"))
    return Post(
        id=message_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=text,
        created_at=created_at,
        url=http_url(obj.get("webUrl")),
        media=tuple(media[:MAX_MEDIA_PER_POST]),
        edited_at=iso_time(obj.get("lastEditedDateTime")),
        is_reply=isinstance(obj.get("replyToId"), str) and bool(obj.get("replyToId")),
        tags=text_hashtags(text),
    )


def parse_delta_page(
    payload: Any,
    *,
    source: str,
    kind: PostKind,
    base_url: str,
    team: str,
    channel: str,
    limit: int | None = None,
) -> tuple[list[Post], list[str]]:
    """The posts and the deleted message ids of one delta page (of its first `limit` items: what
    `$top` asked for, whatever the server sent)."""
    posts: list[Post] = []
    deleted: list[str] = []
    items = payload.get("value") if isinstance(payload, dict) else None
    for item in items[:limit] if isinstance(items, list) else []:
        if is_deleted(item):
            message_id = item.get("id")
            if isinstance(message_id, str) and message_id:
                deleted.append(message_id)
            continue
        post = parse_message(item, source=source, kind=kind, base_url=base_url, team=team, channel=channel)
        if post is not None:
            posts.append(post)
    return posts, deleted
