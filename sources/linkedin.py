"""A LinkedIn organization's (company page's) follower count, read with the versioned Community
Management API (`https://api.linkedin.com/rest`).

Fetching is `LinkedInSource.poll`; parsing is pure (`parse_network_size`, `parse_organization_name`,
`classify_error`) and tested on payloads shaped as LinkedIn documents them.

- The count is `GET /networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER` with the organization's
  URN percent-encoded in the path (Rest.li 2.0 wants `urn%3Ali%3Aorganization%3A123`); the versioned
  API spells the edge type in capitals (`CompanyFollowedByMember` is the old `/v2` spelling and is
  refused). The answer is `{"firstDegreeSize": N}`.
- Every call carries `LinkedIn-Version: YYYYMM` and `X-Restli-Protocol-Version: 2.0.0`. LinkedIn keeps
  a version about a year, then answers 426 `NONEXISTENT_VERSION`: that is a ConfigError asking to
  update `version`, which is why the version is a config key and not a constant.
- The count answer has no name, so the organization's `localizedName` (`GET /organizations/{id}`) is
  read once for the label and kept in `state()`; a failure there only leaves the label plain.
- Errors are JSON bodies `{"status", "serviceErrorCode", "code", "message"}`, read with
  `HttpFetcher.get(raise_errors=False)`. The token travels only in the `Authorization` header.
  Daily rate limits reset at midnight UTC: a 429 without `Retry-After` waits until then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    RateLimited,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    parse_retry_after,
    raise_for_status,
    redact_url,
    required_secret,
)
from sources.payload import as_int, as_text, json_object
from wall.core.model import Batch, Count, as_utc, utcnow
from wall.core.text import clean_text

NETWORK = "linkedin"
DEFAULT_BASE_URL = "https://api.linkedin.com/rest"
DEFAULT_VERSION = "202609"
EDGE_TYPE = "COMPANY_FOLLOWED_BY_MEMBER"
RESTLI_PROTOCOL = "2.0.0"
PERMISSION = "rw_organization_admin"
VERSION_CODES = frozenset({"NONEXISTENT_VERSION", "VERSION_MISSING", "INVALID_VERSION"})

_ORGANIZATION = re.compile(r"^(?:urn:li:organization:)?(\d{1,20})$")
_VERSION = re.compile(r"^(20[2-9]\d)(0[1-9]|1[0-2])(\.\d{2})?$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class LinkedInSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "linkedin"`: one organization whose followers are counted."""

    type: Literal["linkedin"] = Field(description="Which adapter reads this source")
    interval: float = Field(3600, ge=15, le=86400, description="Seconds between polls")
    base_url: str = Field(DEFAULT_BASE_URL, description="API root of the versioned (rest) API")
    organization_id: str = Field(description="The organization's number, or its urn:li:organization:N")
    token: SecretStr | None = Field(None, description="Member access token with rw_organization_admin")
    version: str = Field(DEFAULT_VERSION, description="LinkedIn-Version header, YYYYMM")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="token")

    @field_validator("organization_id")
    @classmethod
    def _check_organization(cls, value: str) -> str:
        match = _ORGANIZATION.match(value.strip())
        if not match:
            raise ValueError(
                f"{value!r} is not an organization id: give the number in the page admin URL "
                "(linkedin.com/company/<number>/admin) or write it as 'urn:li:organization:<number>'"
            )
        return match.group(1)

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        version = value.strip()
        if not _VERSION.match(version):
            raise ValueError(
                f"{value!r} is not a LinkedIn API version: write the year and month as YYYYMM, "
                f"e.g. '{DEFAULT_VERSION}'"
            )
        return version

    @property
    def urn(self) -> str:
        """The organization's URN."""
        return f"urn:li:organization:{self.organization_id}"


