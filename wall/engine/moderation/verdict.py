"""What the rules say of one post, as plain data (no pydantic): the moderation page's decisions
(`decisions.py`) and the hub's announcement reach it without loading the rules' settings, so a
display process that only shows posts imports no pydantic (bench/split.py, issue 14)."""

from __future__ import annotations

from dataclasses import dataclass

# Reasons other parts of the wall act on: the moderation page lists posts awaiting a person, and a
# blocked author's posts stay hidden even where someone approved one before the block (issue 5).
AWAITING_APPROVAL = "awaiting approval"
BLOCKED_AUTHOR = "blocked author"


@dataclass(frozen=True)
class Verdict:
    """Whether a post is shown, and why not (or why only partly: `hide_media`)."""

    shown: bool
    reason: str = ""
    hide_media: bool = False
