"""The rules that decide whether a post reaches the lobby screen (issue 5).

Pure: no Qt, no I/O. `Moderator.judge(post)` returns a `Verdict` with a short reason a person can read
("blocked word: con", "reply", "awaiting approval"). Word matching folds case, accents, simple leetspeak
and repeated letters, but only ever matches whole words, so `con` hides "quel c0nnn !" and never
"contact", "Comic-Con" or "Scunthorpe".

The flood cap and duplicate suppression need memory of earlier posts; that memory is keyed by post key,
so judging the same post again (every poll returns it again) gives the same verdict.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wall.core.model import Author, Post, as_utc, utcnow
from wall.engine.moderation.verdict import AWAITING_APPROVAL as AWAITING_APPROVAL
from wall.engine.moderation.verdict import BLOCKED_AUTHOR as BLOCKED_AUTHOR
from wall.engine.moderation.verdict import Verdict as Verdict

# Our own short list of common French and English insults and swear words; comms extend it with
# `blocked_words`. Words that are innocent in the other language are left out on purpose:
# "retard" (French: late), "bite" (English), "cul" (cul-de-sac), "dick" (a first name), "cock".
DEFAULT_BLOCKED_WORDS: tuple[str, ...] = (
    # French
    "con",
    "conne",
    "connard",
    "connasse",
    "conasse",
    "conneries",
    "couillon",
    "enculé",
    "enculer",
    "salope",
    "salaud",
    "pute",
    "putain",
    "fils de pute",
    "fdp",
    "nique ta mère",
    "ntm",
    "ta gueule",
    "trou du cul",
    "va te faire foutre",
    "pétasse",
    "pouffiasse",
    "bâtard",
    "enfoiré",
    "merde",
    "merdique",
    "emmerdeur",
    "chier",
    "abruti",
    "crétin",
    "débile",
    "pd",
    "pédé",
    "gouine",
    "branleur",
    "raclure",
    # English
    "fuck",
    "fucking",
    "fuckin",
    "fucked",
    "fucker",
    "motherfucker",
    "wtf",
    "stfu",
    "shit",
    "shitty",
    "bullshit",
    "bitch",
    "bastard",
    "asshole",
    "arsehole",
    "dickhead",
    "cunt",
    "wanker",
    "twat",
    "slut",
    "whore",
    "retarded",
    "faggot",
    "piss off",
    "moron",
    "idiot",
    "scumbag",
)

FLOOD_WINDOW = timedelta(hours=1)

# Characters that hide a word from a naive filter without changing how it looks.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
# Leetspeak: which characters may stand for a letter in a blocked word.
_LEET: dict[str, str] = {"a": "a4@", "e": "e3", "i": "i1!|", "l": "l1|", "o": "o0", "s": "s5$", "t": "t7"}
# Endings a blocked word of 4+ letters may take and still be the same insult (plural, feminine, -ed...).
_SUFFIX = r"(?:e?s|e|ed|ers?|ing|in)?"
# Not glued to a letter or digit (nor to @ or $, which stand for letters), and not part of a
# hyphenated word: "Comic-Con" and "pique-nique" are innocent.
_START = r"(?<![^\W_])(?<![@$])(?<![^\W_]-)"
_END = r"(?![^\W_@$])(?!-[^\W_])"
# Letters spelled out one by one ("c.o.n", "c o n"): the same separator everywhere, and the run must not
# continue a longer spaced-out word ("S E C O N D" is innocent; "quel c o n" is not).
_SPACED_SEP = r"(?P<sep>\s|[.\-_*·,/~]\s?)"
_ONE_LETTER = r"(?<![^\W_])[^\W_]"  # a letter standing alone, as in a spaced-out word
_SPACED_START = (
    rf"(?<![^\W_])(?<!{_ONE_LETTER}\s)(?<!{_ONE_LETTER}[.\-_*·,/~])(?<!{_ONE_LETTER}[.\-_*·,/~]\s)"
)
_SPACED_END = r"(?![^\W_])(?!(?P=sep)[^\W_](?![^\W_]))"
_LINK = re.compile(r"(?i)\bhttps?://|(?<![\w.])www\.")
_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Text as the rules compare it: case folded, accents and invisible characters removed."""
    text = unicodedata.normalize("NFKD", text.casefold().translate(_INVISIBLE).translate(_LIGATURES))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _letter(ch: str) -> str:
    """A regex character class for one letter of a blocked word, leetspeak included."""
    return "[" + re.escape(_LEET.get(ch, ch)) + "]" if ch.isalpha() else re.escape(ch)


