"""Keeping a process that runs for months small: return freed heap to the system.

Each crossfade allocates two full-screen pictures (8 MB each at 1920x1080) and frees them 600 ms
later; glibc keeps such freed memory in the process, so resident memory drifts up by tens of MB.
`malloc_trim(0)` after each rotation gives it back (measured in `make bench`: memory), and buffers
of 1 MB and more are mapped on their own, so the pictures of a turn inside a panel (a featured post,
a new post arriving) go back to the system when freed, not at the next rotation (`bench pss`).

`memory_breakdown()` says where the resident memory is (shared-library pages, C heap, Python heap,
SQLite, source lines kept by `linecache`); `make bench` prints it with the memory figures.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import linecache
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

ARENA_MAX = 2  # the GUI thread and one more; every other thread shares them
# glibc maps a buffer this big on its own and unmaps it when freed. Its default threshold is dynamic:
# the first full-screen picture freed raises it to 8 MB, and from then on every picture comes from
# the heap, whose freed top glibc keeps up to twice that (16 MB) until the next malloc_trim. Setting
# it fixes it (and the trim threshold at its 128 KB default). Measured with `bench pss`: between
# rotations PSS was 108 or 124 MB by turns; fixed at 1 MB it stays at 107-112 MB.
MMAP_THRESHOLD = 1024 * 1024
# `asyncio.to_thread` jobs (pictures, big JSON bodies, feeds, the status record): qasync's own pool
# starts 10 threads at once and keeps them; this one starts a thread only when none is idle, up to 4
# (two cores; one slow write on an SD card must not hold up the pictures).
WORKER_THREADS = 4


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
    _mallopt = _libc.mallopt
    _mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
    _libc = None


def release_free_memory() -> None:
    """Give freed heap pages back to the operating system (glibc only; no-op elsewhere)."""
    if _libc is not None:
        _trim(0)


# --- pages of the files the process maps, needed only to start -----------------------------------

MADV_PAGEOUT = 21  # Linux 5.4+: reclaim these pages now (a page another process maps is left alone)
HAND_BACK_EVERY = timedelta(hours=24)  # what only a day's rare paths touched goes back once a day
HAND_BACK_SWITCH = "WALL_HAND_BACK_PAGES"  # "0" keeps them (the kernel drops them under pressure)
_SPECIAL = ("/dev/", "/memfd:", "/SYSV", "/proc/", "/sys/")
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# The first hand-back waits this long after the first turn: the start's work (the first polls, the
# stored posts judged again, the first pictures) is over, so its pages are not needed again at once.
FIRST_AFTER = timedelta(minutes=2)
LEARN_AFTER = timedelta(minutes=10)  # after the first hand-back: every panel has been on screen


def _pages_to_hand_back() -> list[tuple[int, int]]:
    """The address ranges of the read-only files this process maps (libraries, Python's extension
    modules, fonts) holding no page of its own: a mapping with anonymous pages (relocated tables) is
    left out, they would go to swap where there is one and come back at the next call."""
    ranges: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
        for line in smaps:
            if line[0] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:
                fields = line.split(maxsplit=5)
                path = fields[5].strip() if len(fields) > 5 else ""
                ok = path.startswith("/") and not path.startswith(_SPECIAL) and "w" not in fields[1]
                start, end = (int(part, 16) for part in fields[0].split("-"))
                current = (start, end) if ok and not path.endswith("(deleted)") else None
            elif current is not None and line.startswith("Anonymous:"):
                if int(line.split()[1]) == 0:
                    ranges.append(current)
                current = None
    return ranges


def _resident_pages(start: int, end: int) -> bytes | None:
    """One byte per page of [start, end): bit 0 set when the page is in memory (`mincore`)."""
    assert _libc is not None
    pages = (end - start) // PAGE
    vector = (ctypes.c_ubyte * pages)()
    mincore = _libc.mincore
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    if mincore(start, end - start, vector) != 0:
        return None
    return bytes(vector)


def _unused_runs(start: int, resident: bytes) -> list[tuple[int, int]]:
    """The address ranges of the pages not in `resident` (the map of the pages from `start`)."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for index, flags in enumerate(resident):
        if flags & 1:
            if first is not None:
                runs.append((start + first * PAGE, start + index * PAGE))
                first = None
        elif first is None:
            first = index
    if first is not None:
        runs.append((start + first * PAGE, start + len(resident) * PAGE))
    return runs


