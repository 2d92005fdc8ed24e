"""Config loading as comms would meet it: the example works, mistakes are named with their fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from wall.engine.config import ConfigProblems, load_config, resolve_config_path

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, env=env or {})
    return caught.value.lines


def test_shipped_example_and_demo_configs_are_valid() -> None:
    example = load_config(ROOT / "wall.example.toml", env={})
    assert {s.type for s in example.sources} >= {"rss", "mastodon"}
    demo = load_config(ROOT / "assets" / "demo.toml", env={})
    assert [p.type for p in demo.effective_panels()] == [
        "fans", "mentions", "internal", "trends", "announcement", "clock",
    ]  # fmt: skip


def test_each_problem_names_file_field_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[wall]
language = "de"
[[sources]]
name = "alerts"
type = "rss"
url = "https://example.org/feed"
[[sources]]
name = "masto"
type = "demo"
interval = 0.5
[[sources]]
name = "x"
type = "twitter"
[[panels]]
type = "fans"
duration = 1
""",
    )
    lines = problems_of(path)
    assert f"{path}: wall.language: 'de' is not allowed: use one of 'fr' or 'en'" in lines
    assert any(
        line.startswith(f"{path}: sources[1].interval: 0.5 is below the minimum of 1 seconds")
        for line in lines
    )
    assert any(
        line.startswith(f"{path}: sources[2].type: 'twitter' is unknown: use one of") for line in lines
    )
    assert any(line.startswith(f"{path}: panels[0].duration: 1 is below the minimum of 3") for line in lines)
    assert len(lines) == 4


def test_interval_below_minimum_is_reported_with_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nname = "f"\ntype = "rss"\nurl = "https://e.org/f"\ninterval = 5\n')
    assert problems_of(path) == [
        f"{path}: sources[0].interval: 5 is below the minimum of 15 seconds: use a value of at least 15"
    ]


def test_typo_in_a_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nname = "f"\ntype = "rss"\nurl = "https://e.org/f"\nintervall = 60\n')
    assert problems_of(path) == [
        f"{path}: sources[0].intervall: unknown key: remove it or check its spelling"
    ]


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[wall]\nlanguage = "fr"\nname = \n')
    (line,) = problems_of(path)
    assert line.startswith(f"{path}: TOML syntax error") and "line 3" in line


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path / "nope.toml")
    assert "file not found" in line and "wall.example.toml" in line


def test_duplicate_names_and_unknown_panel_sources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[sources]]\nname = "d"\ntype = "demo"\n[[sources]]\nname = "d"\ntype = "demo"\n'
        '[[panels]]\ntype = "mentions"\nsources = ["nope"]\n',
    )
    lines = problems_of(path)
    assert any("sources[1].name: 'd' is already used by sources[0]" in line for line in lines)
    assert any("panels[0].sources: no source is named 'nope'" in line for line in lines)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[wall]\nlanguage = "fr"\n[wall.branding]\nname = "ACME"\n')
    config = load_config(path, env={"WALL_WALL__LANGUAGE": "en"})
    assert config.wall.language == "en"
    assert config.wall.branding.name == "ACME"  # the rest of the table is kept


def test_environment_value_is_validated_too(tmp_path: Path) -> None:
    path = write(tmp_path, "[wall]\n")
    (line,) = problems_of(path, env={"WALL_WALL__LANGUAGE": "klingon"})
    assert "wall.language: 'klingon' is not allowed" in line


def test_secret_from_environment_or_credentials_never_printed(tmp_path: Path) -> None:
    text = (
        '[[sources]]\nname = "masto-brand"\ntype = "mastodon"\n'
        'base_url = "https://m.example"\nhashtags = ["x"]\n'
    )
    path = write(tmp_path, text)
    config = load_config(path, env={"WALL_SOURCES__MASTO_BRAND__TOKEN": "s3cr3t-token"})
    source = config.sources[0]
    assert source.token.get_secret_value() == "s3cr3t-token"  # type: ignore[attr-defined]
    assert "s3cr3t-token" not in repr(config) and "s3cr3t-token" not in str(config.model_dump())

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "masto-brand.token").write_text("from-systemd\n")
    config = load_config(path, env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert config.sources[0].token.get_secret_value() == "from-systemd"  # type: ignore[attr-defined]


def test_config_path_resolution() -> None:
    assert str(resolve_config_path("x.toml", env={"WALL_CONFIG": "y.toml"})) == "x.toml"
    assert str(resolve_config_path(None, env={"WALL_CONFIG": "y.toml"})) == "y.toml"
    assert str(resolve_config_path(None, env={})) == "/etc/lobby-wall/wall.toml"


def test_new_panel_types_and_their_keys_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[panels]]
type = "trends"
limit = 6
exclude = ["Maison Lumière"]
[[panels]]
type = "announcement"
title = "Rejoignez le réseau interne"
text = "Inscrivez-vous avec votre badge"
image = "asset:demo/images/equipe.png"
qr = "https://intranet.example/rse"
[[panels]]
type = "clock"
""",
    )
    trends, announcement, clock = load_config(path, env={}).panels
    assert trends.exclude == ["Maison Lumière"] and trends.limit == 6
    assert (announcement.text, announcement.qr) == (
        "Inscrivez-vous avec votre badge",
        "https://intranet.example/rse",
    )
    assert clock.type == "clock"


def test_panel_key_mistakes_name_the_field_and_the_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[panels]]
type = "announcement"
title = "Sans message"
[[panels]]
type = "mentions"
qr = "https://intranet.example/rse"
exclude = ["Maison Lumière"]
[[panels]]
type = "announcement"
text = "Bonjour"
qr = "intranet.example/rse"
image = "https://cdn.example/photo.png"
[[panels]]
type = "trends"
limit = 10
[[panels]]
type = "announcement"
text = "Bonjour"
image = "asset:../../etc/passwd"
qr = "https://example.org/"
""",
    )
    lines = problems_of(path)
    where = f"{path}: panels"
    assert any(
        line.startswith(f"{where}[0].text: is missing: an announcement needs its message") for line in lines
    )
    assert (
        f'{where}[1].qr: is only read by announcement panels: remove it, or set type = "announcement"'
        in lines
    )
    assert f'{where}[1].exclude: is only read by trends panels: remove it, or set type = "trends"' in lines
    assert any(
        line.startswith(
            f"{where}[2].qr: 'intranet.example/rse' is not a web address: write the whole address"
        )
        for line in lines
    )
    assert any(
        line.startswith(f"{where}[2].image: 'https://cdn.example/photo.png' is a web address")
        for line in lines
    )
    assert f"{where}[3].limit: 10 is above the maximum of 6 for a trends panel" in " ".join(lines)
    assert any(
        line.startswith(f"{where}[4].image: 'asset:../../etc/passwd' points outside") for line in lines
    )
    assert not any(line.startswith(f"{where}[4].qr") for line in lines)
    assert len(lines) == 7


