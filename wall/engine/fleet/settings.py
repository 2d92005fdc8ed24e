"""The `[fleet]` table: which NATS servers, which site and screen this kiosk is (or which sites the
collector serves), the CA that signs the servers' certificate, and this process's credential.

The credential is a `SecretStr` from `WALL_FLEET__CREDENTIAL` or the systemd credential
`[wall_]fleet.credential` (the file `wall fleet init` wrote for this user), never from the logs:
an NKey seed, or the password of a fleet made before NKeys (docs/fleet.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sources.contract import SourceSettings
from wall.engine.fleet.layout import COLLECTOR_USER, NAME, NAME_RULE, kiosk_user
from wall.engine.panel_settings import PanelSettings
from wall.engine.web_guard import check_pem_file


def check_screen_name(value: str) -> str:
    """`site/screen` as the collector lists a screen (and `wall fleet init --screen` takes it)."""
    site, _, screen = value.partition("/")
    if not (NAME.match(site) and NAME.match(screen)):
        raise ValueError(f"{value!r} is not a screen: write site/screen, e.g. 'hq/hall-1', each {NAME_RULE}")
    return value


class FleetPlaylist(BaseModel):
    """`[[fleet.playlists]]` (the collector's): the panels every screen of `site` rotates through,
    or only `screen` of it; written like the top-level `[[panels]]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(description="The site whose screens show these panels, e.g. 'lyon'")
    screen: str = Field("", description="Only this screen of the site, e.g. 'hall-1'; empty: every screen")
    panels: list[PanelSettings] = Field(min_length=1, description="The panels, as [[panels]] entries")

    @field_validator("site", "screen")
    @classmethod
    def _name(cls, value: str) -> str:
        if value and not NAME.match(value):
            raise ValueError(f"{value!r} is not a valid name: use {NAME_RULE}")
        return value

    @property
    def target(self) -> str:
        """`site` or `site/screen`."""
        return f"{self.site}/{self.screen}" if self.screen else self.site


class FleetSettings(BaseModel):
    """`[fleet]`: present on a kiosk (`site`, `screen`) and on the collector (`sites`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    servers: list[str] = Field(
        min_length=1, description="NATS servers, tls://host:port each (several: the cluster's nodes)"
    )
    site: str = Field("", description="This kiosk's site, e.g. 'lyon' (kiosks only)")
    screen: str = Field("", description="This kiosk's screen in its site, e.g. 'hall-1' (kiosks only)")
    sites: list[str] = Field(
        default_factory=list, description="Every site the collector publishes to (the collector only)"
    )
    ca_file: str = Field(description="PEM file of the fleet's CA (ca.pem from `wall fleet init`)")
    user: str = Field("", description="NATS user; empty: kiosk-<site>-<screen>, or collector")
    credential: SecretStr | None = Field(
        None,
        description="NKey seed (or password): WALL_FLEET__CREDENTIAL or systemd credential fleet.credential",
    )
    replicas: int = Field(
        1, ge=1, le=5, description="Copies of each bucket the collector creates (3 on a cluster)"
    )
    screenshot_minutes: float = Field(
        5, ge=1, le=1440, description="A kiosk sends a small picture of its screen this often (minutes)"
    )
    proof_days: int = Field(
        30, ge=1, le=3650, description="Days the broker keeps the screens' proof of play (the collector's)"
    )
    screens: list[str] = Field(
        default_factory=list,
        description="The collector's: the fleet's screens as site/screen, e.g. 'hq/hall-1' (the page's "
        "choices before they are heard from, and the screens a playlist may name)",
    )
    playlists: list[FleetPlaylist] = Field(
        default_factory=list, description="The collector's: panels per site or screen ([[fleet.playlists]])"
    )

    @field_validator("servers")
    @classmethod
    def _tls_urls(cls, value: list[str]) -> list[str]:
        for server in value:
            parts = urlsplit(server)
            if parts.scheme != "tls" or not parts.hostname or parts.port is None:
                raise ValueError(
                    f"{server!r} is not a TLS server address: write tls://host:port, e.g. tls://10.0.0.5:4222"
                    " (the fleet never talks in clear text)"
                )
        return value

    @field_validator("site", "screen")
    @classmethod
    def _name(cls, value: str) -> str:
        if value and not NAME.match(value):
            raise ValueError(f"{value!r} is not a valid name: use {NAME_RULE}")
        return value

    @field_validator("sites")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for site in value:
            if not NAME.match(site):
                raise ValueError(f"{site!r} is not a valid site name: use {NAME_RULE}")
        return value

    @field_validator("screens")
    @classmethod
    def _screens(cls, value: list[str]) -> list[str]:
        return [check_screen_name(screen) for screen in value]

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str) -> str:
        return check_pem_file(value, "CA certificate")

    @model_validator(mode="after")
    def _one_role(self) -> FleetSettings:
        if self.sites and (self.site or self.screen):
            raise ValueError(
                "sites: a collector lists sites, a kiosk gives site and screen: keep one or the other"
            )
        if not self.sites and (self.screens or self.playlists):
            field = "screens" if self.screens else "playlists"
            raise ValueError(
                f"{field}: only the collector lists screens and playlists: move them to the collector's "
                "[fleet] (a kiosk receives its playlist from there)"
            )
        if not self.sites and not (self.site and self.screen):
            missing = "screen" if self.site else "site"
            raise ValueError(
                f'{missing}: is missing: a kiosk sets site and screen (e.g. site = "lyon", screen = '
                '"hall-1"); a collector sets sites = ["hq", "lyon"]'
            )
        return self

    @property
    def role(self) -> Literal["kiosk", "collector"]:
        """A collector lists the sites it serves; a kiosk is one screen of one site."""
        return "collector" if self.sites else "kiosk"

    @property
    def nats_user(self) -> str:
        """The NATS user this process logs in as."""
        if self.user:
            return self.user
        return COLLECTOR_USER if self.role == "collector" else kiosk_user(self.site, self.screen)


NKEY_SEED_LENGTH = 58  # "SU" + base32 of 1 prefix byte, 32 key bytes and a 2-byte checksum


def nkey_public_key(credential: str) -> str:
    """The public key ("U...") of an NKey user seed; "" for anything else (a password: no
    password of `wall fleet init`'s is 58 characters long)."""
    if not (credential.startswith("SU") and len(credential) == NKEY_SEED_LENGTH):
        return ""
    import nkeys  # only a fleet's processes need it: a standalone wall never loads it

    try:
        pair = nkeys.from_seed(bytearray(credential.encode()))
    except (nkeys.NkeysError, ValueError):
        return ""
    public: bytes = pair.public_key
    pair.wipe()
    return public.decode()


def fleet_problems(
    fleet: FleetSettings | None, sources: Sequence[SourceSettings], shown: str, need_secrets: bool
) -> list[str]:
    """Problems between `[fleet]` and the rest of the file, one line each (file, field, fix)."""
    problems: list[str] = []
    if fleet is None:
        return problems
    if need_secrets and fleet.credential is None:
        problems.append(
            f"{shown}: fleet.credential: is missing: set the environment variable WALL_FLEET__CREDENTIAL "
            f"or the systemd credential fleet.credential (the file credentials/{fleet.nats_user}/"
            "fleet.credential written by `wall fleet init`)"
        )
    if fleet.role == "kiosk" and sources:
        problems.append(
            f"{shown}: sources: a fleet's kiosk polls nothing (fleet.site = {fleet.site!r}): move the "
            "[[sources]] to the collector's config, or remove [fleet] to run standalone"
        )
    for index, source in enumerate(sources):
        unknown = [site for site in source.sites if site not in fleet.sites]
        if fleet.role == "collector" and unknown:
            problems.append(
                f"{shown}: sources[{index}].sites: {', '.join(map(repr, unknown))} not in fleet.sites: "
                f"use some of {', '.join(fleet.sites)}, or add the site to fleet.sites"
            )
    return problems + _playlist_problems(fleet, sources, shown)


def _playlist_problems(fleet: FleetSettings, sources: Sequence[SourceSettings], shown: str) -> list[str]:
    """A screen or playlist naming a site or screen the fleet does not list, a target given two
    playlists, a panel showing a source the collector does not have."""
    problems: list[str] = []
    for index, screen in enumerate(fleet.screens):
        site = screen.partition("/")[0]
        if site not in fleet.sites:
            problems.append(
                f"{shown}: fleet.screens[{index}]: site {site!r} of {screen!r} is not in fleet.sites: "
                f"use one of {', '.join(fleet.sites)}, or add the site to fleet.sites"
            )
    names = [s.name for s in sources]
    seen: set[str] = set()
    for index, playlist in enumerate(fleet.playlists):
        where = f"{shown}: fleet.playlists[{index}]"
        if playlist.site not in fleet.sites:
            problems.append(
                f"{where}.site: {playlist.site!r} is not in fleet.sites: use one of "
                f"{', '.join(fleet.sites)}, or add the site to fleet.sites"
            )
        elif playlist.screen and playlist.target not in fleet.screens:
            listed = [s for s in fleet.screens if s.startswith(playlist.site + "/")]
            problems.append(
                f"{where}.screen: {playlist.screen!r} of site {playlist.site!r} is not in fleet.screens: "
                f'add "{playlist.target}" to fleet.screens, or name one of its screens: '
                f"{', '.join(listed) or '(none listed)'}"
            )
        if playlist.target in seen:
            problems.append(
                f"{where}: {playlist.target!r} already has a playlist: keep one [[fleet.playlists]] "
                "per site and per screen"
            )
        seen.add(playlist.target)
        for number, panel in enumerate(playlist.panels):
            for name in panel.sources:
                if name not in names:
                    problems.append(
                        f"{where}.panels[{number}].sources: no source is named {name!r}: use one of "
                        f"{', '.join(names) or '(no sources configured)'}"
                    )
    return problems