def hand_back_file_pages(keep: dict[tuple[int, int], bytes] | None = None) -> float:
    """Give the kernel back, now, the pages this process maps from read-only files: the code and
    data of the libraries and the fonts. About half of them were touched only while the wall
    started (importing, building the windows); the kernel would drop them under memory pressure,
    but only then. The ones still in use come back from the disk at their next use (`bench pss`:
    `major_faults`), unless `keep` maps them (`learn_working_set()`: those pages stay). Returns the
    MB of resident file pages given back (0 where Linux cannot: no /proc, a kernel before 5.4)."""
    if _libc is None:
        return 0.0
    before = _status_mb().get("RssFile", 0.0)
    try:
        ranges = _pages_to_hand_back()
    except OSError:
        return 0.0
    madvise = _libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for start, end in ranges:  # a kernel without MADV_PAGEOUT refuses each: nothing changes
        kept = (keep or {}).get((start, end))
        for low, high in [(start, end)] if kept is None else _unused_runs(start, kept):
            madvise(low, high - low, MADV_PAGEOUT)
    return max(0.0, before - _status_mb().get("RssFile", 0.0))


def learn_working_set() -> dict[tuple[int, int], bytes]:
    """Which pages of those files are in memory now, by mapping: some time after a hand-back, the
    pages the wall needed again (its working set), to keep at the next ones."""
    if _libc is None:
        return {}
    try:
        ranges = _pages_to_hand_back()
    except OSError:
        return {}
    learnt = {}
    for start, end in ranges:
        if (resident := _resident_pages(start, end)) is not None:
            learnt[(start, end)] = resident
    return learnt


class FilePagesHandBack:
    """Hands the file pages back at rest: after the first turn between panels `FIRST_AFTER` the
    first one, then after the first turn a day later (`HAND_BACK_EVERY` on `clock`, the wall's), on
    a thread of its own so the turn's last frame is not held up. One per process: every window's
    turns lead here.

    The pages the wall still uses come back from the disk at their next use, on the GUI thread,
    in the middle of a transition (45-60 pages in the minute after the first hand-back,
    `bench pss`). So ten minutes after the first one (every panel has been on screen since), the
    pages in memory again are learnt, and the daily hand-backs keep them: only the first one, in
    the wall's first minutes, costs a transition those reads."""

    def __init__(self) -> None:
        self.first_turn: datetime | None = None
        self.last: datetime | None = None
        self.first_hand_back: datetime | None = None
        self.working_set: dict[tuple[int, int], bytes] | None = None
        self.given_back_mb = 0.0  # in all
        self.times = 0
        self._lock = threading.Lock()

    def after_turn(self, now: datetime) -> bool:
        """Start a hand-back when one is due at `now` (or learn the working set when that is due);
        True when a hand-back was started."""
        if os.environ.get(HAND_BACK_SWITCH, "1") == "0" or _libc is None:
            return False
        if self.first_turn is None:
            self.first_turn = now
        if self.first_hand_back is None and abs(now - self.first_turn) < FIRST_AFTER:
            return False
        if (
            self.first_hand_back is not None
            and self.working_set is None
            and abs(now - self.first_hand_back) >= LEARN_AFTER
        ):
            self.working_set = {}  # (learning: no second one meanwhile)
            threading.Thread(target=self._learn, name="wall-hand-back", daemon=True).start()
            return False
        if self.last is not None and abs(now - self.last) < HAND_BACK_EVERY:  # (a clock set back too)
            return False
        self.first_hand_back = self.first_hand_back or now
        self.last = now
        threading.Thread(target=self._run, name="wall-hand-back", daemon=True).start()
        return True

    def _learn(self) -> None:
        with self._lock:
            self.working_set = learn_working_set()
        kept = sum(sum(flags & 1 for flags in pages) for pages in self.working_set.values()) * PAGE
        log.info("memory: %.1f MB of library and font pages in use, kept from now on", kept / 2**20)

    def _run(self) -> None:
        with self._lock:
            given = hand_back_file_pages(self.working_set or None)
            self.given_back_mb += given
            self.times += 1
        log.info("memory: %.1f MB of library and font pages given back to the system", given)