def test_a_qr_address_too_long_to_scan_is_refused(tmp_path: Path) -> None:
    long_url = "https://intranet.example/" + "a" * 200
    path = write(tmp_path, f'[[panels]]\ntype = "announcement"\ntext = "Bonjour"\nqr = "{long_url}"\n')
    (line,) = problems_of(path)
    assert line.startswith(f"{path}: panels[0].qr: is 225 characters long")
    assert line.endswith("use a short link of at most 200 characters")


# --- [wall.branding] font and background (issue 7) --------------------------------------------
SYSTEM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")


def branding(tmp_path: Path, lines: str) -> Path:
    return write(tmp_path, f'[wall.branding]\nname = "ACME"\n{lines}\n')


def test_branding_font_and_background_are_read(tmp_path: Path) -> None:
    font = tmp_path / "brand.ttf"
    font.write_bytes(SYSTEM_FONT.read_bytes())
    picture = tmp_path / "hall.png"
    Image.new("RGB", (40, 30), "#336699").save(picture)
    config = load_config(
        branding(tmp_path, f'font = "{font}"\nbackground = ["#102a43", "{picture}"]'), env={}
    )
    assert config.wall.branding.font == str(font)
    assert config.wall.branding.background_colour == "#102a43"
    assert config.wall.branding.background_image == str(picture)
    only_colour = load_config(branding(tmp_path, 'font = "DejaVu Sans"\nbackground = "#f0e6d2"'), env={})
    assert (only_colour.wall.branding.background_colour, only_colour.wall.branding.background_image) == (
        "#f0e6d2",
        "",
    )
    default = load_config(write(tmp_path, "[wall]\n"), env={})
    assert (default.wall.branding.font, default.wall.branding.background) == ("", [])


def test_a_font_family_not_installed_lists_the_close_ones(tmp_path: Path) -> None:
    [line] = problems_of(branding(tmp_path, 'font = "Noto Sanz"'))
    assert line.startswith(f"{tmp_path / 'wall.toml'}: wall.branding.font: ")
    assert "'Noto Sanz' is not installed" in line
    assert "'Noto Sans'" in line  # the close match comes with the message
    assert "give the path of the file" in line


def test_font_and_picture_file_mistakes_name_the_field_and_the_fix(tmp_path: Path) -> None:
    not_a_font = tmp_path / "brand.ttf"
    not_a_font.write_text("not a font")
    broken = tmp_path / "hall.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cases = {
        f'font = "{tmp_path / "missing.otf"}"': ("wall.branding.font", "not found", ".ttf or .otf"),
        f'font = "{not_a_font}"': ("wall.branding.font", "cannot be read as a font", ".ttf or .otf"),
        f'background = "{tmp_path / "missing.png"}"': (
            "wall.branding.background",
            "not found",
            "PNG or JPEG",
        ),
        f'background = "{broken}"': ("wall.branding.background", "not readable", "PNG or JPEG"),
        'background = "#12345"': ("wall.branding.background", "not a colour", "#rrggbb"),
        'background = ["#102a43", "#000000"]': ("wall.branding.background", "at most one colour", "e.g."),
        'background = "https://example.org/hall.jpg"': ("wall.branding.background", "web address", "path"),
    }
    for lines, (field, what, fix) in cases.items():
        [line] = problems_of(branding(tmp_path, lines))
        assert f": {field}: " in line and what in line and fix in line, line


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "# only comments\n\n   \n")
    assert problems_of(path) == [
        f"{path}: the file is empty: refused; restore it (wall.example.toml shows every key)"
    ]


def test_deeply_nested_toml_is_one_line_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n")
    assert problems_of(path) == [
        f"{path}: TOML nested too deeply to read: refused; remove the nested arrays or tables"
    ]


def test_the_web_token_is_needed_to_run_but_not_to_read_the_status(tmp_path: Path) -> None:
    path = write(tmp_path, "[web]\nenabled = true\n")
    assert problems_of(path)[0].startswith(f"{path}: web.token: is missing while web.enabled = true")
    assert load_config(path, env={}, need_secrets=False).web.enabled
