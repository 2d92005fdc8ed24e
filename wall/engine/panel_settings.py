"""The `[[panels]]` entries of the configuration: one full-screen panel of the rotation each.

Kept apart from `wall.engine.config` (which re-exports `PanelSettings`) as `wall.engine.schedule` and
`wall.branding` are: the keys of every panel type, their defaults and the checks that name the fix.
A key of another panel type is an error rather than ignored: it is usually a panel whose `type`
line was forgotten or mistyped, and would silently show nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from wall.core.paths import ASSET_SCHEME, asset_path

PanelType = Literal["fans", "mentions", "internal", "trends", "announcement", "clock"]
MAX_TREND_TERMS = 6  # a trends list shows at most this many hashtags or words
MAX_QR_CHARS = 200  # a longer address makes a QR code too dense to scan from afar

# A post of 280 characters (~45 words) read from 3 m at a lobby's pace, and its picture: about 12 s
# (walls.io turns every 10-15 s; at 8 s the turns also cost half as much again, issue 14).
DEFAULT_FEATURED_SECONDS = 12.0
MIN_FEATURED_SECONDS = 4  # below it the featured post changes before anyone has read it

# Quiet hours of content (issue 15, `wall.engine.replay`): off unless comms ask for it, since posts
# coming back hours later surprise whoever is used to the newest ones only.
DEFAULT_REPLAY_AFTER = timedelta(minutes=30)
MIN_REPLAY_AFTER = timedelta(minutes=1)
MAX_REPLAY_AFTER = timedelta(hours=24)
DEFAULT_REPLAY_DAYS = 7.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|min|m|s)")
_DURATION = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*(?:h|min|m|s)\s*)+")
_UNIT_SECONDS = {"h": 3600, "min": 60, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """A duration written with its units, as `replay_after` takes it: "30m", "2h", "1h30m", "90s";
    raises ValueError saying how to write it."""
    example = 'write it with its unit, e.g. replay_after = "30m" (also "2h", "1h30m", "90s")'
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{value!r} has no unit: {example}")
    text = value.strip().lower()
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{value!r} is not a duration: {example}")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


class PanelSettings(BaseModel):
    """One `[[panels]]` entry: a full-screen panel in the rotation."""

    # As `wall.engine.config.Strict`: a typo is an error.
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: PanelType = Field(description="fans, mentions, internal, trends, announcement or clock")
    duration: float = Field(15, ge=3, le=3600, description="Seconds on screen")
    title: str = Field("", max_length=80, description="Heading; empty uses the default")
    sources: list[str] = Field(default_factory=list, description="Only these sources; empty means all")
    limit: int = Field(5, ge=1, le=12, description="Posts (default 5) or counter tiles (default 12) at once")
    milestones: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=list,
        description="fans: follower counts celebrated on screen the day they are crossed, e.g. [200000]",
    )
    text: str = Field(
        "", max_length=600, validate_default=True, description="announcement: the message (required)"
    )
    image: str = Field("", description="announcement: a picture, a file path or asset:relative/path")
    qr: str = Field("", description="announcement: an http(s) address shown as a QR code, address under it")
    exclude: list[str] = Field(
        default_factory=list,
        description="trends: words and hashtags left out (the brand's own), e.g. ['Maison Lumière']",
    )
    featured_seconds: float = Field(
        DEFAULT_FEATURED_SECONDS,
        description=(
            "mentions, internal: seconds each post stays featured while the panel is on screen, "
            f"then the next one is (default {DEFAULT_FEATURED_SECONDS:g}; 0 keeps the newest featured)"
        ),
    )

    replay: bool = Field(
        False,
        description=(
            "mentions: when no new post came for `replay_after`, the panel replays the best posts of "
            "the last `replay_days` days in turn (pictures first); a new post ends it at once"
        ),
    )
    replay_after: timedelta = Field(
        DEFAULT_REPLAY_AFTER,
        description='mentions: the quiet time before the replay starts, e.g. "30m" or "2h" (1 min to 24 h)',
    )
    replay_days: float = Field(
        DEFAULT_REPLAY_DAYS,
        ge=1,
        le=90,
        description="mentions: replayed posts are at most this many days old",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_limit(cls, data: Any) -> Any:
        if isinstance(data, dict) and "limit" not in data and data.get("type") == "fans":
            return {**data, "limit": 12}
        return data

    @field_validator("limit")
    @classmethod
    def _trends_limit(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("type") == "trends" and value > MAX_TREND_TERMS:
            raise ValueError(
                f"{value} is above the maximum of {MAX_TREND_TERMS} for a trends panel (terms a list "
                f"that stay readable): use a value of at most {MAX_TREND_TERMS}"
            )
        return value

    @field_validator("text", "image", "qr", "exclude")
    @classmethod
    def _only_on_their_panel(cls, value: str | list[str], info: ValidationInfo) -> str | list[str]:
        kind, field = info.data.get("type"), info.field_name
        owner = "trends" if field == "exclude" else "announcement"
        if kind is not None and kind != owner and value:
            raise ValueError(f'is only read by {owner} panels: remove it, or set type = "{owner}"')
        if kind == "announcement" and field == "text" and not str(value).strip():
            raise ValueError(
                "is missing: an announcement needs its message, "
                'e.g. text = "Rejoignez le réseau interne de l\'entreprise"'
            )
        return value

    @field_validator("featured_seconds")
    @classmethod
    def _featured_seconds(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("type") not in (None, "mentions", "internal") and value != DEFAULT_FEATURED_SECONDS:
            raise ValueError(
                'is only read by mentions and internal panels: remove it, or set type = "mentions"'
            )
        if value != 0 and not MIN_FEATURED_SECONDS <= value <= 600:
            raise ValueError(
                f"{value:g} is out of range: use 0 (the newest post stays featured) or between "
                f"{MIN_FEATURED_SECONDS} and 600 seconds (e.g. featured_seconds = 12)"
            )
        return value

    @field_validator("replay")
    @classmethod
    def _replay_on_mentions(cls, value: bool, info: ValidationInfo) -> bool:
        kind = info.data.get("type")
        if value and kind == "internal":
            raise ValueError(
                "internal posts are never replayed: an employee agreed to be on the lobby screen when "
                "they posted, not again days later: remove it (replay is for mentions panels)"
            )
        if value and kind not in (None, "mentions"):
            raise ValueError('is only read by mentions panels: remove it, or set type = "mentions"')
        return value

    @field_validator("replay_after", mode="before")
    @classmethod
    def _replay_after(cls, value: object) -> timedelta:
        duration = parse_duration(value)
        if not MIN_REPLAY_AFTER <= duration <= MAX_REPLAY_AFTER:
            raise ValueError(
                f'{value!r} is out of range: use between 1 minute and 24 hours (e.g. replay_after = "30m")'
            )
        return duration

    @field_validator("replay_after", "replay_days")
    @classmethod
    def _only_with_replay(cls, value: timedelta | float, info: ValidationInfo) -> timedelta | float:
        default = DEFAULT_REPLAY_AFTER if info.field_name == "replay_after" else DEFAULT_REPLAY_DAYS
        if value == default or info.data.get("replay"):
            return value
        if info.data.get("type") != "mentions":
            raise ValueError("is only read by mentions panels with replay = true: remove it")
        raise ValueError("is set while replay is off: add replay = true, or remove it")

    @field_validator("qr")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
            raise ValueError(
                f"{value!r} is not a web address: write the whole address, "
                'starting with https:// (e.g. qr = "https://intranet.example/rse")'
            )
        if len(value) > MAX_QR_CHARS:
            raise ValueError(
                f"is {len(value)} characters long: a code that dense is hard to scan from afar: "
                f"use a short link of at most {MAX_QR_CHARS} characters"
            )
        return value

    @field_validator("image")
    @classmethod
    def _local_picture(cls, value: str) -> str:
        if value.startswith(("http://", "https://")):
            raise ValueError(
                f"{value!r} is a web address: the wall shows a local picture here: save it on the "
                'wall\'s computer and give its path (e.g. image = "/etc/lobby-wall/rse.png")'
            )
        if value.startswith(ASSET_SCHEME) and asset_path(value) is None:
            raise ValueError(
                f"{value!r} points outside the wall's assets folder: use asset:<path inside assets/> "
                "or a file path"
            )
        return value