FILE_PAGES = FilePagesHandBack()


def limit_malloc_arenas(arenas: int = ARENA_MAX) -> bool:
    """Let all threads share `arenas` glibc heaps instead of up to 8 per core (call before threads
    start). Each thread-pool thread otherwise gets a heap of its own, whose freed pages stay with it.
    An operator's `MALLOC_ARENA_MAX` wins. False when not on glibc."""
    if _libc is None:
        return False
    if "MALLOC_ARENA_MAX" in os.environ:
        return True
    return bool(_mallopt(_M_ARENA_MAX, arenas))


def keep_big_buffers_out_of_the_heap(threshold: int = MMAP_THRESHOLD) -> bool:
    """Map every buffer of `threshold` bytes or more on its own, so it is given back when freed
    (pictures), instead of letting glibc raise that threshold as big buffers come and go. An
    operator's `MALLOC_MMAP_THRESHOLD_` or glibc tunable wins. False when not on glibc."""
    if _libc is None:
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        return True
    return bool(_mallopt(_M_MMAP_THRESHOLD, threshold))


def worker_pool() -> ThreadPoolExecutor:
    """The pool for the event loop's `to_thread` jobs: threads started on demand, WORKER_THREADS at
    most (set it with `loop.set_default_executor` before the first job)."""
    return ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="wall-worker")


def forget_import_sources() -> int:
    """Drop the source lines `linecache` keeps; returns how many lines were kept.

    PySide6 reads the source of every module imported after it (PYSIDE-2029: it looks for
    `from __feature__ import`), and `inspect` keeps every line in `linecache` for good: ~200,000
    lines, 15-20 MB of Python heap that only a traceback would ever read (it reads its own lines
    again). Call it right after the imports, before the wall allocates its own objects, so they
    reuse the freed heap.
    """
    kept = sum(len(entry[2]) for entry in linecache.cache.values() if len(entry) > 2)
    linecache.clearcache()
    return kept


def keep_no_import_sources() -> bool:
    """Let PySide6 read a module's source once at most, and never leave it in `linecache`.

    PySide6 reads the source of the module named by every `import` statement that runs, also one
    inside a function importing a module loaded long ago (`import sqlite3` in a function, the
    plug-ins Pillow loads with the first picture, httpx's transport with the first request): after
    `forget_import_sources()` the lines came back one module at a time while the wall ran, long-lived
    objects scattered among short-lived ones, and Python's heap never gave those pages back. Its
    answer (does the module's source say "PySide6") is kept per module instead. False when this
    PySide6 does not work that way (nothing changed)."""
    feature = sys.modules.get("shibokensupport.feature")
    check = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or check is None:
        return False
    if getattr(check, "_wall_keeps_no_source", False):
        return True
    original: Callable[..., bool] = check
    known: dict[tuple[str, str], bool] = {}

    def uses_pyside(module: object, *more: object, **named: object) -> bool:
        if more or named:  # a PySide6 that calls it otherwise: its own answer, as it is
            return original(module, *more, **named)
        key = (str(getattr(module, "__name__", "")), str(getattr(module, "__file__", "")))
        answer = known.get(key)
        if answer is None:
            before = set(linecache.cache)
            try:
                answer = bool(original(module))
            finally:
                for name in linecache.cache.keys() - before:
                    linecache.cache.pop(name, None)
            known[key] = answer
        return answer

    uses_pyside._wall_keeps_no_source = True  # type: ignore[attr-defined]
    setattr(feature, "_mod_uses_pyside", uses_pyside)  # noqa: B010 (a module attribute PySide6 looks up)
    return True


def prepare_for_long_run() -> None:
    """What `wall run` does first, before Qt, the store and the thread pools start: share two
    malloc heaps between all threads, map big buffers on their own, drop the source lines the
    imports left in `linecache`, and keep PySide6 from leaving more there while the wall runs."""
    limit_malloc_arenas()
    keep_big_buffers_out_of_the_heap()
    keep_no_import_sources()
    forget_import_sources()


