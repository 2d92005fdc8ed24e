"""Chat markup to the plain text the wall shows: Markdown as Mattermost writes it, and the pieces
Slack's mrkdwn shares with it (code spans, emphasis markers, `:emoji:` shortcodes, hashtags).

Not an adapter: `sources.mattermost` and `sources.slack` both use it. Nothing here renders markup;
it only removes what would show as noise on a lobby screen (`**`, `_`, link targets, code fences)
and keeps the words. Code spans are kept verbatim (no emphasis or emoji inside code).

Emoji shortcodes: the few dozen that people actually type in company chat become the emoji; any
other name (custom emoji, rare ones) stays as `:name:` text, which still reads as what it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from sources.base import text_hashtags
from wall.core.text import clean_text

# Shortcode -> emoji for the common ones (the names Slack and Mattermost share).
EMOJI: dict[str, str] = {
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "smile": "😄",
    "smiley": "😃",
    "grinning": "😀",
    "grin": "😁",
    "laughing": "😆",
    "joy": "😂",
    "slightly_smiling_face": "🙂",
    "blush": "😊",
    "wink": "😉",
    "heart_eyes": "😍",
    "sunglasses": "😎",
    "thinking_face": "🤔",
    "partying_face": "🥳",
    "heart": "❤️",
    "tada": "🎉",
    "clap": "👏",
    "raised_hands": "🙌",
    "pray": "🙏",
    "muscle": "💪",
    "wave": "👋",
    "ok_hand": "👌",
    "point_right": "👉",
    "eyes": "👀",
    "fire": "🔥",
    "rocket": "🚀",
    "star": "⭐",
    "sparkles": "✨",
    "100": "💯",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "warning": "⚠️",
    "bulb": "💡",
    "coffee": "☕",
    "croissant": "🥐",
    "sunny": "☀️",
    "trophy": "🏆",
    "gift": "🎁",
    "birthday": "🎂",
    "cake": "🍰",
    "champagne": "🍾",
    "balloon": "🎈",
    "calendar": "📆",
    "camera": "📷",
    "car": "🚗",
    "earth_africa": "🌍",
    "seedling": "🌱",
    "christmas_tree": "🎄",
    "flag-fr": "🇫🇷",
    "fr": "🇫🇷",
}

_SHORTCODE = re.compile(r":([a-z0-9_+-]{1,64}):((?::skin-tone-[2-6]:)?)")
# A hashtag: '#' not glued to a word, an entity (&#39;) or a URL path, then a word with a letter in it.
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_SLACK_FENCE = re.compile(r"```\n?(.*?)```", re.DOTALL)
_PRIVATE = re.compile(r"[\ue000\ue001]")
_PLACEHOLDER = re.compile(r"\ue000(\d+)\ue001")

_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!~|<>])")
_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_MD_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+", re.MULTILINE)
_MD_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(?=\S)", re.MULTILINE)
_MD_RULE = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_MD_TABLE_RULE = re.compile(
    r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*(?:\n|$)", re.MULTILINE
)

MARKDOWN_EMPHASIS = ("**", "__", "~~", "*", "_")
MRKDWN_EMPHASIS = ("*", "_", "~")


class Shelf:
    """Keeps pieces of text out of later rewriting: `hold` returns a placeholder, `restore` puts
    every piece back. Placeholders use private-use characters, removed from the input first."""

    def __init__(self, transform: Callable[[str], str] | None = None) -> None:
        self._pieces: list[str] = []
        self._transform = transform  # applied to each piece as it is held (Slack: unescape &lt; ...)

    def hold(self, piece: str) -> str:
        self._pieces.append(self._transform(piece) if self._transform else piece)
        return f"\ue000{len(self._pieces) - 1}\ue001"

    def restore(self, text: str) -> str:
        # A held piece may itself contain placeholders (a link label around code): restore until stable.
        for _ in range(3):
            if "\ue000" not in text:
                break
            text = _PLACEHOLDER.sub(lambda m: self._pieces[int(m.group(1))], text)
        return text


def without_placeholder_chars(text: str) -> str:
    """`text` without the private-use characters `Shelf` uses as markers."""
    return _PRIVATE.sub("", text)


def replace_emoji(text: str) -> str:
    """Known `:shortcode:`s (with an optional `::skin-tone-N:`) as emoji; unknown ones unchanged."""

    def one(match: re.Match[str]) -> str:
        emoji = EMOJI.get(match.group(1))
        return emoji if emoji is not None else match.group(0)

    return _SHORTCODE.sub(one, text)


def drop_emphasis(text: str, markers: Iterable[str]) -> str:
    """Text with emphasis markers removed around words: `*gras*` -> `gras`, `~~barré~~` -> `barré`.

    A marker only counts when it is not glued to a word outside (`snake_case_name`, `2*3*4` stay)
    and hugs non-blank text inside; longer markers go first so `**` is not read as two `*`.
    """
    for marker in markers:
        m = re.escape(marker)
        pattern = re.compile(rf"(?<!\w){m}(?=\S)(.+?)(?<=\S){m}(?!\w)")
        previous = None
        while previous != text:  # nested: ***x*** -> *x* -> x
            previous, text = text, pattern.sub(r"\1", text)
    return text


def split_hashtag_field(value: str) -> tuple[str, ...]:
    """Tags from a space-separated field such as Mattermost's `hashtags` ("#mur #Lyon")."""
    tags: list[str] = []
    for raw in value.split():
        tag = raw.lstrip("#").lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def strip_code(text: str) -> str:
    """Text without code blocks and code spans (no hashtag is read from code)."""
    text = _FENCE.sub("\n", text)
    text = _SLACK_FENCE.sub(" ", text)
    return _INLINE_CODE.sub(" ", text)


def shelve_code(text: str, shelf: Shelf) -> str:
    """Fenced blocks and inline code put on `shelf`, their content kept verbatim without markers."""
    text = _FENCE.sub(lambda m: shelf.hold(m.group(2).rstrip("\n")), text)
    text = _SLACK_FENCE.sub(lambda m: shelf.hold(m.group(1).strip("\n")), text)
    return _INLINE_CODE.sub(lambda m: shelf.hold(m.group(2).strip()), text)


def markdown_to_text(markdown: str | None) -> str:
    """Plain text from Markdown (CommonMark with Mattermost's extensions), then `clean_text`.

    Link and image targets are dropped (their label or alt text stays), emphasis, heading, quote
    and rule markers removed, list bullets shown as '•', code kept verbatim, known emoji shortcodes
    shown as emoji. Raw HTML in the message is left as the text it is (Mattermost does not render it).
    """
    if not markdown:
        return ""
    shelf = Shelf()
    text = shelve_code(without_placeholder_chars(markdown), shelf)
    text = _MD_ESCAPE.sub(lambda m: shelf.hold(m.group(1)), text)
    text = _MD_AUTOLINK.sub(lambda m: shelf.hold(m.group(1)), text)
    text = _MD_IMAGE.sub(lambda m: m.group(1), text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _MD_TABLE_RULE.sub("", text)
    text = _MD_RULE.sub("", text)
    text = _MD_HEADING.sub(r"\1", text)
    text = _MD_QUOTE.sub("", text)
    text = _MD_BULLET.sub(r"\1• ", text)
    text = drop_emphasis(text, MARKDOWN_EMPHASIS)
    text = replace_emoji(text)
    return clean_text(shelf.restore(text))


def markdown_hashtags(markdown: str | None) -> tuple[str, ...]:
    """Hashtags of a Markdown message, outside code and link targets."""
    if not markdown:
        return ()
    return text_hashtags(markdown_to_text(strip_code(markdown)))
