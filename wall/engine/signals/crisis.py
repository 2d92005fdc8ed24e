"""Crisis mode (issue 17): on an alert, `[signals] on_alert` takes public mentions off the lobby's
screen until a person clears it on the moderation page.

- `pre_moderation`: the rules judge mentions as in `[moderation] mode = "pre"`: only what a person
  approves on the page is shown, the mentions already on screen included;
- `hide_mentions`: the screen receives no mention at all, so the mentions panel, having nothing to
  show, leaves the rotation (the rotator skips empty panels).

The state is kept in the store (a restart keeps the crisis) and every switch is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from wall.core.model import Post, PostKind, parse_iso
from wall.engine.moderation.rules import ModerationSettings
from wall.engine.signals.settings import OnAlert

ALERT_ACTOR = "signaux"  # who switched crisis mode on, in the audit log


@dataclass(frozen=True, slots=True)
class CrisisState:
    """Crisis mode while it is on: its mode, who switched it on, when and why."""

    mode: str
    who: str
    at: datetime
    detail: str

    @classmethod
    def from_store(cls, value: Mapping[str, str] | None) -> CrisisState | None:
        """The state `Store.crisis` returns, or None when crisis mode is off."""
        if not value or not value.get("mode"):
            return None
        return cls(value["mode"], value.get("who", ""), parse_iso(value["at"]), value.get("detail", ""))


class CrisisMode:
    """What crisis mode changes: the moderation of mentions, and the mentions the screen receives."""

    def __init__(self, on_alert: OnAlert, state: CrisisState | None = None) -> None:
        self.on_alert = on_alert
        self.state = state

    @property
    def mode(self) -> str:
        """The mode in force ("" when off)."""
        return self.state.mode if self.state is not None else ""

    def wanted(self) -> str:
        """The mode an alert switches on ("" when alerts leave the screen alone)."""
        return "" if self.on_alert == "none" else self.on_alert

    def settings_for(self, base: ModerationSettings) -> ModerationSettings:
        """`base`, with mentions waiting for a person while pre-moderation is in force."""
        if self.mode == "pre_moderation" and base.mode != "pre":
            return base.model_copy(update={"mode": "pre"})
        return base

    def shown(self, kind: PostKind, posts: list[Post]) -> list[Post]:
        """The posts the screen may receive: no mention while `hide_mentions` is in force."""
        return [] if self.mode == "hide_mentions" and kind == "mention" else posts
