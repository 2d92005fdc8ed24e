"""A Facebook Page's fan and follower counts, read with the Graph API and a Page access token.

Fetching is `FacebookSource.poll`; parsing is pure (`parse_page_counts`) and tested on payloads shaped
as Meta documents them. What every Graph adapter shares lives in `sources.graph`:
- Graph errors come as HTTP 400 for everything (expired token, unknown page, throttling); only the
  JSON body's `error.code` tells them apart (`classify_graph_error`), so the module asks
  `HttpFetcher.get(raise_errors=False)` for the error body (same size cap, network-error mapping and
  URL redaction; the token travels in the query string).
- Meta throttles by usage percentages sent in `X-App-Usage` / `X-Business-Use-Case-Usage` headers
  (`graph_usage`, `UsageBudget`). At `SLOW_DOWN_AT_PERCENT` `slow_down` suggests an extra wait; at
  100 the counts of that answer are still returned, and the next polls raise RateLimited until
  access is regained, without a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    HttpFetcher,
    SourceBase,
    SourceSettings,
    TransientError,
    check_api_root,
    raise_for_status,
    redact_url,
    required_secret,
)
from sources.graph import DEFAULT_BASE_URL, UsageBudget, classify_graph_error
from sources.graph import graph_usage as graph_usage  # re-exported: its home was this module
from sources.payload import as_count
from wall.core.model import Batch, Count, utcnow
from wall.core.text import clean_text

NETWORK = "facebook"
FIELDS = "name,fan_count,followers_count"

_PAGE_ID = re.compile(r"^[\w.-]{1,100}$")


class FacebookSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "facebook"`: one Page whose fans and followers are counted."""

    type: Literal["facebook"] = Field(description="Which adapter reads this source")
    base_url: str = Field(DEFAULT_BASE_URL, description="API root, with the Graph API version")
    page_id: str = Field(description="The Page's numeric id (or its username)")
    token: SecretStr | None = Field(None, description="Page access token (required to poll)")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="token")

    @field_validator("page_id")
    @classmethod
    def _check_page_id(cls, value: str) -> str:
        page_id = value.strip()
        if not _PAGE_ID.match(page_id):
            raise ValueError(
                f"{value!r} is not a Page id: give the number shown in the Page's About section, "
                "e.g. '112130216863063'"
            )
        return page_id


class FacebookSource(SourceBase):
    """Polls one Page's `fan_count` and `followers_count`, spacing polls out as Meta's usage rises."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: FacebookSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.budget = UsageBudget(NETWORK)

    def __repr__(self) -> str:
        return f"FacebookSource(name={self.settings.name!r}, page_id={self.settings.page_id!r})"

    @property
    def usage(self) -> float:
        """The highest usage percentage Meta reported in the last answer."""
        return self.budget.usage

    @property
    def slow_down(self) -> float:
        """Extra seconds to wait before the next poll: one more interval once usage nears the limit."""
        return self.budget.slow_down(self.settings.interval)

    async def poll(self) -> Batch:
        """The Page's fans and followers; RateLimited while Meta's usage budget is spent."""
        now = self.clock()
        self.budget.check(now)
        token = required_secret(self.settings.token, self.settings, "token")
        url = f"{self.settings.base_url}/{quote(self.settings.page_id, safe='')}"
        fetched = await self.http.get(
            url, params={"fields": FIELDS, "access_token": token}, conditional=False, raise_errors=False
        )
        shown = redact_url(fetched.url)
        regain = self.budget.record(fetched.headers, now)
        if fetched.status >= 400:
            error = classify_graph_error(
                fetched.content,
                shown=shown,
                secret=token,
                regain=regain,
                network=NETWORK,
                credential="the Page token",
                renew="renew `token` with the pages_read_engagement permission",
                subject=f"Page {self.settings.page_id!r}",
                key="page_id",
            )
            if error is not None:
                raise error
            raise_for_status(fetched.status, fetched.headers, shown)
        counts = parse_page_counts(
            fetched.json(), source=self.settings.name, account=self.settings.page_id, observed_at=now
        )
        if not counts:
            raise TransientError(f"unexpected answer from {shown}: expected a Page with fan_count")
        return Batch(counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """Nothing to resume: every poll reads the current counts."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore (see `state`)."""


# -- pure helpers ---------------------------------------------------------------------------------------


def parse_page_counts(obj: Any, *, source: str, account: str, observed_at: datetime) -> list[Count]:
    """ "fans" and "followers" Counts from a Page node; none when `obj` is not a Page.

    A field the API left out (no permission) or sent as nonsense is unknown, not zero.
    """
    if not isinstance(obj, dict) or "error" in obj:
        return []
    if "fan_count" not in obj and "followers_count" not in obj:
        return []
    name = obj.get("name")
    label = (clean_text(name) if isinstance(name, str) else "") or account
    return [
        Count(source, NETWORK, account, as_count(obj.get(field)), observed_at, label, metric)
        for field, metric in (("fan_count", "fans"), ("followers_count", "followers"))
    ]
