"""`[signals]` in the config: the notify URLs are secrets (environment, systemd credential), never
echoed in an error, never copied into the last good config; wrong values name the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wall.engine.config import ConfigProblems, parse_config, remember_good_config

SECRET_URL = "mmost://chat.corp.example/abcd3fgh1jk1mn0pqrstuvwxyz"


def test_notify_urls_come_from_a_systemd_credential_one_a_line(tmp_path: Path) -> None:
    (tmp_path / "wall_signals.notify").write_text(f"{SECRET_URL}\nmailto://u:p4ss@smtp.corp.example\n")
    config = parse_config(
        {"signals": {"enabled": True}}, "wall.toml", {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    )
    assert [url.get_secret_value() for url in config.signals.notify] == [
        SECRET_URL,
        "mailto://u:p4ss@smtp.corp.example",
    ]


def test_notify_urls_come_from_the_environment_as_a_json_list() -> None:
    env = {"WALL_SIGNALS__NOTIFY": json.dumps([SECRET_URL])}
    config = parse_config({"signals": {}}, "wall.toml", env)
    assert [url.get_secret_value() for url in config.signals.notify] == [SECRET_URL]


def test_a_wrong_entry_names_the_field_and_the_fix_never_the_value() -> None:
    with pytest.raises(ConfigProblems) as problems:
        parse_config(
            {
                "signals": {
                    "notify": ["chat.corp.example/abcd3fgh1jk1"],
                    "watch_words": ["!!"],
                    "min_count": 0,
                }
            },
            "wall.toml",
            {},
        )
    lines = problems.value.lines
    assert "wall.toml: signals.min_count: 0 is below the minimum of 1: use a value of at least 1" in lines
    assert "wall.toml: signals.watch_words: entry 0 ('!!') has no letters or digits: remove it" in lines
    assert any(line.startswith("wall.toml: signals.notify: entry 0 is not an Apprise URL") for line in lines)
    assert not any("abcd3fgh1jk1" in line for line in lines)


def test_the_last_good_copy_leaves_the_notify_urls_out(tmp_path: Path) -> None:
    config = parse_config(
        {"storage": {"state_dir": str(tmp_path / "state")}, "signals": {"notify": [SECRET_URL]}},
        str(tmp_path / "wall.toml"),
        {},
    )
    config._file_data = {"signals": {"notify": [SECRET_URL], "enabled": True}}
    written = remember_good_config(config, {"STATE_DIRECTORY": str(tmp_path / "default")})
    assert written
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert SECRET_URL not in text and '"enabled": true' in text
