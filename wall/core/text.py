"""Turn remote HTML or Markdown-ish text into plain text that is safe to show on the wall.

Every source passes remote text through `html_to_text` (or `clean_text` for text that is already
plain) before building a `Post`: widgets only ever show plain text, so Qt's rich-text engine never
sees remote markup nor loads a resource named in it.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

MAX_TEXT_CHARS = 5000  # a card shows far less; this bounds memory and layout work per post

_BLOCK_BREAK = re.compile(r"(?i)<\s*br\s*/?\s*>|</\s*(p|div|li|h[1-6]|blockquote|pre|tr)\s*>")
_SPACES = re.compile(r"[ \t\f\v]+")  # no-break spaces stay: French "180 000", "merci !"
_MANY_NEWLINES = re.compile(r"\n{3,}")
# Embedding/override/isolate controls can flip the rest of a card around; marks (LRM/RLM) are harmless.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_MAX_COMBINING = 2  # more stacked marks than this is "zalgo" text that overflows a card
# C0/C1 controls and lone surrogates (tab and newline are kept).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# A quick test for combining marks, so plain text skips the per-character pass below.
_MAYBE_COMBINING = re.compile(
    r"[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f"
    r"\u0900-\u0dff\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


def html_to_text(markup: str | None) -> str:
    """Plain text from remote HTML: tags dropped (scripts and styles with their content),
    entities decoded, paragraphs and `<br>` kept as line breaks, then `clean_text`."""
    if not markup:
        return ""
    # Controls and lone surrogates go first: nh3 cannot encode a lone surrogate (a JSON string may hold one).
    with_breaks = _BLOCK_BREAK.sub("\n", _CONTROLS.sub("", markup))
    stripped = nh3.clean(with_breaks, tags=set(), attributes={}, strip_comments=True)
    return clean_text(html.unescape(stripped))


def clean_text(text: str | None) -> str:
    """Normalise plain text: NFC, no control or bidi-override characters, no zalgo stacks,
    collapsed blank space, bounded length."""
    if not text:
        return ""
    text = _CONTROLS.sub("", unicodedata.normalize("NFC", text).translate(_BIDI_CONTROLS))
    if _MAYBE_COMBINING.search(text) or (not text.isascii() and _has_other_marks(text)):
        text = _limit_combining(text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _MANY_NEWLINES.sub("\n\n", text).strip()
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    return text


def _has_other_marks(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Mn", "Me") for ch in text if ord(ch) >= 0x300)


def _limit_combining(text: str) -> str:
    """At most `_MAX_COMBINING` combining marks in a row (zalgo text stacks dozens)."""
    out: list[str] = []
    combining = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me"):
            combining += 1
            if combining > _MAX_COMBINING:
                continue
        else:
            combining = 0
        out.append(ch)
    return "".join(out)
