"""What people talk about: top hashtags and words of the last 24 h, and each network's share.

Pure and Qt-free: `compute_trends(posts, now)` takes the posts the wall *shows* (already moderated
and filtered by consent) and returns plain numbers; `widgets/trends.py` only draws them.

Counting rules, chosen so one talkative author cannot make a trend on their own:
- a term counts once per post (a post repeating `#promo` five times counts once);
- hashtags match whatever their case (`#MaisonLumière` and `#maisonlumière` are one), shown in their
  most frequent spelling; words are shown in lower case;
- words shorter than 3 letters, numbers, web addresses, @handles and stop words (French and English,
  from the `stopwordsiso` package, see STOP_WORDS) are left out, and a word that is also a counted
  hashtag is not counted again as a word;
- a post adds at most its first MAX_HASHTAGS_PER_POST hashtags and MAX_WORDS_PER_POST words: a post
  stuffed with 10,000 hashtags would otherwise fill the panel on its own (every term counts one post,
  and ties go to the most recent), and cost the GUI thread a counter per term at each refresh;
- `exclude` removes the brand's own name and hashtag (they would top every list): each entry
  removes its words and the hashtag made of them, so "Maison Lumière" removes `maison`,
  `lumière` and `#maisonlumière`.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from wall.core.model import Post, as_utc

WINDOW = timedelta(hours=24)
MIN_WORD_CHARS = 3
MAX_HASHTAGS_PER_POST = 10  # more than people write to say what a post is about (issue 12)
MAX_WORDS_PER_POST = 30  # a long post's topic is in its first sentences

# French and English stop words of stopwords-iso (the `stopwordsiso` package, MIT: its lists ship
# inside the wheel, nothing is downloaded), ~700 French and ~1,300 English words. Both lists apply
# to every post: a post's language tag is often wrong (a Mastodon account's default language, the
# demo's "not ASCII means French"), and one mislabelled post would put `the` in the trends.
STOP_WORD_LANGUAGES = ("fr", "en")


def _package_stop_words(languages: tuple[str, ...] = STOP_WORD_LANGUAGES) -> frozenset[str]:
    """The package's lists for `languages`, read from its data file without importing it: importing
    it decodes its 50-odd languages and keeps them for the life of the process (5 MB of the wall's
    memory for two lists of a few kilobytes)."""
    spec = importlib.util.find_spec("stopwordsiso")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the stopwordsiso package is not installed (pip install -e .)")
    data = Path(next(iter(spec.submodule_search_locations))) / "stopwords-iso.json"
    text = data.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    words: set[str] = set()
    for language in languages:
        found = re.search(rf'"{language}"\s*:\s*', text)
        if found is None:
            raise ImportError(f"{data}: no {language!r} stop words")
        value, _ = decoder.raw_decode(text, found.end())
        words.update(unicodedata.normalize("NFC", word).casefold() for word in value)
    return frozenset(words)


_PACKAGE_STOP_WORDS = _package_stop_words()
# What that package lacks and lobby chatter is full of: greetings (`bonjour`, `bonsoir`, `oui`), a
# few French adverbs and verbs (`déjà`, `jamais`, `faire`, `faut`), the filler nouns of
# announcements the demo's trends ranked first (issue 15: `mise` as in "mise en place", `message`),
# and what is left of web addresses and escaped ampersands (`https`, `http`, `www`, `amp`).
EXTRA_STOP_WORDS = frozenset(
    {
        "bonjour",
        "bonsoir",
        "oui",
        "déjà",
        "jamais",
        "faire",
        "faut",
        "mise",
        "message",
        "https",
        "http",
        "www",
        "amp",
    }
)
STOP_WORDS = _PACKAGE_STOP_WORDS | EXTRA_STOP_WORDS
# False friends, kept for posts tagged with the language in which they are a topic: `car` is French
# for "because" but an English noun (the lobby of a car-service brand talks about cars).
KEPT_BY_LANGUAGE: dict[str, frozenset[str]] = {"en": frozenset({"car"})}


def stop_words_for(language: str | None) -> frozenset[str]:
    """The stop words of a post in `language` (a BCP 47 tag such as `en-GB`): STOP_WORDS, less
    the false friends that are topics in that language."""
    primary = (language or "").replace("_", "-").split("-", 1)[0].lower()
    return STOP_WORDS - KEPT_BY_LANGUAGE.get(primary, frozenset())


_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@[\w.@-]+")
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?")
_ELISION = re.compile(r"^(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Term:
    """A hashtag (with its `#`) or a word, and how many posts use it."""

    text: str
    posts: int


@dataclass(frozen=True, slots=True)
class NetworkShare:
    """One network's posts among those counted: how many, their share (0..1), a whole percentage.

    The whole percentages of all networks add up to exactly 100 (largest remainder), so the bars
    on screen never say 99 % or 101 % together.
    """

    network: str
    posts: int
    share: float
    percent: int


@dataclass(frozen=True, slots=True)
class Trends:
    """The trends of a set of posts: top hashtags and words, networks by share, posts counted."""

    hashtags: tuple[Term, ...] = ()
    words: tuple[Term, ...] = ()
    networks: tuple[NetworkShare, ...] = ()
    total: int = 0

    def __bool__(self) -> bool:
        return self.total > 0


def fold(text: str) -> str:
    """Case-insensitive key of a term (accents kept: `thé` is not `the`)."""
    return unicodedata.normalize("NFC", text).casefold()


def excluded_keys(exclude: Iterable[str]) -> frozenset[str]:
    """The folded words and hashtag names one `exclude` list removes (see the module docstring)."""
    keys: set[str] = set()
    for entry in exclude:
        words = [fold(w) for w in entry.replace("#", " ").split()]
        keys.update(words)
        if words:
            keys.add("".join(words))
    return frozenset(keys)


def hashtags_of(post: Post, limit: int = MAX_HASHTAGS_PER_POST) -> dict[str, str]:
    """The post's first `limit` hashtags, folded name -> spelling, from its text and then the tags
    its source gave."""
    found: dict[str, str] = {}
    for name in itertools.chain((m.group(1) for m in _HASHTAG.finditer(post.text)), post.tags):
        if len(found) >= limit:
            break
        name = name.lstrip("#")
        if name and not name.isdigit():
            found.setdefault(fold(name), name)
    return found


def words_of(text: str, limit: int | None = None, *, language: str | None = None) -> set[str]:
    """The folded topic words of `text` (its first `limit`): no hashtags, addresses, handles, numbers
    or stop words (see `stop_words_for`)."""
    stop = stop_words_for(language)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASHTAG.sub(" ", text)
    words: dict[str, None] = {}  # first seen first
    for match in _WORD.finditer(text):
        if limit is not None and len(words) >= limit:
            break
        word = fold(_ELISION.sub("", match.group()).strip("'’-"))
        # The lists write apostrophes straight (`aujourd'hui`); posts often curl them.
        if len(word) >= MIN_WORD_CHARS and word.replace("’", "'") not in stop and not word.isdigit():
            words[word] = None
    return set(words)


def whole_percents(counts: Sequence[int]) -> list[int]:
    """Whole percentages of `counts` adding up to exactly 100 (largest remainder method)."""
    total = sum(counts)
    if total <= 0:
        return [0 for _ in counts]
    exact = [100 * c / total for c in counts]
    percents = [int(e) for e in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(exact[i] - percents[i]), i))
    for i in by_remainder[: 100 - sum(percents)]:
        percents[i] += 1
    return percents


def compute_trends(
    posts: Iterable[Post],
    now: datetime,
    *,
    exclude: Iterable[str] = (),
    top: int = 5,
    window: timedelta = WINDOW,
) -> Trends:
    """Trends of the `posts` written in the `window` before `now` (at most `top` terms a list).

    Ties are broken by the most recent use, then alphabetically, so the lists do not shuffle
    between two refreshes with the same posts.
    """
    since, until = as_utc(now) - window, as_utc(now)
    recent = [p for p in posts if since <= as_utc(p.created_at) <= until]
    if not recent:
        return Trends()
    skip = excluded_keys(exclude)
    tag_posts: Counter[str] = Counter()
    word_posts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    last_used: dict[str, datetime] = {}
    for post in sorted(recent, key=lambda p: as_utc(p.created_at)):
        tags = {k: v for k, v in hashtags_of(post).items() if k not in skip}
        for key, spelling in tags.items():
            tag_posts[key] += 1
            spellings.setdefault(key, Counter())[spelling] += 1
            last_used["#" + key] = as_utc(post.created_at)
        for word in words_of(post.text, MAX_WORDS_PER_POST, language=post.language) - skip - tags.keys():
            word_posts[word] += 1
            last_used[word] = as_utc(post.created_at)
    word_posts = Counter({w: n for w, n in word_posts.items() if w not in tag_posts})

    def ranked(counter: Counter[str], prefix: str) -> list[str]:
        def order(key: str) -> tuple[int, float, str]:
            return (-counter[key], -last_used[prefix + key].timestamp(), key)

        return sorted(counter, key=order)[: max(0, top)]

    hashtags = tuple(
        Term("#" + spellings[key].most_common(1)[0][0], tag_posts[key]) for key in ranked(tag_posts, "#")
    )
    words = tuple(Term(word, word_posts[word]) for word in ranked(word_posts, ""))
    per_network = Counter(p.network.strip().lower() or "?" for p in recent)
    networks_sorted = sorted(per_network.items(), key=lambda item: (-item[1], item[0]))
    percents = whole_percents([n for _, n in networks_sorted])
    networks = tuple(
        NetworkShare(name, n, n / len(recent), percent)
        for (name, n), percent in zip(networks_sorted, percents, strict=True)
    )
    return Trends(hashtags, words, networks, len(recent))
