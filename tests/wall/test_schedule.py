"""Opening hours, holidays and time-of-day playlists: the pure schedule, the driver on real windows,
and a real `wall run` that stays dark and quiet out of hours."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from pytestqt.qtbot import QtBot

from wall.engine.config import ConfigProblems, PanelSettings, ScreenSettings, WallSection, load_config
from wall.engine.schedule import MAX_WAIT, Schedule, ScheduleSettings
from wall.shell.runtime import ScheduleDriver
from widgets.hub import Hub
from widgets.window import WallWindow

ROOT = Path(__file__).resolve().parents[2]
PARIS = ZoneInfo("Europe/Paris")
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"
OFFICE = ScheduleSettings(
    monday=["07:30-12:00", "13:30-19:30"],
    tuesday=["07:30-19:30"],
    wednesday=["07:30-19:30"],
    thursday=["07:30-19:30"],
    friday=["07:30-18:00"],
    saturday=["09:00-24:00"],
    holidays=["2026-12-25"],
)


def paris(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A time in Paris in December 2026 (the 21st is a Monday), as aware UTC."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (paris(21, 7, 29), False),  # Monday before opening
        (paris(21, 7, 30), True),
        (paris(21, 12, 15), False),  # the lunch break
        (paris(21, 13, 30), True),
        (paris(21, 19, 30), False),  # closing time is closed
        (paris(25, 10), False),  # Christmas, a Friday: holiday
        (paris(26, 23, 59), True),  # Saturday until midnight
        (paris(27, 10), False),  # Sunday not listed: closed
    ],
)
def test_opening_hours_in_the_walls_time_zone(when: datetime, is_open: bool) -> None:
    assert Schedule.from_settings(OFFICE, PARIS).is_open(when) is is_open


def test_no_weekday_given_means_always_open_except_holidays() -> None:
    schedule = Schedule.from_settings(ScheduleSettings.model_validate({"holidays": ["2026-12-25"]}), PARIS)
    assert schedule.is_open(paris(27, 3))
    assert not schedule.is_open(paris(25, 12))
    assert Schedule.from_settings(None, PARIS).is_open(paris(25, 12))


def test_the_next_look_is_the_next_boundary_or_a_minute() -> None:
    schedule = Schedule.from_settings(OFFICE, PARIS)
    assert schedule.next_check(paris(21, 7, 29, 30)) == paris(21, 7, 30)
    assert schedule.next_check(paris(21, 10)) == paris(21, 10) + MAX_WAIT


def test_playlists_by_time_of_day_day_and_screen() -> None:
    settings = ScheduleSettings.model_validate(
        {
            **OFFICE.model_dump(),
            "playlists": [
                {"hours": "11:30-14:00", "days": ["monday", "tuesday"], "panels": [2], "screens": [1]},
                {"hours": "07:30-09:00", "panels": [0]},
            ],
        }
    )
    schedule = Schedule.from_settings(settings, PARIS)
    assert schedule.playlist(paris(21, 12), 1) == (2,)
    assert schedule.playlist(paris(21, 12), 0) is None  # another screen
    assert schedule.playlist(paris(23, 12), 1) is None  # Wednesday
    assert schedule.playlist(paris(23, 8), 0) == (0,)  # every day, every screen


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[schedule]\nmonday = ["7h30-19h"]\n', "schedule.monday: '7h30-19h' is not a time range"),
        ('[schedule]\nmonday = ["20:00-02:00"]\n', "ends before it starts: a range must end the same day"),
        (
            '[schedule]\nholidays = ["25/12/2026"]\n',
            "schedule.holidays: '25/12/2026' is not a date: write it like",
        ),
        ('[schedule]\noutside_hours = "off"\n', "schedule.outside_hours: 'off' is not allowed"),
        ('[[schedule.playlists]]\nhours = "11:00-14:00"\npanels = [7]\n', "schedule.playlists[0].panels: 7"),
    ],
)
def test_schedule_mistakes_name_the_field_and_the_fix(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "wall.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigProblems) as raised:
        load_config(path, env={})
    assert any(line.startswith(f"{path}: ") and message in line for line in raised.value.lines), (
        raised.value.lines
    )


# --- the driver, on real windows ---------------------------------------------------------------


def test_driver_darkens_the_screens_out_of_hours_and_switches_playlists(qtbot: QtBot) -> None:
    hub = Hub()
    panels = [PanelSettings(type="fans"), PanelSettings(type="mentions"), PanelSettings(type="internal")]
    windows = [WallWindow(hub, WallSection(), panels) for _ in range(2)]
    for window in windows:
        qtbot.addWidget(window)
    screens = [ScreenSettings(panels=[0, 1]), ScreenSettings()]
    settings = ScheduleSettings.model_validate(
        {
            "monday": ["07:30-19:30"],
            "playlists": [{"hours": "12:00-14:00", "panels": [2], "screens": [0]}],
        }
    )
    now = [paris(21, 7)]
    calls: list[str] = []
    driver = ScheduleDriver(
        Schedule.from_settings(settings, PARIS),
        lambda: windows,
        lambda: screens,
        on_close=lambda: calls.append("close"),
        on_open=lambda: calls.append("open"),
        clock=lambda: now[0],
    )
    driver.apply()
    assert calls == ["close"] and all(w.sleeping() for w in windows)

    now[0] = paris(21, 8)
    driver.apply()
    assert calls == ["close", "open"] and not any(w.sleeping() for w in windows)
    assert [w.rotator.playlist() for w in windows] == [[0, 1], [0, 1, 2]]

    now[0] = paris(21, 12, 30)  # lunch: the first screen shows the internal news only
    driver.apply()
    assert [w.rotator.playlist() for w in windows] == [[2], [0, 1, 2]]
    assert windows[0].rotator.current_panel() is windows[0].rotator.panels()[2]

    now[0] = paris(21, 20)
    driver.apply()
    assert calls == ["close", "open", "close"] and all(w.sleeping() for w in windows)
    driver.stop()


def test_starting_within_opening_hours_switches_nothing(qtbot: QtBot) -> None:
    hub = Hub()
    window = WallWindow(hub, WallSection(), [PanelSettings(type="fans")])
    qtbot.addWidget(window)
    calls: list[str] = []
    driver = ScheduleDriver(
        Schedule.from_settings(OFFICE, PARIS),
        lambda: [window],
        lambda: [ScreenSettings()],
        on_close=lambda: calls.append("close"),
        on_open=lambda: calls.append("open"),
        clock=lambda: paris(22, 10),
    )
    driver.apply()
    assert calls == [] and not window.sleeping()
    driver.stop()


# --- a real wall out of hours -------------------------------------------------------------------


def test_out_of_hours_the_wall_is_black_polls_nothing_and_turns_the_display_off(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data("<rss/>", content_type="application/rss+xml")
    marker = tmp_path / "display-off"
    today = datetime.now(PARIS).strftime("%A").lower()
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f"[schedule]\n{today} = []\n"  # closed all day today (and every other day: none listed)
        f'display_off = ["touch", "{marker}"]\n'
        f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "QT_QPA_PLATFORM": SCREEN}
    wall = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--exit-after", "7", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        status = subprocess.run(
            [sys.executable, "-m", "wall.cli", "status", "--config", str(config)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        _, stderr = wall.communicate(timeout=60)
    finally:
        if wall.poll() is None:
            wall.kill()
    assert wall.returncode == 0, stderr
    assert marker.exists(), stderr
    assert "closed (outside opening hours)" in status.stdout
    assert "on screen: black (closed); memory " in status.stdout and "wall running: pid" in status.stdout
    assert " up 0 h 0" in status.stdout
    assert "closed (outside opening hours): screens black, polling paused" in stderr
    assert [request.path for request, _ in httpserver.log] == []  # not one poll


def test_out_of_hours_clock_instead_of_black(qtbot: QtBot) -> None:
    hub = Hub()
    window = WallWindow(hub, WallSection(), [PanelSettings(type="mentions")])
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    now = [paris(21, 21)]
    driver = ScheduleDriver(
        Schedule.from_settings(OFFICE, PARIS),
        lambda: [window],
        lambda: [ScreenSettings()],
        on_close=lambda: None,
        on_open=lambda: None,
        clock=lambda: now[0],
    )
    driver.clock_when_closed = True
    driver.apply()
    assert window.sleeping() and window.night_clock_shown()
    assert not window.header.isVisibleTo(window)
    now[0] = paris(22, 8)
    driver.apply()
    assert not window.sleeping() and not window.night_clock_shown()
    assert window.header.isVisibleTo(window)
    driver.stop()
