"""The wall's configuration: one TOML file, environment overrides, secrets from env or systemd.

`load_config(path)` returns a validated `WallConfig` or raises `ConfigProblems`, whose lines each
name the file, the field path and the fix, e.g.
`wall.toml: sources[2].interval: 5 is below the minimum of 15 — use a value of at least 15`.

Environment: `WALL_<TABLE>__<KEY>` overrides a key of a table (`WALL_WALL__LANGUAGE=en`); a source's
secret comes from the TOML, else `WALL_SOURCES__<NAME>__<KEY>`, else the systemd credential file
`$CREDENTIALS_DIRECTORY/[wall_]<name>.<key>` (see kiosk.service `LoadCredential=`). The moderation
page's token comes the same way: `WALL_WEB__TOKEN`, else the credential `[wall_]web.token`, and the
proxy's password: `WALL_NETWORK__PROXY_PASSWORD`, else the credential `[wall_]network.proxy_password`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
import tomllib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from sources.contract import SourceSettings
from sources.registry import ADAPTERS
from wall.core.paths import state_dir
from wall.core.proxy import ProxyRoute, check_proxy_url, no_proxy_entry
from wall.core.secrets import remember as remember_secrets
from wall.core.secrets import secret_values
from wall.engine.branding import check_background, check_font
from wall.engine.fleet.settings import FleetSettings, fleet_problems
from wall.engine.moderation.rules import ModerationSettings
from wall.engine.moderation.rules import merged as merge_moderation
from wall.engine.panel_settings import PanelSettings as PanelSettings  # re-exported: where it always was
from wall.engine.schedule import ScheduleSettings
from wall.engine.signals.settings import SignalsSettings
from wall.engine.web_guard import check_pem_file, default_server_names, host_name, is_loopback, server_context

log = logging.getLogger("wall.engine.config")

DEFAULT_CONFIG_PATH = Path("/etc/lobby-wall/wall.toml")
ENV_PREFIX = "WALL_"
_LIST_TABLES = ("sources", "panels", "screens")


class ConfigProblems(Exception):
    """A config that cannot be used; `lines` has one human-readable line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Strict(BaseModel):
    """Base for config tables: unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BrandingSettings(Strict):
    """Look of the wall: name, logo and colours of the company."""

    name: str = Field("Lobby Wall", max_length=80, description="Shown in the header")
    logo: str = Field("", description="Path to a PNG or SVG logo; empty shows the name only")
    theme: Literal["dark", "light"] = Field("dark", description="Colour theme")
    accent: str = Field("#e4002b", pattern=r"^#[0-9a-fA-F]{6}$", description="Accent colour #rrggbb")
    font: str = Field(
        "", description="An installed font family, or a .ttf/.otf file; empty: the wall's fonts"
    )
    background: list[str] = Field(
        default_factory=list,
        description="A colour #rrggbb and/or a picture file behind the panels; empty: the theme's",
    )

    @field_validator("font")
    @classmethod
    def _font_exists(cls, value: str) -> str:
        return check_font(value)

    @field_validator("background", mode="before")
    @classmethod
    def _one_or_two(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # `background = "#102a43"` is allowed too

    @field_validator("background")
    @classmethod
    def _background_readable(cls, value: list[str]) -> list[str]:
        return check_background(value)

    @property
    def background_colour(self) -> str:
        """The `#rrggbb` of `background`, or ""."""
        return next((item for item in self.background if item.startswith("#")), "")

    @property
    def background_image(self) -> str:
        """The picture of `background` (a path or asset: address), or ""."""
        return next((item for item in self.background if not item.startswith("#")), "")


class WallSection(Strict):
    """The `[wall]` table."""

    language: Literal["fr", "en"] = Field("fr", description="Language of everything on screen")
    timezone: str = Field("Europe/Paris", description="IANA time zone for the clock")
    branding: BrandingSettings = BrandingSettings()
    stale_after_intervals: int = Field(3, ge=1, le=100, description="Missed intervals before 'stale'")
    transition: Literal["crossfade", "slide"] = Field(
        "crossfade", description="Between panels: crossfade, or slide (the next one comes in from the right)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as 'Europe/Paris'"
            ) from None
        return value


class ScreenSettings(Strict):
    """One `[[screens]]` entry: a window on one output with its own playlist."""

    output: int | str = Field(0, description="Screen index (0 = primary) or output name such as HDMI-1")
    panels: list[int] = Field(default_factory=list, description="Indexes into [[panels]]; empty = all")


class NetworkSettings(Strict):
    """The `[network]` table: how the wall talks to the outside."""

    timeout: float = Field(20, ge=1, le=300, description="Seconds before a request is abandoned")
    max_response_bytes: int = Field(
        5_000_000, ge=10_000, le=100_000_000, description="Bigger answers are refused"
    )
    max_backoff: float = Field(1800, ge=30, le=86400, description="Longest wait between retries")
    proxy: str = Field(
        "",
        description="Outbound proxy, http://host:port (or https://); empty: direct. "
        "The environment's HTTP(S)_PROXY is never used",
    )
    proxy_username: str = Field("", description="User name for the proxy (Basic authentication)")
    proxy_password: SecretStr | None = Field(
        None,
        description="Password for the proxy; from WALL_NETWORK__PROXY_PASSWORD or the credential "
        "network.proxy_password",
    )
    no_proxy: list[str] = Field(
        default_factory=list,
        description="Reached directly, not through the proxy: host names, domains (corp.example "
        "also matches matrix.corp.example), addresses or CIDR ranges (10.0.0.0/8)",
    )
    proxy_resolves_names: bool = Field(
        False,
        description="Let the proxy resolve a picture's host the wall cannot resolve itself "
        "(weaker: the proxy's ACL alone then keeps the LAN out of reach)",
    )

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str) -> str:
        return check_proxy_url(value) if value.strip() else ""

    @field_validator("no_proxy")
    @classmethod
    def _no_proxy_entries(cls, value: list[str]) -> list[str]:
        return [no_proxy_entry(entry) for entry in value]

    @model_validator(mode="after")
    def _proxy_login(self) -> NetworkSettings:
        has_password = self.proxy_password is not None and bool(self.proxy_password.get_secret_value())
        # A password left in the environment without a proxy is unused, not a reason to refuse.
        if not self.proxy and self.proxy_username:
            raise ValueError(
                'proxy: is empty while proxy_username is set: set proxy = "http://host:port", '
                "or remove proxy_username"
            )
        if has_password and not self.proxy_username:
            raise ValueError("proxy_username: is missing while proxy_password is set: add proxy_username")
        return self  # a missing password is `_cross_check`'s: `wall status` needs no secret

    def proxy_route(self) -> ProxyRoute | None:
        """The configured proxy as the outbound policy uses it, or None to connect directly."""
        if not self.proxy:
            return None
        return ProxyRoute(
            url=self.proxy,
            username=self.proxy_username,
            password=self.proxy_password.get_secret_value() if self.proxy_password else "",
            no_proxy=tuple(self.no_proxy),
            resolves_names=self.proxy_resolves_names,
        )


class StorageSettings(Strict):
    """The `[storage]` table."""

    state_dir: str = Field("", description="Where the SQLite store lives; empty: $STATE_DIRECTORY or XDG")
    max_posts_per_source: int = Field(500, ge=10, le=100_000, description="Older posts are dropped")


MIN_WEB_TOKEN_CHARS = 16


class WebSettings(Strict):
    """The `[web]` table: the moderation page (issue 5), served by the wall itself."""

    enabled: bool = Field(False, description="Serve the moderation page")
    host: str = Field("127.0.0.1", min_length=1, description="Address to listen on (keep it local)")
    port: int = Field(8787, ge=1, le=65535, description="TCP port")
    token: SecretStr | None = Field(
        None, description="Shared secret to log in; from WALL_WEB__TOKEN or the credential web.token"
    )
    session_hours: float = Field(12, ge=0.25, le=168, description="A login lasts this long")
    cert: str = Field("", description="PEM certificate (chain) file: serve HTTPS; needed off loopback")
    key: str = Field("", description="PEM private key file of `cert` (no passphrase)")
    server_names: list[str] = Field(
        default_factory=list,
        description="Names browsers use to reach the page (Host header); empty: the host itself, "
        "plus localhost, 127.0.0.1 and [::1] for a loopback host",
    )

    @field_validator("cert", "key")
    @classmethod
    def _readable(cls, value: str, info: ValidationInfo) -> str:
        what = "certificate" if info.field_name == "cert" else "private key"
        return check_pem_file(value, what) if value.strip() else ""

    @field_validator("server_names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [host_name(name) for name in value]
        if any(not name or "/" in name or " " in name for name in names):
            raise ValueError(
                "each name is a host name or address as typed in the browser, e.g. wall.corp.example"
            )
        return names

    @model_validator(mode="after")
    def _safe_on_the_network(self) -> WebSettings:
        # A plain-HTTP page off loopback sends the token and the session over the company network.
        if bool(self.cert) != bool(self.key):
            missing = "key" if self.cert else "cert"
            raise ValueError(
                f"{missing}: is missing: give both cert and key (PEM files) to serve HTTPS, or neither"
            )
        if not self.cert and not is_loopback(self.host):
            raise ValueError(
                f"host: {self.host!r} is reachable from the network but the page would be plain HTTP: set "
                'cert and key (PEM files) to serve HTTPS, or keep host = "127.0.0.1" '
                "(and reach it through an SSH tunnel or an HTTPS proxy)"
            )
        if self.cert:
            try:
                server_context(self.cert, self.key)
            except (ssl.SSLError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or str(exc)
                raise ValueError(
                    f"cert, key: {self.cert!r} and {self.key!r} are not a PEM certificate and its "
                    f"unencrypted private key ({reason}): give matching PEM files, e.g. from "
                    "`openssl req -x509 -newkey rsa:3072 -nodes -keyout key.pem -out cert.pem`"
                ) from None
        if not self.allowed_names():
            raise ValueError(
                f"server_names: is empty while host = {self.host!r} listens on every address: list the "
                'names people type to reach the page, e.g. server_names = ["wall.corp.example"]'
            )
        return self

    def allowed_names(self) -> list[str]:
        """The Host names the page answers to (DNS rebinding: every other name is refused)."""
        return list(self.server_names) or default_server_names(self.host)

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_WEB_TOKEN_CHARS:
            raise ValueError(
                f"is shorter than {MIN_WEB_TOKEN_CHARS} characters: use a long random one, "
                "e.g. from `openssl rand -base64 24`"
            )
        return value


class WallConfig(Strict):
    """The whole validated configuration."""

    wall: WallSection = WallSection()
    moderation: ModerationSettings = ModerationSettings()
    sources: list[SourceSettings] = Field(default_factory=list)
    panels: list[PanelSettings] = Field(default_factory=list)
    screens: list[ScreenSettings] = Field(default_factory=list)
    network: NetworkSettings = NetworkSettings()
    storage: StorageSettings = StorageSettings()
    web: WebSettings = WebSettings()
    schedule: ScheduleSettings | None = None
    fleet: FleetSettings | None = None  # absent: standalone, exactly as before (issue 16)
    signals: SignalsSettings = SignalsSettings()
    path: str = ""
    # The TOML data this config was validated from (the last good copy is written from it).
    _file_data: dict[str, Any] = PrivateAttr(default_factory=dict)

    def moderation_for(self, source: SourceSettings) -> ModerationSettings:
        """The `[moderation]` rules with the source's own overrides applied."""
        return merge_moderation(self.moderation, source.moderation)

    def source(self, name: str) -> SourceSettings | None:
        """The source called `name`, if configured."""
        return next((s for s in self.sources if s.name == name), None)

    def effective_panels(self) -> list[PanelSettings]:
        """Configured panels, or the three standard ones when none are configured."""
        if self.panels:
            return list(self.panels)
        return [PanelSettings(type="fans"), PanelSettings(type="mentions"), PanelSettings(type="internal")]

    def effective_screens(self) -> list[ScreenSettings]:
        """Configured screens, or one on the primary output showing every panel."""
        return list(self.screens) or [ScreenSettings()]


