"""Every configured secret, masked in every string that leaves the process: the one place.

A remote server may echo a key it was sent (an API error body quoting the request URL, a hostile
feed writing the token into a post). Whatever the path, a configured secret value never reaches a
log line, `wall status`, the store, the CLI's output, the moderation page or the lobby screen:
logging (`wall.engine.logs.SecretMask`), the poller's statuses, the engine's batches, the CLI and the page
all go through `Secrets.mask`.
"""

from __future__ import annotations

import dataclasses
import io
import typing
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretStr

from wall.core.model import Author, Batch, Count, Media, Post, SourceStatus

MASK = "***"
MIN_SECRET_CHARS = 4  # shorter values would mask ordinary words; no real key is that short


class Secrets:
    """The secret values of one configuration, and the forms a server may echo them in."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for value in values:
            if len(value) < MIN_SECRET_CHARS:
                continue
            forms |= {value, quote(value, safe=""), quote_plus(value)}
        # Longest first: a secret that contains another is masked whole.
        self.forms: tuple[str, ...] = tuple(sorted(forms, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self.forms)

    def mask(self, text: str) -> str:
        """`text` with every form of every secret replaced by ***."""
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def mask_status(self, status: SourceStatus) -> SourceStatus:
        """The status with its error message masked."""
        masked = self.mask(status.last_error)
        return status if masked == status.last_error else dataclasses.replace(status, last_error=masked)

    def mask_batch(self, batch: Batch) -> Batch:
        """The batch with every string of its posts and counts masked (an unchanged batch is returned
        as it is, so the usual case costs a scan and no copy)."""
        if not self.forms:
            return batch
        posts = tuple(self._masked(p) for p in batch.posts)
        counts = tuple(self._masked(c) for c in batch.counts)
        if all(a is b for a, b in zip(posts, batch.posts, strict=True)) and all(
            a is b for a, b in zip(counts, batch.counts, strict=True)
        ):
            return batch
        return dataclasses.replace(batch, posts=posts, counts=counts)

    def _masked(self, value: Any) -> Any:
        """A copy of a model dataclass (Post, Author, Media, Count) with its strings masked, or the
        value itself when nothing in it is secret."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, tuple):
            items = tuple(self._masked(v) for v in value)
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, Post | Author | Media | Count):
            changes = {}
            for f in dataclasses.fields(value):
                old = getattr(value, f.name)
                new = self._masked(old)
                if new is not old and new != old:
                    changes[f.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        return value


def secret_values(*models: BaseModel | None) -> list[str]:
    """Every SecretStr value found in these settings models, at any depth (lists and tables too)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for model in models:
        walk(model)
    return [v for v in found if v]


# The process's secrets: every value configured since it started (a reload that removes a source
# does not make its old token printable). Set by whoever loads a config (`remember`), read by every
# output path (`mask`).
_known: set[str] = set()
_current = Secrets()


def remember(values: Iterable[str]) -> None:
    """Add configured secret values to the ones every output path masks."""
    global _current
    new = {v for v in values if v} - _known
    if new:
        _known.update(new)
        _current = Secrets(_known)


def current() -> Secrets:
    """The secrets remembered so far in this process."""
    return _current


def mask(text: str) -> str:
    """`text` with every secret remembered in this process masked."""
    return _current.mask(text)


class MaskedStream(io.TextIOBase):
    """A text stream that masks the secrets in everything written to it (the CLI's stdout/stderr)."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner

    @classmethod
    def wrap(cls, stream: TextIO) -> TextIO:
        """`stream` behind the mask (once: a stream already masked is returned as it is)."""
        return stream if isinstance(stream, MaskedStream) else typing.cast(TextIO, cls(stream))

    def write(self, text: str) -> int:
        self.inner.write(mask(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