def _token_pattern(token: str) -> str:
    """Letters of one word; a run of a letter may be repeated ("coooon") but not shortened."""
    parts: list[str] = []
    for run in re.finditer(r"(.)\1*", token):
        ch, count = run.group(1), len(run.group(0))
        if ch.isalpha():
            parts.append(_letter(ch) + ("+" if count == 1 else f"{{{count},}}"))
        else:
            parts.append(re.escape(run.group(0)))
    return "".join(parts)


def word_pattern(word: str) -> re.Pattern[str]:
    """The regex that finds `word` (a word or phrase) in `fold`ed text, as whole words only."""
    tokens = [t for t in _NON_WORD.split(fold(word)) if t]
    if not tokens:
        raise ValueError(f"{word!r} has no letters or digits")
    body = r"[\W_]*".join(_token_pattern(t) for t in tokens)
    last = tokens[-1]
    if len(tokens) > 1 or (len(last) >= 4 and last[-1].isalpha()):
        body += _SUFFIX
    alternatives = [_START + body + _END]
    if len(tokens) == 1 and len(last) >= 3 and last.isalpha():
        # Only the first separator is captured; later ones must repeat it.
        spaced = _letter(last[0]) + _SPACED_SEP + "(?P=sep)".join(_letter(ch) for ch in last[1:])
        alternatives.append(_SPACED_START + spaced + _SPACED_END)
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def _handle_parts(handle: str) -> tuple[str, str]:
    """(user, domain) of a handle such as "@Name@host", "name@host" or "name"; both folded."""
    user, _, domain = handle.strip().lstrip("@").casefold().partition("@")
    return user, domain


class ModerationSettings(BaseModel):
    """The `[moderation]` table (and a source's `moderation` override): what may reach the screen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["post", "pre"] = Field(
        "post",
        description="post: rules apply, then shown; pre: public mentions wait for a person to approve them",
    )
    blocked_words: list[str] = Field(
        default_factory=list,
        description="Words or phrases that hide a post (whole words; case, accents and leetspeak ignored)",
    )
    use_default_words: bool = Field(True, description="Also block the built-in French and English list")
    blocked_authors: list[str] = Field(
        default_factory=list,
        description="Handles (@user or @user@instance) or display names whose posts are never shown",
    )
    trusted_authors: list[str] = Field(
        default_factory=list,
        description=(
            "Handles always shown, bypassing every rule; write @user@instance for Mastodon, since anyone "
            "can take the same user name elsewhere (display names are never trusted)"
        ),
    )
    hide_replies: bool = Field(False, description="Hide posts that answer another post")
    hide_boosts: bool = Field(False, description="Hide boosts / reposts of someone else's post")
    hide_links: bool = Field(False, description="Hide posts whose text contains a web link")
    min_length: int = Field(0, ge=0, le=5000, description="Hide posts with fewer characters of text")
    languages: list[str] = Field(
        default_factory=list,
        description="Only posts in these languages, e.g. ['fr', 'en']; empty allows all; untagged posts pass",
    )
    sensitive: Literal["hide_media", "hide_post"] = Field(
        "hide_media", description="Posts marked sensitive: show without their images, or not at all"
    )
    max_per_author_per_hour: int = Field(
        0, ge=0, le=1000, description="Anti-flood: most posts one author may show per hour; 0 = no cap"
    )
    hide_duplicates: bool = Field(True, description="Hide a post whose text repeats one already shown")

    @field_validator("blocked_words")
    @classmethod
    def _words_have_letters(cls, value: list[str]) -> list[str]:
        for index, word in enumerate(value):
            if not _NON_WORD.sub("", fold(word)):
                raise ValueError(f"entry {index} ({word!r}) has no letters or digits: remove it")
        return value

    @field_validator("blocked_authors", "trusted_authors")
    @classmethod
    def _authors_not_blank(cls, value: list[str]) -> list[str]:
        for index, author in enumerate(value):
            if not author.strip().lstrip("@"):
                raise ValueError(f"entry {index} ({author!r}) is empty: give a handle such as @name@host")
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip().lower() for code in value]
        for code in codes:
            if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)*", code):
                raise ValueError(f"{code!r} is not a language code: use ISO 639 codes such as 'fr' or 'en'")
        return codes


def merged(base: ModerationSettings, override: Mapping[str, Any]) -> ModerationSettings:
    """`base` with the keys of a source's override replacing its own (lists are replaced, not extended)."""
    return ModerationSettings.model_validate({**base.model_dump(), **override})


