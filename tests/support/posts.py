"""Posts for tests, built as a source would build them: a test names only what it is about.

Every argument but the id is a keyword, with the `Post` field's own name: `make_post("2",
text="Bravo Lille !", created_at=ago(minutes=9))`. The defaults are a fresh public mention on
Mastodon by one person, without an avatar or a picture to fetch.
"""

from __future__ import annotations

from datetime import datetime

from tests.support.clock import ago
from wall.core.model import Author, Media, Post, PostKind

CAMILLE = Author("Camille Dupont", "@camille@mastodon.social")
FRESH = ago(minutes=5)  # when the default post was written: "il y a 5 min" on a card


def make_post(
    post_id: str = "1",
    *,
    text: str = "Superbe accueil dans votre agence de Lille",
    kind: PostKind = "mention",
    source: str = "masto",
    network: str = "mastodon",
    author: Author = CAMILLE,
    created_at: datetime = FRESH,
    media: tuple[Media, ...] = (),
    tags: tuple[str, ...] = (),
    url: str = "",
    sensitive: bool = False,
    spoiler_text: str = "",
    language: str | None = None,
    edited_at: datetime | None = None,
    is_reply: bool = False,
    boosted_by: Author | None = None,
) -> Post:
    """A post with these fields (by default, Camille's mention written five minutes before `NOW`)."""
    return Post(
        id=post_id,
        source=source,
        network=network,
        kind=kind,
        author=author,
        text=text,
        created_at=created_at,
        url=url,
        media=media,
        sensitive=sensitive,
        spoiler_text=spoiler_text,
        language=language,
        edited_at=edited_at,
        is_reply=is_reply,
        boosted_by=boosted_by,
        tags=tags,
    )