# --- loading ---------------------------------------------------------------------------------

_TOML_DATA: ContextVar[dict[str, Any]] = ContextVar("_TOML_DATA")
_ENVIRON: ContextVar[Mapping[str, str]] = ContextVar("_ENVIRON")


class _TomlData(PydanticBaseSettingsSource):
    """The already-parsed TOML file, lowest priority (the environment overrides it)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _TOML_DATA.get()


class _TableEnv(EnvSettingsSource):
    """`WALL_TABLE__KEY` overrides; list tables are not overridable this way (secrets have their own)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The environment given to load_config (tests pass their own), not always os.environ.
        return {k.lower(): v for k, v in _ENVIRON.get().items() if k.upper().startswith(ENV_PREFIX)}

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        return {k: v for k, v in data.items() if k not in _LIST_TABLES}


class _RawConfig(BaseSettings):
    """Merges the TOML file with the environment; validation happens in `WallConfig`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="allow")

    wall: dict[str, Any] = {}
    moderation: dict[str, Any] = {}
    network: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    web: dict[str, Any] = {}
    schedule: dict[str, Any] | None = None
    fleet: dict[str, Any] | None = None
    signals: dict[str, Any] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            _TableEnv(settings_cls, env_prefix=ENV_PREFIX, env_nested_delimiter="__"),
            _TomlData(settings_cls),
        )


def resolve_config_path(
    cli_path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> Path:
    """`--config PATH`, else `$WALL_CONFIG`, else /etc/lobby-wall/wall.toml."""
    env = os.environ if env is None else env
    if cli_path:
        return Path(cli_path)
    if env.get("WALL_CONFIG"):
        return Path(env["WALL_CONFIG"])
    return DEFAULT_CONFIG_PATH


def load_config(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None, *, need_secrets: bool = True
) -> WallConfig:
    """Read, merge and validate the config at `path`; raises ConfigProblems listing every problem.
    `need_secrets=False` (`wall status`, `wall purge`, typed in a shell without the wall's systemd
    credentials) accepts a config whose web token is missing."""
    file = Path(path)
    shown = str(file)
    try:
        raw_text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigProblems(
            [f"{shown}: file not found: create it from wall.example.toml or pass --config"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigProblems([f"{shown}: cannot read the file: {exc}"]) from None
    if not "".join(line.split("#", 1)[0] for line in raw_text.splitlines()).strip():
        # Saved empty by mistake: applying it would take every source and panel off the lobby.
        raise ConfigProblems(
            [f"{shown}: the file is empty: refused; restore it (wall.example.toml shows every key)"]
        )
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems([f"{shown}: TOML syntax error: {exc}: fix the syntax at that line"]) from None
    except RecursionError:
        raise ConfigProblems(
            [f"{shown}: TOML nested too deeply to read: refused; remove the nested arrays or tables"]
        ) from None
    return parse_config(data, shown, env, need_secrets=need_secrets)


def parse_config(
    data: dict[str, Any],
    shown: str = "wall.toml",
    env: Mapping[str, str] | None = None,
    *,
    need_secrets: bool = True,
) -> WallConfig:
    """Validate already-parsed TOML data (see `load_config`)."""
    env = os.environ if env is None else env
    problems: list[str] = []
    token = _TOML_DATA.set({k: v for k, v in data.items() if k not in _LIST_TABLES})
    env_token = _ENVIRON.set(env)
    try:
        merged = _RawConfig().model_dump()
    except ValidationError as exc:
        merged = {}
        problems += _describe(exc, shown, ())
    finally:
        _TOML_DATA.reset(token)
        _ENVIRON.reset(env_token)

    raw_sources = data.get("sources", [])
    body: dict[str, Any] = {k: v for k, v in merged.items() if k not in _LIST_TABLES}
    for table in ("panels", "screens"):
        if table in data:
            body[table] = data[table]
    body["path"] = shown
    if isinstance(body.get("web"), dict):
        body["web"] = _fill_credential(dict(body["web"]), "web", "token", env)
    if isinstance(body.get("network"), dict) and body["network"].get("proxy_username"):
        body["network"] = _fill_credential(dict(body["network"]), "network", "proxy_password", env)
    if isinstance(body.get("fleet"), dict):
        body["fleet"] = _fill_credential(dict(body["fleet"]), "fleet", "credential", env)
    if isinstance(body.get("signals"), dict):  # the alert targets (Apprise URLs): one a line
        body["signals"] = _fill_credential(dict(body["signals"]), "signals", "notify", env)
    config: WallConfig | None = None
    try:
        config = WallConfig.model_validate(body)
    except ValidationError as exc:
        problems += _describe(exc, shown, ())

    sources: list[SourceSettings] = []
    if not isinstance(raw_sources, list):
        problems.append(f"{shown}: sources: must be an array of tables: write each one as [[sources]]")
        raw_sources = []
    for index, raw in enumerate(raw_sources):
        where = f"sources[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{shown}: {where}: must be a table: write it as [[sources]]")
            continue
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in ADAPTERS:
            known = ", ".join(sorted(ADAPTERS))
            what = "is missing" if kind is None else f"{kind!r} is unknown"
            problems.append(f"{shown}: {where}.type: {what}: use one of {known}")
            continue
        model = ADAPTERS[kind].settings
        filled = _fill_secrets(dict(raw), model.secret_fields, env)
        try:
            sources.append(model.model_validate(filled))
        except ValidationError as exc:
            problems += _describe(exc, shown, (where,))

    problems += _cross_check(sources, config, shown, need_secrets)
    if config is not None:
        for index, source in enumerate(sources):
            try:
                merge_moderation(config.moderation, source.moderation)
            except ValidationError as exc:
                problems += _describe(exc, shown, (f"sources[{index}]", "moderation"))
    # Every secret read, even from a config refused, is masked in whatever this process prints.
    remember_secrets(secret_values(config, *sources))
    if problems or config is None:
        raise ConfigProblems(problems)
    result = config.model_copy(update={"sources": sources})
    result._file_data = data
    return result


def _cross_check(
    sources: list[SourceSettings], config: WallConfig | None, shown: str, need_secrets: bool = True
) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, source in enumerate(sources):
        if source.name in seen:
            problems.append(
                f"{shown}: sources[{index}].name: {source.name!r} is already used by "
                f"sources[{seen[source.name]}]:"
                " give each source its own name"
            )
        seen.setdefault(source.name, index)
    if config is None:
        return problems
    problems += fleet_problems(config.fleet, sources, shown, need_secrets)
    if need_secrets and config.web.enabled and config.web.token is None:
        problems.append(
            f"{shown}: web.token: is missing while web.enabled = true: set the environment variable "
            "WALL_WEB__TOKEN or the systemd credential web.token (a long random secret), "
            "or set web.enabled = false"
        )
    password = config.network.proxy_password
    if need_secrets and config.network.proxy_username and not (password and password.get_secret_value()):
        problems.append(
            f"{shown}: network.proxy_password: is missing while proxy_username is set: set the environment "
            "variable WALL_NETWORK__PROXY_PASSWORD or the systemd credential network.proxy_password"
        )
    for index, panel in enumerate(config.panels):
        for name in panel.sources:
            if name not in seen:
                problems.append(
                    f"{shown}: panels[{index}].sources: no source is named {name!r}: use one of "
                    f"{', '.join(seen) or '(no sources configured)'}"
                )
    panel_count = len(config.effective_panels())
    for index, screen in enumerate(config.screens):
        for ref in screen.panels:
            if not 0 <= ref < panel_count:
                problems.append(
                    f"{shown}: screens[{index}].panels: {ref} is not a panel index: "
                    f"use 0 to {panel_count - 1}"
                )
    screen_count = len(config.effective_screens())
    for index, playlist in enumerate(config.schedule.playlists if config.schedule else []):
        where = f"{shown}: schedule.playlists[{index}]"
        for ref in playlist.panels:
            if not 0 <= ref < panel_count:
                problems.append(f"{where}.panels: {ref} is not a panel index: use 0 to {panel_count - 1}")
        for ref in playlist.screens:
            if not 0 <= ref < screen_count:
                problems.append(f"{where}.screens: {ref} is not a screen index: use 0 to {screen_count - 1}")
    return problems


def _fill_secrets(raw: dict[str, Any], fields: Iterable[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Secrets absent from the file come from the environment, then from systemd credentials."""
    name = str(raw.get("name", ""))
    if not name:
        return raw
    env_name = "".join(c if c.isalnum() else "_" for c in name).upper()
    cred_dir = env.get("CREDENTIALS_DIRECTORY", "")
    for field in fields:
        if raw.get(field):
            continue
        value = env.get(f"{ENV_PREFIX}SOURCES__{env_name}__{field.upper()}")
        if not value and cred_dir:
            # kiosk.service loads a folder as credential "wall": its files become wall_<file>.
            for candidate in (f"{name}.{field}", f"wall_{name}.{field}"):
                path = Path(cred_dir) / candidate
                if path.is_file():
                    value = path.read_text(encoding="utf-8").strip()
                    break
        if value:
            raw[field] = value
    return raw


