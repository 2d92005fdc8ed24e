"""What the engine knows of an adapter, without the HTTP stack: the keys every `[[sources]]` entry
takes (`SourceSettings`, which each adapter subclasses), the `Source` protocols and the error tree.

Error tree (the poller decides what to do from the class alone):

    SourceError
    ├── TransientError        network down, timeout, 5xx, malformed or oversized payload: retry with backoff
    │   └── RateLimited       429 / quota: retry after `retry_after` seconds
    └── PermanentError        a person must act; retried slowly, shown as "needs attention"
        ├── AuthError         401 / 403
        └── ConfigError       404 on a configured resource, a bad parameter

Apart from `sources.base` (the HTTP side every adapter shares) so that reading a config, storing
and showing posts need no httpx: a fleet kiosk never polls and does not carry it (issue 16: a kiosk
weighs no more than a standalone wall).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wall.core.model import Batch, PostKind

_TAG = re.compile(r"^#?[^\W_][\w-]*$")


class SourceSettings(BaseModel):
    """Keys every `[[sources]]` entry takes; each adapter subclasses it with its own keys."""

    # hide_input_in_errors: a whole-entry check would otherwise repeat the entry, secrets included.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Unique name, used in `wall fetch NAME` and in logs",
    )
    type: str = Field(description="Which adapter reads this source")
    kind: PostKind = Field("mention", description="mention (public) or internal (RSE)")
    interval: float = Field(300, ge=15, le=86400, description="Seconds between polls")
    enabled: bool = Field(True, description="Set to false to keep an entry but not poll it")
    base_url: str = Field("", description="API root; defaults to the network's public one")
    moderation: dict[str, Any] = Field(
        default_factory=dict, description="Keys of [moderation] that differ for this source"
    )
    # Consent and privacy (wall/engine/consent.py applies them). Defaults depend on `kind`: an internal
    # source needs a tag by default, shows first name + initial and keeps posts 7 days.
    require_tag: bool | str | list[str] | None = Field(
        None,
        description="Tags a post must carry to be shown, e.g. ['mur', 'lobby']; true: those two; false: none",
    )
    opt_out: list[str] = Field(
        default_factory=list, description="Authors (handle or full name) never shown, whatever they post"
    )
    show_authors: Literal["full", "first_initial", "none"] | None = Field(
        None, description="How authors are named on screen: full, first_initial ('Alice M.') or none"
    )
    retention_days: float | None = Field(
        None, gt=0, le=3650, description="Posts older than this are purged with their images"
    )
    sites: list[str] = Field(
        default_factory=list, description="Fleet only: the sites whose screens show its posts; empty: all"
    )

    # Names of SecretStr fields that may be filled from the environment or systemd credentials.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def origins(self) -> tuple[str, ...]:
        """The configured servers this source calls (`base_url`, a feed's `url`, Teams' `auth_url`...):
        its own requests there may reach the LAN; nothing taken from an answer is added here."""
        return tuple(
            value
            for name, value in self
            if name.endswith("url") and isinstance(value, str) and origin_of(value) is not None
        )

    @field_validator("require_tag")
    @classmethod
    def _check_tags(cls, value: bool | str | list[str] | None) -> bool | str | list[str] | None:
        if value is None or isinstance(value, bool):
            return value
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("is empty: write false to show posts without a tag, or list the tags")
        for item in items:
            if not _TAG.match(item.strip()):
                raise ValueError(f"{item!r} is not a tag: write it like 'mur' or '#mur'")
        return value

    @field_validator("opt_out")
    @classmethod
    def _check_opt_out(cls, values: list[str]) -> list[str]:
        if any(not v.strip().lstrip("@") for v in values):
            raise ValueError("has an empty entry: write each author's handle or full name")
        return values


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the port made explicit; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or (443 if scheme == "https" else 80)


class SourceError(Exception):
    """Any failure of a source; the message is shown in `wall status` (never on screen)."""


class TransientError(SourceError):
    """Worth retrying soon with backoff."""


class RateLimited(TransientError):
    """The server asked us to wait `retry_after` seconds."""

    # A reset time in milliseconds, or a nonsense one, must not stop the source for ever.
    MAX_WAIT_SECONDS = 86400.0

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = min(max(0.0, retry_after), self.MAX_WAIT_SECONDS)


class PermanentError(SourceError):
    """Retrying will not help until a person changes something."""


class AuthError(PermanentError):
    """Credentials missing, wrong or without the needed permission."""


class ConfigError(PermanentError):
    """The configured resource does not exist or a parameter is refused."""


@runtime_checkable
class Source(Protocol):
    """A polled source: one `poll()` per interval, keeping its own cursor.

    `state()`/`restore()` let the poller persist the cursor (e.g. `since_id`) across restarts.
    Optional capabilities are members here, not names the poller looks up (a typo would silently
    turn them off): adapters get their defaults from `SourceBase`.
    """

    network: ClassVar[str]

    @property
    def settings(self) -> SourceSettings: ...

    async def poll(self) -> Batch: ...

    def state(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...

    @property
    def slow_down(self) -> float:
        """Seconds the poller adds to the next interval: an API near its usage limit asks to space
        polls out (Graph's X-App-Usage, X's daily budget, Slack's limited tier); 0 otherwise."""
        ...


@runtime_checkable
class StreamingSource(Source, Protocol):
    """A source that can also push changes as they happen (SSE, long-poll)."""

    def stream(self) -> AsyncGenerator[Batch, None]: ...

    @property
    def stream_unavailable(self) -> str:
        """Why the last `stream()` ended without yielding (no token, no endpoint), for the log;
        '' when it did not say."""
        ...


@runtime_checkable
class PictureSource(Source, Protocol):
    """A source as the wall builds it from the config: its pictures may need its credentials."""

    def image_headers(self, url: str) -> dict[str, str]:
        """The headers to download picture `url` (the token, on the source's own origin only, as
        `bearer_for` decides); {} for any other URL."""
        ...
