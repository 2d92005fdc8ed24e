"""The keys every `[[sources]]` entry takes (`SourceSettings`, which each adapter subclasses).

Apart from `sources.base` so that reading a config needs no HTTP stack: a fleet kiosk checks its
config and never polls, and must not carry httpx for it (issue 16: a kiosk weighs no more than a
standalone wall).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wall.core.model import PostKind

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