class Moderator:
    """Applies one `ModerationSettings` to posts; remembers what it needs for flood and duplicates.

    `blocked_authors` adds handles or names blocked from the moderation page (kept in the store) to
    the configured ones; `block` adds one more while the wall runs, `unblock` takes one of those off
    again (never a configured one: `wall.toml` stays the authority for its own list).
    """

    def __init__(self, settings: ModerationSettings, *, blocked_authors: Iterable[str] = ()) -> None:
        self.settings = settings
        words = list(DEFAULT_BLOCKED_WORDS) if settings.use_default_words else []
        words += settings.blocked_words
        unique = dict.fromkeys(words)  # keeps order: the reason names the first matching entry
        self._words = [(word, word_pattern(word)) for word in unique]
        self._configured = _AuthorList(settings.blocked_authors)
        self._page_blocked: dict[str, _AuthorList] = {}
        for author in blocked_authors:
            self.block(author)
        self._trusted = [_handle_parts(a) for a in settings.trusted_authors]
        self._flood_allowed: dict[str, bool] = {}  # post key -> passed the cap when first judged
        self._counted: dict[str, dict[str, datetime]] = {}  # author -> {post key: time} within the cap
        self._text_owner: dict[str, str] = {}  # normalised text -> key of the first post showing it

    def judge(self, post: Post, *, now: datetime | None = None) -> Verdict:
        """The verdict for `post`; `now` bounds a post dated in the future (for the flood cap)."""
        s = self.settings
        if self._is_trusted(post.author):
            return Verdict(True)
        if self._is_blocked(post.author) or (post.boosted_by and self._is_blocked(post.boosted_by)):
            return Verdict(False, BLOCKED_AUTHOR)
        if s.mode == "pre" and post.kind == "mention":
            return Verdict(False, AWAITING_APPROVAL)
        word = self.blocked_word(post.text, post.spoiler_text, post.author.name)
        if word:
            return Verdict(False, f"blocked word: {word}")
        if s.hide_replies and post.is_reply:
            return Verdict(False, "reply")
        if s.hide_boosts and post.boosted_by is not None:
            return Verdict(False, "boost")
        if s.hide_links and _LINK.search(post.text):
            return Verdict(False, "link")
        if len(post.text.strip()) < s.min_length:
            return Verdict(False, "too short")
        if s.languages and post.language and not self._language_allowed(post.language):
            return Verdict(False, f"language: {post.language}")
        verdict = Verdict(True)
        if post.sensitive:
            if s.sensitive == "hide_post":
                return Verdict(False, "sensitive")
            verdict = Verdict(True, "sensitive: media hidden", hide_media=True)
        if s.max_per_author_per_hour and not self._within_cap(post, now or utcnow()):
            cap, who = s.max_per_author_per_hour, _label(post.author)
            return Verdict(False, f"flood: more than {cap} posts in an hour by {who}")
        if s.hide_duplicates and self._is_duplicate(post):
            return Verdict(False, "duplicate text")
        return verdict

    def judge_many(self, posts: Iterable[Post], *, now: datetime | None = None) -> dict[str, Verdict]:
        """Verdicts keyed by post key; posts are judged oldest first so the flood cap keeps the earliest."""
        ordered = list(posts)
        verdicts = {
            p.key: self.judge(p, now=now)
            for p in sorted(ordered, key=lambda p: (as_utc(p.created_at), p.key))
        }
        return {p.key: verdicts[p.key] for p in ordered}

    def block(self, author: str) -> None:
        """Hide every later post by `author` (a handle such as @user@host, or a display name)."""
        if author.strip().lstrip("@"):
            self._page_blocked[author] = _AuthorList([author])

    def unblock(self, author: str) -> None:
        """Undo `block(author)`: their next judged posts pass if every other rule lets them."""
        self._page_blocked.pop(author, None)

    def blocked_by_settings(self, author: Author) -> bool:
        """True when the settings' own `blocked_authors` (not the page's) hide `author`."""
        return self._configured.matches(author)

    def forget(self, key: str) -> None:
        """Drop what is remembered about a deleted post, so its slot and its text are free again."""
        self._flood_allowed.pop(key, None)
        for times in self._counted.values():
            times.pop(key, None)
        for text in [t for t, owner in self._text_owner.items() if owner == key]:
            del self._text_owner[text]

    def retain(self, keys: Iterable[str]) -> None:
        """Forget every post not in `keys` (the posts the store still keeps): posts capped or purged
        from the store free their slot and their text too, so a wall that runs for months does not
        remember every post it ever judged."""
        kept = set(keys)
        for key in self._flood_allowed.keys() - kept:
            del self._flood_allowed[key]
        for author, times in list(self._counted.items()):
            for key in times.keys() - kept:
                del times[key]
            if not times:
                del self._counted[author]
        for text in [t for t, owner in self._text_owner.items() if owner not in kept]:
            del self._text_owner[text]

    def remembered(self) -> int:
        """How many posts the flood cap and the duplicate check remember (a long run's check)."""
        return len(self._flood_allowed.keys() | self._text_owner.values())

    def blocked_word(self, *texts: str) -> str:
        """The first blocked word or phrase found in any of `texts`, as configured; '' if none."""
        folded = [fold(t) for t in texts if t]
        for word, pattern in self._words:
            if any(pattern.search(t) for t in folded):
                return word
        return ""

    def _is_trusted(self, author: Author) -> bool:
        # Handles only: a display name costs nothing to copy. A trusted entry without a domain only
        # matches handles without one, so @official@anywhere.example cannot pass as @official.
        user, domain = _handle_parts(author.handle)
        return bool(user) and (user, domain) in self._trusted

    def _is_blocked(self, author: Author) -> bool:
        return self._configured.matches(author) or any(
            blocked.matches(author) for blocked in self._page_blocked.values()
        )

    def _language_allowed(self, language: str) -> bool:
        code = language.strip().lower()
        return any(code == allowed or code.startswith(allowed + "-") for allowed in self.settings.languages)

    def _within_cap(self, post: Post, now: datetime) -> bool:
        if post.key in self._flood_allowed:
            return self._flood_allowed[post.key]
        at = min(as_utc(post.created_at), as_utc(now))
        times = self._counted.setdefault(_author_key(post.author), {})
        recent = sum(1 for t in times.values() if at - FLOOD_WINDOW < t <= at)
        allowed = recent < self.settings.max_per_author_per_hour
        if allowed:
            times[post.key] = at
        self._flood_allowed[post.key] = allowed
        return allowed

    def _is_duplicate(self, post: Post) -> bool:
        text = _NON_WORD.sub(" ", fold(post.text)).strip()
        if not text:
            return False  # image-only posts are not copies of each other
        return self._text_owner.setdefault(text, post.key) != post.key


class _AuthorList:
    """Blocked handles or display names: an entry matches a post's handle (an entry without a domain
    matches that user on any host) or its display name (case and accents ignored)."""

    def __init__(self, entries: Iterable[str]) -> None:
        kept = [e for e in entries if e.strip().lstrip("@")]
        self._handles = [_handle_parts(e) for e in kept]
        self._names = {fold(e.strip()) for e in kept}

    def matches(self, author: Author) -> bool:
        user, domain = _handle_parts(author.handle)
        if user and any(u == user and d in ("", domain) for u, d in self._handles):
            return True
        return bool(author.name.strip()) and fold(author.name.strip()) in self._names


def _author_key(author: Author) -> str:
    user, domain = _handle_parts(author.handle)
    return f"@{user}@{domain}" if user else f"name:{fold(author.name)}"


def _label(author: Author) -> str:
    return author.handle or author.name or "an unnamed author"