class LinkedInSource(SourceBase):
    """Polls one organization's follower count."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: LinkedInSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._name = ""

    def __repr__(self) -> str:
        return (
            f"LinkedInSource(name={self.settings.name!r}, "
            f"organization_id={self.settings.organization_id!r}, version={self.settings.version!r})"
        )

    async def poll(self) -> Batch:
        """The organization's follower count."""
        token = required_secret(self.settings.token, self.settings, "token")
        org = self.settings.organization_id
        fetched, payload = await self._get(
            f"networkSizes/{quote(self.settings.urn, safe='')}", {"edgeType": EDGE_TYPE}, token
        )
        followers = parse_network_size(payload)
        if followers is None:
            raise TransientError(
                f"unexpected answer from {redact_url(fetched.url)}: expected firstDegreeSize"
            )
        if not self._name:
            try:
                _, organization = await self._get(f"organizations/{org}", {}, token)
            except SourceError:
                pass  # only the label depends on it: try again next poll
            else:
                self._name = parse_organization_name(organization)
        count = Count(
            source=self.settings.name,
            network=NETWORK,
            account=org,
            value=followers,
            observed_at=self.clock(),
            label=self._name or f"LinkedIn {org}",
            metric="followers",
        )
        return Batch(counts=(count,))

    def state(self) -> dict[str, Any]:
        """The organization's name, so a restart does not ask for it again."""
        return {"name": self._name} if self._name else {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`."""
        name = state.get("name")
        self._name = clean_text(name)[:200] if isinstance(name, str) else ""

    # -- fetching ---------------------------------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, str], token: str) -> tuple[Fetched, Any]:
        fetched = await self.http.get(
            f"{self.settings.base_url}/{path}",
            params=params,
            headers={
                "Authorization": f"Bearer {token}",
                "LinkedIn-Version": self.settings.version,
                "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
            },
            conditional=False,
            raise_errors=False,
        )
        shown = redact_url(fetched.url)
        if fetched.status >= 400:
            error = classify_error(
                fetched.status,
                fetched.content,
                fetched.headers,
                shown=shown,
                settings=self.settings,
                secret=token,
                now=self.clock(),
            )
            if error is not None:
                raise error
            raise_for_status(fetched.status, fetched.headers, shown)
        return fetched, fetched.json()


# -- pure helpers ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkedInError:
    """The JSON error body of the LinkedIn API, its message cleaned and without the token."""

    status: int | None
    service_code: int | None
    code: str
    message: str

    @property
    def detail(self) -> str:
        """`EXPIRED_ACCESS_TOKEN, 65602` as shown in messages (what the body gave)."""
        parts = [self.code] if self.code else []
        if self.service_code is not None:
            parts.append(str(self.service_code))
        return ", ".join(parts)


def parse_error(body: bytes, *, secret: str = "") -> LinkedInError | None:
    """The LinkedIn error of an error body; None when the body is not one."""
    payload = json_object(body)
    if not any(k in payload for k in ("status", "serviceErrorCode", "code", "message")):
        return None
    code = payload.get("code")
    text = as_text(payload.get("message"))
    if secret:
        text = text.replace(secret, "***")
    return LinkedInError(
        status=as_int(payload.get("status")),
        service_code=as_int(payload.get("serviceErrorCode")),
        code=code if isinstance(code, str) and _CODE.match(code) else "",
        message=clean_text(text)[:200],
    )


def seconds_until_midnight_utc(now: datetime) -> float:
    """Seconds from `now` to the next midnight UTC, when LinkedIn's daily limits reset."""
    current = as_utc(now)
    midnight = datetime.combine(current.date() + timedelta(days=1), time(0), tzinfo=UTC)
    return (midnight - current).total_seconds()


def classify_error(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    shown: str,
    settings: LinkedInSettings,
    secret: str,
    now: datetime,
) -> SourceError | None:
    """The error a LinkedIn error answer means; None leaves it to the status alone (5xx)."""
    error = parse_error(body, secret=secret)
    detail = f" ({error.detail})" if error is not None and error.detail else ""
    said = f": {error.message}" if error is not None and error.message else ""
    where = f"linkedin refused the request{detail} at {shown}{said}"
    code = error.code if error is not None else ""
    if status == 426 or code in VERSION_CODES:
        return ConfigError(
            f"{where}: LinkedIn-Version {settings.version!r} is not active any more: set `version` to a "
            "recent YYYYMM (LinkedIn keeps each monthly version about a year)"
        )
    if status == 429:
        wait = parse_retry_after(headers.get("retry-after"))
        if wait is None:
            wait = seconds_until_midnight_utc(now)
        return RateLimited(f"linkedin rate limit reached{detail} at {shown}: waiting {wait:.0f} s", wait)
    if status == 401:
        return AuthError(f"{where}: renew `token` (LinkedIn access tokens expire after 60 days)")
    if status == 403:
        return AuthError(
            f"{where}: the token needs the {PERMISSION} permission, granted by a member who is an "
            f"ADMINISTRATOR of organization {settings.organization_id}"
        )
    if status == 404:
        return ConfigError(f"{where}: check `organization_id` ({settings.organization_id})")
    if 400 <= status < 500:
        return ConfigError(f"{where}: check `organization_id` and `version`")
    return None


def parse_network_size(obj: Any) -> int | None:
    """The follower count of a `networkSizes` answer (`{"firstDegreeSize": N}`); None if absent."""
    if not isinstance(obj, dict):
        return None
    size = obj.get("firstDegreeSize")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def parse_organization_name(obj: Any) -> str:
    """The name of an organization (`localizedName`, else the preferred locale's `name`), or ''."""
    if not isinstance(obj, dict):
        return ""
    localized = obj.get("localizedName")
    if isinstance(localized, str) and clean_text(localized):
        return clean_text(localized)[:200]
    name = obj.get("name")
    names = name.get("localized") if isinstance(name, dict) else None
    if isinstance(names, dict):
        for value in names.values():
            if isinstance(value, str) and clean_text(value):
                return clean_text(value)[:200]
    return ""
