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


def html_to_text(markup: str | None) -> str:
    """Plain text from remote HTML: tags dropped (scripts and styles with their content),
    entities decoded, paragraphs and `<br>` kept as line breaks, then `clean_text`."""
    if not markup:
        return ""
    with_breaks = _BLOCK_BREAK.sub("\n", markup)
    stripped = nh3.clean(with_breaks, tags=set(), attributes={}, strip_comments=True)
    return clean_text(html.unescape(stripped))


def clean_text(text: str | None) -> str:
    """Normalise plain text: NFC, no control or bidi-override characters, no zalgo stacks,
    collapsed blank space, bounded length."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).translate(_BIDI_CONTROLS)
    out: list[str] = []
    combining = 0
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            combining = 0
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or category == "Cs":
            continue
        if category == "Mn" or category == "Me":
            combining += 1
            if combining > _MAX_COMBINING:
                continue
        else:
            combining = 0
        out.append(ch)
    text = "".join(out).replace("\r", "")
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _MANY_NEWLINES.sub("\n\n", text).strip()
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    return text