def resident_mb() -> float:
    """This process's resident memory in MB (0 when /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _status_mb() -> dict[str, float]:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    found = re.findall(r"^(VmRSS|RssAnon|RssFile|RssShmem|VmHWM|Threads):\s+(\d+)", text, re.MULTILINE)
    return {key: int(value) / (1 if key == "Threads" else 1024) for key, value in found}


def _heap_arenas() -> int:
    """How many glibc heaps (arenas) the process has (0 when unknown)."""
    if _libc is None:
        return 0
    handle, name = tempfile.mkstemp(prefix="wall-malloc-info-", suffix=".xml")
    os.close(handle)
    path = Path(name)
    try:
        _libc.fopen.restype = ctypes.c_void_p
        _libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        _libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        _libc.fclose.argtypes = [ctypes.c_void_p]
        stream = _libc.fopen(str(path).encode(), b"w")
        if not stream:
            return 0
        _libc.malloc_info(0, stream)
        _libc.fclose(stream)
        return path.read_text().count("<heap nr=")
    except (OSError, AttributeError):
        return 0
    finally:
        path.unlink(missing_ok=True)


def _sqlite_mb() -> float:
    """Memory SQLite holds (page caches, schemas, statements) in the whole process."""
    import sqlite3  # noqa: F401 (loads the library the store uses)

    try:
        library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        used = library.sqlite3_memory_used
        used.restype = ctypes.c_int64
        return int(used()) / 2**20
    except (OSError, AttributeError):
        return 0.0


def _pymalloc_stats() -> dict[str, float]:
    """Python's small-object heap: its 1 MB arenas, the bytes in live blocks and the bytes free in them
    (empty when this Python does not say)."""
    read, write = os.pipe()
    saved = os.dup(2)
    try:
        sys.stderr.flush()
        os.dup2(write, 2)
        os.close(write)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    text = b"".join(chunks).replace(b",", b"")
    figures: dict[str, float] = {}
    for key, pattern in (
        ("python_arenas_mb", rb"# arenas allocated current\s+=\s+(\d+)"),
        ("python_used_mb", rb"# bytes in allocated blocks\s+=\s+(\d+)"),
        ("python_free_mb", rb"# bytes in available blocks\s+=\s+(\d+)"),
        ("python_unused_pools", rb"(\d+) unused pools \*"),
    ):
        if found := re.search(pattern, text):
            count = key in ("python_arenas_mb", "python_unused_pools")  # 1 MB arenas, pools: counted
            figures[key] = int(found.group(1)) / (1 if count else 2**20)
    return figures


def memory_breakdown() -> dict[str, float]:
    """Where this process's resident memory is, in MB (glibc and Linux figures; 0 elsewhere).

    `file_mb` is shared-library code and fonts mapped from disk: counted in RSS, but shared with other
    processes and dropped by the kernel under pressure. `anonymous_mb` is the process's own memory:
    `c_heap_in_use_mb` (Qt, pictures, glyphs, Python's big objects), `c_heap_free_mb` (freed but kept),
    `python_arenas_mb` (Python's small objects), `sqlite_mb`.
    """
    status = _status_mb()
    result: dict[str, float] = {
        "rss_mb": status.get("VmRSS", 0.0),
        "anonymous_mb": status.get("RssAnon", 0.0),
        "file_mb": status.get("RssFile", 0.0) + status.get("RssShmem", 0.0),
        "threads": status.get("Threads", 0.0),
    }
    if _libc is not None and hasattr(_libc, "mallinfo2"):
        _libc.mallinfo2.restype = _MallInfo2
        info = _libc.mallinfo2()
        result["c_heap_in_use_mb"] = (info.uordblks + info.hblkhd) / 2**20
        result["c_heap_free_mb"] = info.fordblks / 2**20
        result["c_heap_mmapped_mb"] = info.hblkhd / 2**20
        result["malloc_arenas"] = _heap_arenas()
    result.update(_pymalloc_stats())
    result["python_blocks_k"] = sys.getallocatedblocks() / 1000  # live Python allocations, thousands
    result["sqlite_mb"] = _sqlite_mb()
    result["linecache_lines"] = sum(len(entry[2]) for entry in linecache.cache.values() if len(entry) > 2)
    result["modules"] = len(sys.modules)
    result["file_pages_given_back_mb"] = FILE_PAGES.given_back_mb  # in all, by FILE_PAGES
    result["file_page_hand_backs"] = FILE_PAGES.times
    return {key: round(value, 1) for key, value in result.items()}
