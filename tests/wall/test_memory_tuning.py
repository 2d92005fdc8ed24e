"""A wall runs for months on a small PC: what `wall run` does to stay small, checked on real processes.

- two malloc heaps shared by all threads (glibc gives each new thread a heap of its own, up to 8 per
  core, and freed memory stays in the heap of the thread that used it);
- the source lines PySide6 made `inspect` keep for every imported module are dropped (15-20 MB),
  while a traceback in the journal still shows its source lines;
- `memory_breakdown()` (printed by `make bench`) accounts for the resident memory.

Each check runs in a child process: heaps and imports are per process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        env={**environment, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


THREADS = r"""
import json, sys, threading
from wall.shell.memory import limit_malloc_arenas, memory_breakdown

if sys.argv[1] == "limited":
    limit_malloc_arenas()
barrier = threading.Barrier(7)
kept = []

def work():
    kept.append(bytearray(200_000))  # from the C heap: the thread gets a heap here
    barrier.wait()  # all six threads alive at once
    barrier.wait()

threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads:
    thread.start()
barrier.wait()
seen = memory_breakdown()
barrier.wait()
for thread in threads:
    thread.join()
print(json.dumps(seen))
"""


def test_threads_share_two_heaps_once_limited() -> None:
    default = _child(THREADS, "default")
    limited = _child(THREADS, "limited")
    assert default["threads"] == limited["threads"] == 7
    assert default["malloc_arenas"] > 2  # one heap per thread, the glibc default
    assert limited["malloc_arenas"] <= 2


def test_an_operators_malloc_arena_max_is_left_alone() -> None:
    seen = _child(THREADS, "limited", env={"MALLOC_ARENA_MAX": "4"})
    assert 2 < seen["malloc_arenas"] <= 4


SOURCES = r"""
import json, linecache, traceback
import PySide6.QtCore  # from here on, PySide6 reads the source of each module imported
import wall.engine.trends, wall.engine.schedule
from wall.shell.memory import forget_import_sources

kept = sum(len(entry[2]) for entry in linecache.cache.values() if len(entry) > 2)
reported = forget_import_sources()
left = sum(len(entry[2]) for entry in linecache.cache.values() if len(entry) > 2)
try:
    wall.engine.schedule.Schedule.from_settings("not settings", None)
except Exception:
    trace = traceback.format_exc()
print(json.dumps({"kept": kept, "reported": reported, "left": left, "trace": trace}))
"""


def test_source_lines_kept_after_imports_are_dropped_and_tracebacks_still_show_source() -> None:
    seen = _child(SOURCES)
    assert seen["kept"] == seen["reported"]
    assert seen["kept"] > 1000  # wall/engine/trends.py and schedule.py alone are hundreds of lines
    assert seen["left"] == 0
    trace = seen["trace"]
    # the journal still gets the source line of the failing frame, read again from the file
    assert "wall/engine/schedule.py" in trace
    assert "settings.hours_of(day)" in trace


LATER_IMPORTS = r"""
import json, linecache, sys
import PySide6.QtCore
from wall.shell.memory import prepare_for_long_run

prepare_for_long_run()


def later():  # import statements that run while the wall runs: loaded modules, and new ones
    import json, sqlite3, fractions
    from wall.engine.trends import Term
    from widgets.marks import mark_name
    return json, sqlite3, fractions, Term, mark_name


later()
later()
from shibokensupport.feature import pyside_feature_dict

lines = sum(len(entry[2]) for entry in linecache.cache.values() if len(entry) > 2)
print(json.dumps({"lines": lines, "features": {m: pyside_feature_dict.get(m) for m in sys.argv[1:]}}))
"""


def test_imports_while_running_leave_no_source_lines_and_pyside_still_knows_its_users() -> None:
    seen = _child(LATER_IMPORTS, "widgets.marks", "wall.engine.trends", "fractions")
    assert seen["lines"] == 0
    # PySide6's answer is unchanged: a module whose source names PySide6 uses it, others do not.
    assert seen["features"] == {"widgets.marks": 0, "wall.engine.trends": -1, "fractions": -1}


RUNTIME = r"""
import json, sys
from PySide6.QtCore import QTimer
from wall.engine.config import load_config
from wall.shell.memory import memory_breakdown
from wall.shell.runtime import WallRuntime
from sources.registry import _WHERE

runtime = WallRuntime(load_config(sys.argv[1], env={}), exit_after=4)
seen = {}

