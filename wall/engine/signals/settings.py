"""The `[signals]` table: what the weak-signal detector watches, when it alerts and whom it tells."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from wall.engine.moderation.rules import fold

OnAlert = Literal["none", "pre_moderation", "hide_mentions"]


class SignalsSettings(BaseModel):
    """`[signals]`: baselines, thresholds, watch words, notification targets and crisis mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False,
        description="Watch the stored posts and alert comms; try thresholds first with `wall signals`",
    )
    include_internal: bool = Field(False, description="Also watch internal posts (public mentions always)")
    threshold_sigma: float = Field(
        3.0, ge=1.0, le=10.0, description="Standard deviations above a baseline that make an alert"
    )
    min_count: int = Field(
        10, ge=1, le=100_000, description="Fewest posts in an hour that may alert on volume"
    )
    baseline_days: int = Field(7, ge=2, le=30, description="Days of history the baselines look at")
    recent_hours: int = Field(12, ge=2, le=72, description="Hours before the last one, the short baseline")
    hidden_min_count: int = Field(
        5, ge=1, le=100_000, description="Fewest posts hidden by the rules in an hour that may alert"
    )
    watch_words: list[str] = Field(
        default_factory=list,
        description="Words or phrases that alert at once (whole words; case, accents and leetspeak "
        "ignored, as the moderation's blocked words)",
    )
    tone: bool = Field(True, description="Watch the share of negative English posts (vaderSentiment)")
    tone_min_count: int = Field(
        5, ge=1, le=100_000, description="Fewest negative English posts in an hour that may alert"
    )
    cooldown_minutes: float = Field(
        60, ge=5, le=10_080, description="A signal back to normal this long ends its episode ('over')"
    )
    notify: list[SecretStr] = Field(
        default_factory=list,
        description="Apprise URLs (mailto://, mmost://, slack://, matrix://, json://...); secrets: "
        "from WALL_SIGNALS__NOTIFY (a JSON list) or the credential signals.notify (one URL a line)",
    )
    page_url: str = Field(
        "", description="The moderation page's address as comms reach it, linked from every alert"
    )
    on_alert: OnAlert = Field(
        "none",
        description="Crisis mode on an alert: none, pre_moderation (public mentions wait for a person) "
        "or hide_mentions (the mentions panel leaves the playlist), until cleared on the page",
    )

    @field_validator("watch_words")
    @classmethod
    def _words_have_letters(cls, value: list[str]) -> list[str]:
        for index, word in enumerate(value):
            if not any(ch.isalnum() for ch in fold(word)):
                raise ValueError(f"entry {index} ({word!r}) has no letters or digits: remove it")
        return value

    @field_validator("page_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if value.strip() and not value.strip().startswith(("https://", "http://")):
            raise ValueError(
                f"{value!r} is not a web address: write the page's address as comms open it, "
                'e.g. "https://wall.corp.example:8787/"'
            )
        return value.strip()

    @field_validator("notify", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        # WALL_SIGNALS__NOTIFY holds a JSON list; a systemd credential file one URL a line; the TOML
        # may give a single string too.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    return json.loads(value)
                except ValueError:
                    raise ValueError('is not a JSON list of URLs: write it as ["scheme://..."]') from None
            return [line.strip() for line in value.splitlines() if line.strip()]
        return value

    @field_validator("notify")
    @classmethod
    def _urls(cls, value: list[SecretStr]) -> list[SecretStr]:
        for index, url in enumerate(value):
            text = url.get_secret_value()
            if "://" not in text:
                # The value is a secret: name its position, never echo it.
                raise ValueError(
                    f"entry {index} is not an Apprise URL (scheme://...): write it as e.g. "
                    "mailto://user:password@smtp.example?to=comms@example.com"
                )
        return value