def _fill_credential(table: dict[str, Any], name: str, key: str, env: Mapping[str, str]) -> dict[str, Any]:
    """A secret of table `name` absent from the file and the environment, from the systemd
    credential `[wall_]<name>.<key>` (the page's `web.token`, the proxy's `network.proxy_password`)."""
    cred_dir = env.get("CREDENTIALS_DIRECTORY", "")
    if table.get(key) or not cred_dir:
        return table
    for candidate in (f"{name}.{key}", f"wall_{name}.{key}"):
        path = Path(cred_dir) / candidate
        if path.is_file():
            table[key] = path.read_text(encoding="utf-8").strip()
            break
    return table


def _describe(exc: ValidationError, shown: str, prefix: tuple[str, ...]) -> list[str]:
    """One line per pydantic error: file, dotted field path, what is wrong and how to fix it."""
    lines = []
    for error in exc.errors(include_url=False):
        where = _path(prefix + tuple(error["loc"]))
        lines.append(f"{shown}: {where}: {_explain(error)}")
    return lines


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith("sources["):
            out += part
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_SECONDS_FIELDS = {"interval", "duration", "timeout", "max_backoff"}


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


_SECRET_HINTS = ("token", "secret", "password", "key", "notify")


def _explain(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    field = str(error["loc"][-1]) if error["loc"] else ""
    if any(hint in field.lower() for hint in _SECRET_HINTS):
        value = "(the value, not shown)"  # a secret is never echoed, even a wrong one
    if kind == "missing":
        return f"required key is missing: add `{error['loc'][-1]} = ...`"
    if kind == "extra_forbidden":
        return "unknown key: remove it or check its spelling"
    unit = " seconds" if error["loc"] and error["loc"][-1] in _SECONDS_FIELDS else ""
    if kind == "greater_than_equal":
        limit = _num(ctx.get("ge"))
        return f"{value} is below the minimum of {limit}{unit}: use a value of at least {limit}"
    if kind == "greater_than":
        limit = _num(ctx.get("gt"))
        return f"{value} is too small{unit}: use a value above {limit}"
    if kind == "less_than_equal":
        limit = _num(ctx.get("le"))
        return f"{value} is above the maximum of {limit}{unit}: use a value of at most {limit}"
    if kind == "less_than":
        limit = _num(ctx.get("lt"))
        return f"{value} is too large{unit}: use a value below {limit}"
    if kind == "literal_error":
        return f"{value!r} is not allowed: use one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} has the wrong form: it must match {ctx.get('pattern')}"
    if kind in ("string_too_short", "too_short"):
        return "is empty: give it a value"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{value!r} has the wrong type: {error['msg'][0].lower()}{error['msg'][1:]}"
    return str(error["msg"])


# --- last good config ---------------------------------------------------------------------
# A typo in wall.toml must not blank the lobby after the next reboot: `wall run` keeps a copy of
# the last config it applied, and runs on it (saying so in the log and `wall status`) when the
# file no longer loads. The copy is JSON (the TOML data as read), mode 0600, without inline secrets
# (they come back from the environment or systemd credentials). It is kept in the default state
# directory, named after the config file's path, so it is found whatever the broken file says;
# a second copy goes to a configured `state_dir`.
LAST_GOOD_NAME = "last-good-config.toml"  # before issue 12: a plain copy of the file
_LAST_GOOD_PREFIX = "last-good-config-"


def last_good_path(config_path: str | os.PathLike[str], folder: Path) -> Path:
    """Where the last good copy of the config at `config_path` lives in `folder`."""
    key = hashlib.sha256(str(Path(config_path).resolve()).encode()).hexdigest()[:12]
    return folder / f"{_LAST_GOOD_PREFIX}{key}.json"


def emptying_problems(new: WallConfig, running: WallConfig) -> list[str]:
    """Why `new` must not replace `running`: it would take every source off the lobby at once
    (a half-written or wrong file, rarely what anyone wants; a restart applies it on purpose)."""
    before = [s.name for s in running.sources if s.enabled]
    if not before or any(s.enabled for s in new.sources):
        return []
    return [
        f"{new.path}: sources: no enabled source left (the running config has {', '.join(before)}): "
        "refused so the lobby does not go blank; to run without sources on purpose, restart the wall"
    ]


def remember_good_config(config: WallConfig, env: Mapping[str, str] | None = None) -> list[Path]:
    """Keep the data of an applied `config` as the last good copy (atomically, mode 0600, without
    inline secrets); returns where it was written (nothing when no folder could take it)."""
    if not config.path or not config._file_data:
        return []
    data, left_out = _without_secrets(config)
    text = json.dumps(
        {"config_path": str(Path(config.path).resolve()), "data": data},
        ensure_ascii=False,
        indent=1,
        default=_json_value,
    )
    folders = [state_dir("", env)]
    if config.storage.state_dir and Path(config.storage.state_dir) != folders[0]:
        folders.append(Path(config.storage.state_dir))
    written = []
    for folder in folders:
        target = last_good_path(config.path, folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o600)  # a tmp left by an older version may be wider
                out.write(text)
            tmp.replace(target)
        except OSError as exc:
            log.warning("last good config: cannot write %s: %s", target, exc.strerror or exc)
            continue
        written.append(target)
        legacy = folder / LAST_GOOD_NAME
        if legacy.is_file():  # the old plain copy may hold secrets, readable by all
            legacy.unlink(missing_ok=True)
    if written and left_out:
        log.warning(
            "last good config: %d inline secret(s) are not in the copy (%s): a fallback takes them from "
            "the environment or the systemd credentials; move them there",
            len(left_out),
            ", ".join(left_out),
        )
    return written


def _without_secrets(config: WallConfig) -> tuple[dict[str, Any], list[str]]:
    """The file's data without the values of SecretStr fields, and their dotted names."""
    data = dict(config._file_data)
    left_out: list[str] = []
    web = data.get("web")
    if isinstance(web, dict) and "token" in web:
        data["web"] = {k: v for k, v in web.items() if k != "token"}
        left_out.append("web.token")
    signals = data.get("signals")
    if isinstance(signals, dict) and "notify" in signals:
        data["signals"] = {k: v for k, v in signals.items() if k != "notify"}
        left_out.append("signals.notify")
    network = data.get("network")
    if isinstance(network, dict) and "proxy_password" in network:
        data["network"] = {k: v for k, v in network.items() if k != "proxy_password"}
        left_out.append("network.proxy_password")
    fleet = data.get("fleet")
    if isinstance(fleet, dict) and "credential" in fleet:
        data["fleet"] = {k: v for k, v in fleet.items() if k != "credential"}
        left_out.append("fleet.credential")
    sources = data.get("sources")
    if isinstance(sources, list):
        kept = []
        for index, raw in enumerate(sources):
            model = (
                ADAPTERS[raw["type"]].settings
                if isinstance(raw, dict) and raw.get("type") in ADAPTERS
                else None
            )
            secret = {
                name
                for name, field in (model.model_fields.items() if model else ())
                if "SecretStr" in str(field.annotation)
            }
            if isinstance(raw, dict) and secret & set(raw):
                left_out += [f"sources[{index}].{name}" for name in sorted(secret & set(raw))]
                raw = {k: v for k, v in raw.items() if k not in secret}
            kept.append(raw)
        data["sources"] = kept
    return data, left_out


def _json_value(value: object) -> str:
    if isinstance(value, date | time):  # TOML's dates and times (e.g. schedule holidays)
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def load_last_good(
    broken: Path | None = None, env: Mapping[str, str] | None = None, *, need_secrets: bool = True
) -> WallConfig | None:
    """The last good copy of the config at `broken`, if there is a usable one: in the default state
    directory first (found whatever the broken file says), then in the one the file names when it is
    still readable TOML, then an older plain copy."""
    folders = [state_dir("", env)]
    if broken is not None:
        try:
            named = tomllib.loads(broken.read_text(encoding="utf-8")).get("storage", {}).get("state_dir", "")
            if isinstance(named, str) and named:
                folders.append(Path(named))
        except (AttributeError, OSError, UnicodeDecodeError, RecursionError, tomllib.TOMLDecodeError):
            pass
    candidates = [last_good_path(broken, folder) for folder in folders] if broken is not None else []
    candidates += [folder / LAST_GOOD_NAME for folder in folders]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            if path.suffix == ".json":
                data = json.loads(path.read_text(encoding="utf-8"))["data"]
                return parse_config(data, str(path), env, need_secrets=need_secrets)
            return load_config(path, env, need_secrets=need_secrets)
        except (ConfigProblems, OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            log.warning("last good config: %s is not usable: %s", path, exc)
            continue
    return None