def sample():
    seen.update(memory_breakdown(), packages=sorted({name.split(".")[0] for name in sys.modules}))
    seen.update(adapters=sorted(set(sys.modules) & {m for m, _, _ in _WHERE.values()}))
    seen.update(modules=sorted(sys.modules))

QTimer.singleShot(3000, sample)
runtime.run()
print(json.dumps(seen))
"""


IMPORTS = r"""
import json
import wall.cli, wall.shell.runtime  # what the `wall` console script imports for `wall run`
from wall.shell.memory import memory_breakdown

print(json.dumps(memory_breakdown()))
"""


def test_the_running_wall_shares_two_heaps_and_keeps_no_source_lines(tmp_path: Path) -> None:
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[[sources]]\nname = "demo"\ntype = "demo"\n',
        encoding="utf-8",
    )
    seen = _child(RUNTIME, str(config))
    plain = _child(IMPORTS)
    assert seen["threads"] >= 3  # the GUI thread, the store's thread, the picture decoder...
    assert seen["malloc_arenas"] <= 2
    # Importing what `wall run` imports leaves ~60,000 lines there; the running wall keeps only
    # those of the few modules it imports after start-up.
    assert plain["linecache_lines"] > 20_000
    assert seen["linecache_lines"] < plain["linecache_lines"] / 4
    # The parts add up: resident = the process's own memory + files mapped from disk.
    assert abs(seen["rss_mb"] - seen["anonymous_mb"] - seen["file_mb"]) <= 1
    assert seen["python_arenas_mb"] > 10
    assert seen["c_heap_in_use_mb"] > 10
    # httpx's command-line tool (click, rich, pygments: installed here by the lint tools, as on a
    # kiosk installed by `make demo`) is never loaded: ~7 MB and 83 modules for nothing; nor, on a
    # wall without alert targets or a fleet, Apprise or the NATS client; nor, without an RSS
    # source, feedparser (36 modules, ~0.9 MB); nor Babel, whose locale data cost ~8 MB for a few
    # formats that Qt's QLocale and wall.core.i18n now write (only the moderation page uses it);
    # nor, without an announcement that carries an address, segno and the XML writer it brings;
    # nor, without `[signals]`, the weak signals' detector and vaderSentiment (~1.5 MB).
    unused = {"click", "rich", "pygments", "apprise", "nats", "feedparser", "babel", "segno", "xml"}
    unused |= {"vaderSentiment"}
    assert unused.isdisjoint(seen["packages"]), seen["packages"]
    # Pillow's FreeType (a second one beside Qt's, ~1.5 MB) only checks a font file in [branding].
    assert {"wall.engine.signals.watch", "wall.engine.signals.detector", "PIL.ImageFont"}.isdisjoint(
        seen["modules"]
    )
    # Of the sixteen networks' adapters, only the configured one is loaded (~6.7 MB for all).
    assert seen["adapters"] == ["sources.demo"]


PICTURES = r"""
import json, sys
from PySide6.QtGui import QImage
from wall.shell.memory import keep_big_buffers_out_of_the_heap, limit_malloc_arenas, memory_breakdown

limit_malloc_arenas()
if sys.argv[1] == "tuned":
    keep_big_buffers_out_of_the_heap()
for _ in range(3):  # three crossfades' worth: two full-screen pictures made, painted, dropped
    pictures = [QImage(1920, 1080, QImage.Format.Format_ARGB32_Premultiplied) for _ in range(2)]
    for picture in pictures:
        picture.fill(0xFF336699)
    del pictures
print(json.dumps(memory_breakdown()))
"""


def test_full_screen_pictures_go_back_to_the_system_when_dropped() -> None:
    # glibc's default: the first picture freed raises its threshold, the next ones come from the
    # heap and 16 MB of them stay in the process after they are dropped (until a malloc_trim).
    default = _child(PICTURES, "default")
    tuned = _child(PICTURES, "tuned")
    assert default["c_heap_free_mb"] > 7
    assert tuned["c_heap_free_mb"] < 2
    assert tuned["anonymous_mb"] < default["anonymous_mb"] - 7


RUNNING = r"""
import asyncio, json, sys, threading
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from wall.engine.config import load_config
from wall.shell.memory import memory_breakdown
from wall.shell.runtime import WallRuntime

runtime = WallRuntime(load_config(sys.argv[1], env={}), exit_after=5)
seen = {}


def job() -> str:
    threading.Event().wait(0.05)  # a decode, a file write: long enough for twenty to overlap
    return threading.current_thread().name


async def burst() -> None:  # twenty pictures to prepare at once, as a page of posts brings
    names = await asyncio.gather(*(asyncio.to_thread(job) for _ in range(20)))
    seen["worker_threads"] = len(set(names))


def turn() -> None:  # a turn inside a panel: two full-screen pictures, made and dropped
    for _ in range(2):
        pictures = [QImage(1920, 1080, QImage.Format.Format_ARGB32_Premultiplied) for _ in range(2)]
        for picture in pictures:
            picture.fill(0xFF336699)
        del pictures
    seen.update(memory_breakdown())


QTimer.singleShot(2500, lambda: asyncio.ensure_future(burst()))
QTimer.singleShot(4000, turn)
runtime.run()
print(json.dumps(seen))
"""


def test_the_running_wall_gives_pictures_back_and_keeps_few_worker_threads(tmp_path: Path) -> None:
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[[sources]]\nname = "demo"\ntype = "demo"\n',
        encoding="utf-8",
    )
    seen = _child(RUNNING, str(config))
    assert seen["worker_threads"] <= 4  # qasync's own pool ran them on 10 threads, kept for good
    assert seen["c_heap_free_mb"] < 4  # the dropped pictures are not kept in the heap


def test_the_install_leaves_a_kiosk_that_cannot_write_its_folder_nothing_to_compile(
    tmp_path: Path,
) -> None:
    """The kiosk's user cannot write under /opt/lobby-wall: what the install (`make demo`, `make
    run`) compiled is all it has, or each start compiles the wall's modules from source again."""
    app = tmp_path / "lobby-wall"
    for part in ("wall", "widgets", "sources"):
        shutil.copytree(ROOT / part, app / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", app / "pyproject.toml")  # older than the venv: no reinstall
    make = ["make", "-s", "-f", str(ROOT / "Makefile"), "bytecode", f"VENV={ROOT / '.venv'}"]
    subprocess.run(make, cwd=app, check=True, timeout=120, capture_output=True)
    started = subprocess.run(
        [sys.executable, "-v", "-c", "import wall.cli, wall.shell.runtime"],
        cwd=app,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(app)},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert started.returncode == 0, started.stderr
    ours = [
        line
        for line in started.stderr.splitlines()
        if line.startswith("# code object from") and str(app) in line
    ]
    from_source = [line for line in ours if not line.rstrip("'").endswith(".pyc")]
    assert len(ours) > 50  # the wall's own modules were imported from the copy
    assert from_source == []


# A process that, like a wall, holds two pictures of the screen for a moment now and then (a
# transition) and, like a wall, logs where its memory is on SIGUSR1: here, whether it held them.
TRANSITIONS = r"""
import json, signal, sys, time

log = open(sys.argv[1], "a", buffering=1)
held = []

def report(*_):
    log.write("INFO wall.shell.runtime: memory " + json.dumps({"holding_pictures": bool(held)}) + "\n")

signal.signal(signal.SIGUSR1, report)
print("ready", flush=True)
while True:
    time.sleep(0.6)
    held.append(b"\x01" * (32 * 2**20))  # touched, as two 1920x1080 pictures are
    time.sleep(0.6)
    held.clear()
"""


def test_bench_pss_reads_where_the_memory_is_between_transitions(tmp_path: Path) -> None:
    """`bench pss` read its breakdown whenever the run ended, inside a transition when it fell
    there: 15 MB of pictures then showed as C heap. It now waits for a moment at rest."""
    from bench.pss import at_rest, rollup

    log = tmp_path / "wall.log"
    log.touch()
    child = subprocess.Popen([sys.executable, "-c", TRANSITIONS, str(log)], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        resting = rollup(child.pid)["pss_anon_mb"]  # before the first transition
        readings = [at_rest(child, log, resting) for _ in range(3)]
    finally:
        child.kill()
        child.wait()
    assert [reading["breakdown"] for reading in readings] == [{"holding_pictures": False}] * 3
    threads = [reading["threads"] for reading in readings]
    assert all(isinstance(names, dict) and sum(names.values()) == 1 for names in threads)


DECODES = r"""
import io, json, os
from pathlib import Path
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PIL import Image
from PySide6.QtGui import QGuiApplication
from widgets.pixmaps import decode_image

app = QGuiApplication([])
shown = {}
for name in ("PNG", "JPEG"):  # what the picture loader hands the screen (wall.engine.images)
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (51, 102, 204)).save(out, name)
    picture = decode_image(out.getvalue())
    shown[name] = [picture.width(), picture.height(), picture.pixelColor(10, 10).name()]
maps = Path("/proc/self/maps").read_text()
plugins = sorted({line.rsplit("/", 1)[1] for line in maps.splitlines() if "/imageformats/" in line})
print(json.dumps({"shown": shown, "plugins": plugins}))
"""


def test_pictures_are_decoded_without_loading_image_plugins_the_wall_never_uses() -> None:
    seen = _child(DECODES)
    # Both kinds of pictures are shown as they are...
    assert seen["shown"]["PNG"] == [320, 200, "#3366cc"]
    assert seen["shown"]["JPEG"][:2] == [320, 200]
    # ...and only the JPEG plug-in was loaded: asked to guess, Qt loaded every plug-in (SVG, TIFF,
    # WebP, ICNS, TGA...) to ask each whether it could read the bytes, and they stayed mapped.
    assert seen["plugins"] == ["libqjpeg.so"]


# The test process maps the same Qt libraries as its children, and a page another process maps is
# never taken back (the kernel's rule, as on a kiosk for the C library the X server shares): each
# child maps a file of its own, read-only, as Qt maps a font, and reads all of it.
MAP_A_FILE = r"""
import mmap, os, tempfile
folder = tempfile.TemporaryDirectory(dir=os.getcwd(), prefix=".test-pages-")  # on disk, not tmpfs
path = os.path.join(folder.name, "font.ttf")
with open(path, "wb") as out:
    out.write(os.urandom(24 * 2**20))
    out.flush()
    os.fsync(out.fileno())  # clean pages: the kernel can drop them at once
handle = open(path, "rb")
mapped = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ)
touched = sum(mapped[offset] for offset in range(0, len(mapped), 4096))
"""


HAND_BACK = (
    MAP_A_FILE
    + r"""
import json, time
from datetime import datetime, timedelta, timezone
from wall.shell.memory import PAGE, FilePagesHandBack, _resident_pages, _status_mb

pages = FilePagesHandBack()
start = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def wait():  # for the hand-backs started so far to be done
    started = sum(seen.get(key) is True for key in ("first", "a_day_later", "clock_set_back"))
    deadline = time.monotonic() + 20
    while pages.times < started and time.monotonic() < deadline:
        time.sleep(0.05)


def read(megabytes):  # what a panel's painting reads of a library
    return sum(mapped[offset] for offset in range(0, megabytes * 2**20, PAGE))


def file_mb():
    return _status_mb()["RssFile"]


seen = {"before": file_mb()}
seen["first_turn"] = pages.after_turn(start)  # the start's work is still under way...
seen["first"] = pages.after_turn(start + timedelta(minutes=3))  # ...a turn 2 minutes on: given back
wait()
seen["after_first"] = file_mb()
read(8)  # the wall uses the first 8 MB of the file again: its working set
seen["same_day"] = pages.after_turn(start + timedelta(hours=1))  # not again the same day, but...
deadline = time.monotonic() + 20
while pages.working_set == {} and time.monotonic() < deadline:  # ...what is in use is learnt
    time.sleep(0.05)
seen["learnt"] = bool(pages.working_set)
read(24)  # a rare path reads the whole file once
seen["before_daily"] = file_mb()
seen["a_day_later"] = pages.after_turn(start + timedelta(hours=25))
wait()
seen["after_daily"] = file_mb()
for line in open("/proc/self/maps"):  # which of the file's pages are still in memory
    if line.rstrip().endswith(path):
        low, high = (int(part, 16) for part in line.split()[0].split("-"))
        resident = _resident_pages(low, high)
        third = len(resident) // 3
        seen["kept_first_8mb"] = sum(flag & 1 for flag in resident[:third]) / third
        seen["kept_last_8mb"] = sum(flag & 1 for flag in resident[-third:]) / third
seen["clock_set_back"] = pages.after_turn(start - timedelta(days=300))  # not stuck for months
wait()
seen["times"] = pages.times
seen["given"] = pages.given_back_mb
seen["same_bytes"] = read(24) == touched  # read again from the disk when needed
from PySide6.QtWidgets import QApplication, QLabel  # Qt, whose pages went too, still works
app = QApplication(["-platform", "offscreen"])
label = QLabel("Bonjour")
label.resize(200, 50)
seen["painted"] = label.grab().toImage().width()
print(json.dumps(seen))
"""
)


def test_library_pages_go_back_to_the_system_and_the_daily_hand_back_keeps_those_in_use() -> None:
    seen = _child(HAND_BACK)
    assert [
        seen["first_turn"],
        seen["first"],
        seen["same_day"],
        seen["a_day_later"],
        seen["clock_set_back"],
    ] == [
        False,
        True,
        False,
        True,
        True,
    ]
    assert seen["times"] == 3
    assert seen["before"] - seen["after_first"] > 20, seen  # the 24 MB file's pages went
    assert seen["learnt"]
    # A day later, what was read once went back; the 8 MB the wall kept using stayed in memory, so
    # the next turn does not wait for the disk. (The kernel's read-ahead, up to 8 MB on some disks,
    # brought the pages after them in too: those are learnt as well, hence the file's last third.)
    assert seen["kept_first_8mb"] == 1.0, seen
    assert seen["kept_last_8mb"] < 0.1, seen
    assert seen["before_daily"] - seen["after_daily"] > 6, seen
    # What the breakdown reports given back is what the process's file pages lost.
    dropped = seen["before"] - seen["after_first"] + seen["before_daily"] - seen["after_daily"]
    assert seen["given"] >= dropped - 1, seen
    assert seen["same_bytes"]
    assert seen["painted"] == 200


def test_an_operator_can_keep_the_library_pages() -> None:
    seen = _child(HAND_BACK, env={"WALL_HAND_BACK_PAGES": "0"})
    assert [seen["first_turn"], seen["first"], seen["a_day_later"], seen["clock_set_back"]] == [False] * 4
    assert seen["times"] == 0 and not seen["learnt"]
    assert seen["after_first"] >= seen["before"] - 1  # the file's pages stayed
    assert seen["after_daily"] >= seen["before_daily"] - 1


TURNING = (
    MAP_A_FILE
    + r"""
import json, sys
from PySide6.QtCore import QTimer
from datetime import timedelta
import wall.shell.memory, wall.shell.windows
wall.shell.windows.HAND_BACK_TICK_MS = int(sys.argv[2])
wall.shell.memory.FIRST_AFTER = timedelta(0)  # (the wait for the start's work is checked above)
from wall.engine.config import load_config
from wall.shell.memory import _status_mb, memory_breakdown
from wall.shell.runtime import WallRuntime

runtime = WallRuntime(load_config(sys.argv[1], env={}), exit_after=10)
seen = {}
QTimer.singleShot(300, lambda: seen.update(before=memory_breakdown()))  # before any turn
QTimer.singleShot(9000, lambda: seen.update(after=memory_breakdown(),
    panel=type(runtime.windows[0].rotator.current_panel()).__name__))
runtime.run()
print(json.dumps(seen))
"""
)


def _turning(tmp_path: Path, panels: str, tick_ms: int) -> dict[str, Any]:
    """TURNING on a demo wall with these panels, its minute's tick every `tick_ms`."""
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[[sources]]\nname = "demo"\ntype = "demo"\n{panels}',
        encoding="utf-8",
    )
    return _child(TURNING, str(config), str(tick_ms), env={"QT_QPA_PLATFORM": "offscreen"})


def test_the_running_wall_gives_back_the_library_pages_after_its_first_turn(tmp_path: Path) -> None:
    panels = '[[panels]]\ntype = "fans"\nduration = 3\n[[panels]]\ntype = "mentions"\nduration = 3\n'
    seen = _turning(tmp_path, panels, 60_000)
    assert seen["before"]["file_page_hand_backs"] == 0
    assert seen["after"]["file_page_hand_backs"] == 1  # once, not after each of the turns since
    assert seen["after"]["file_pages_given_back_mb"] > 20
    assert seen["after"]["file_mb"] < seen["before"]["file_mb"] - 20
    assert seen["panel"] in {"FansPanel", "PostsPanel"}  # and the show went on


def test_a_wall_of_one_panel_gives_back_the_library_pages_too(tmp_path: Path) -> None:
    """One panel never turns to another: the minute's tick (here every second) does it."""
    seen = _turning(tmp_path, '[[panels]]\ntype = "mentions"\n', 1000)
    assert seen["after"]["file_page_hand_backs"] == 1
    assert seen["after"]["file_mb"] < seen["before"]["file_mb"] - 20
