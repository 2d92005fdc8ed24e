"""A short muted video loop on a card (issue 15): could the wall play one within its targets?

Targets it is judged against: frames at 60 Hz with no dropped frame in transitions (bench/frames.py),
PSS of the wall <= 80 MB (bench/pss.py), soak RSS <= 120 MB. The wall itself stays on
PySide6-Essentials, which has no QtMultimedia: this measures in a venv of its own
(scripts/install-video-bench.sh: the app's PySide6-Essentials version plus PySide6-Addons of exactly
that version), so nothing here changes what the wall installs.

For each clip (H.264 720p and 480p, 10 s at 30 fps, no audio track, made now by Debian's ffmpeg from
its `testsrc2` pattern: nothing downloaded), one process on its own Xvfb 1920x1080 shows a wall-like
screen with a card-sized (854x480) picture and goes through three steps:

1. `poster`: the clip's poster, a still picture, QtMultimedia not even imported (today's wall);
2. `loaded`: QtMultimedia imported, a QMediaPlayer with the clip set, not playing;
3. `playing`: the clip looping, muted (no audio output at all), its frames taken from a QVideoSink,
   converted to QImage and painted into the card widget (a QVideoWidget is a native window the
   rotator's `QWidget.grab()` pictures would not contain), measured after PLAY_SECONDS.

At each step: PSS and RSS of the process (medians of one sample a second), CPU of the process and of
the X server (% of one core). With the poster and with the loop playing, FADES crossfades of the whole
screen (FADE_MS each, an opaque overlay blending two pictures as widgets/rotator.py does, the video
still updating under it) and their frame pacing measured as bench/frames.py does: intervals between
`UpdateRequest`s of the top-level window, mean/p95/max, dropped 60 Hz frames. Also: whether the clip
plays at all (frames delivered per second, loops, errors) with QtMultimedia's FFmpeg backend
(QT_MEDIA_BACKEND=ffmpeg) and software decoding, and the install size of PySide6-Addons.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "scripts" / "install-video-bench.sh"
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lobby-wall/video-bench-venv"
# name: (width, height, bit rate): the sizes Mastodon and Bluesky serve, at their usual rates
CLIPS = {"720p": (1280, 720, "2500k"), "480p": (854, 480, "1000k")}
CLIP_SECONDS = 10
CLIP_FPS = 30
CARD = (854, 480)  # about the featured card's picture at 1920x1080
POSTER_SECONDS = 10
PLAY_SECONDS = 60
TAIL_SECONDS = 10  # memory and CPU of a step: its last seconds (the start of playing is not steady)
FADES = 6
FADE_MS = 1000
SECONDS_BETWEEN_FADES = 1.5
FRAME_MS = 1000 / 60  # a frame of a 60 Hz screen
FRAME_TARGET_MS = 20.0
TARGETS = {
    "frames": "mean 16.7 ms, max <= 20 ms, 0 dropped frames in transitions",
    "pss_mb": 80,
    "soak_rss_mb": 120,
    "wall_pss_today_mb": 103,
}
# What belongs to playing video in the Addons wheel (the rest is 3D, charts, web engine stubs...).
MULTIMEDIA_FILES = re.compile(r"Multimedia|libav|libsw|ffmpeg", re.IGNORECASE)


# ---------------------------------------------------------------- in the video venv, under Xvfb


def rollup() -> dict[str, float]:
    """PSS and RSS of this process in MB (a copy of bench/pss.py's reader: this process runs in the
    video venv, which has none of the wall's packages that bench.pss imports)."""
    fields = {
        line.split(":")[0]: int(line.split()[1])
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]
    }
    return {
        "pss_mb": round(fields["Pss"] / 1024, 1),
        "pss_anon_mb": round(fields.get("Pss_Anon", 0) / 1024, 1),
        "pss_file_mb": round(fields.get("Pss_File", 0) / 1024, 1),
        "rss_mb": round(fields["Rss"] / 1024, 1),
    }


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time of process `pid` so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def frame_pacing(fades: list[list[float]]) -> dict[str, object]:
    """Frame intervals of `fades` (each a list of frame times in s), summarised as bench/frames.py does."""
    intervals = sorted((b - a) * 1000 for fade in fades for a, b in itertools.pairwise(fade))
    if not intervals:
        return {"fades": len(fades), "frames": 0}
    return {
        "fades": len(fades),
        "frames": sum(len(fade) for fade in fades),
        "mean_ms": round(statistics.fmean(intervals), 2),
        "p95_ms": round(intervals[int(0.95 * (len(intervals) - 1))], 2),
        "max_ms": round(intervals[-1], 2),
        "over_20ms": sum(1 for i in intervals if i > FRAME_TARGET_MS),
        "dropped_frames": sum(max(0, round(i / FRAME_MS) - 1) for i in intervals),
    }


def play_on_card(clip: Path, poster: Path, x_server: int) -> dict[str, object]:
    """Inside Xvfb: the poster, then the loop, on a card of a full-screen window; the figures."""
    from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, QUrl, QVariantAnimation
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPaintEvent, QPixmap
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])

    class Card(QWidget):
        """The picture of a featured card: a still poster or the video's latest frame."""

        def __init__(self, parent: QWidget, image: QImage) -> None:
            super().__init__(parent)
            self.image = image
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

        def show_image(self, image: QImage) -> None:
            self.image = image
            self.update()

        def paintEvent(self, event: QPaintEvent) -> None:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.rect(), self.image)

    class Screen(QWidget):
        """A wall-like panel: a dark background, a title, lines of text, and the card."""

        def __init__(self, title: str, colour: str) -> None:
            super().__init__()
            self.title, self.colour = title, colour
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

        def paintEvent(self, event: QPaintEvent) -> None:
            painter = QPainter(self)
            painter.fillRect(self.rect(), QColor(self.colour))
            painter.setPen(QColor("#f2f2f2"))
            painter.setFont(QFont("Noto Sans", 44, QFont.Weight.Bold))
            painter.drawText(96, 130, self.title)
            painter.setFont(QFont("Noto Sans", 28))
            for line in range(8):
                painter.drawText(1010, 260 + 70 * line, f"Une ligne de texte du post, numéro {line + 1}")

    class Overlay(QWidget):
        """Two pictures blended, the outgoing one fading out: widgets/rotator.py's FadeOverlay."""

        def __init__(self, parent: QWidget) -> None:
            super().__init__(parent)
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
            self.pictures: tuple[QPixmap, QPixmap] | None = None
            self.progress = 0.0
            self.hide()

        def paintEvent(self, event: QPaintEvent) -> None:
            if self.pictures is None:
                return
            outgoing, incoming = self.pictures
            painted[-1].append(time.perf_counter())
            painter = QPainter(self)
            painter.drawPixmap(0, 0, incoming)
            painter.setOpacity(1.0 - self.progress)
            painter.drawPixmap(0, 0, outgoing)

    window = Screen("Mentions", "#14213d")
    other = Screen("Annonces", "#3d1421")  # the panel the crossfades go to
    window.setGeometry(QGuiApplication.primaryScreen().geometry())  # no window manager: size it first
    other.resize(window.size())
    card = Card(window, QImage(str(poster)))
    card.setGeometry(QRect(96, 200, *CARD))
    overlay = Overlay(window)
    window.showFullScreen()

    fading: list[list[float]] = []  # UpdateRequest times of each crossfade, as bench/frames.py takes them
    painted: list[list[float]] = []  # times the overlay was painted, each crossfade

    class FrameClock(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.UpdateRequest and overlay.isVisible():
                fading[-1].append(time.perf_counter())
            return False

    clock = FrameClock()
    window.installEventFilter(clock)
    animation = QVariantAnimation()
    animation.setDuration(FADE_MS)
    animation.setStartValue(0.0)
    animation.setEndValue(1.0)

    def on_progress(value: float) -> None:
        overlay.progress = value
        overlay.update()

    animation.valueChanged.connect(on_progress)

    def crossfades() -> Iterator[float]:
        """FADES crossfades of the whole screen, their pictures taken ahead as the rotator does."""
        incoming = other.grab()
        for _ in range(FADES):
            overlay.pictures = (window.grab(), incoming)
            overlay.setGeometry(window.rect())
            fading.append([])
            painted.append([])
            overlay.show()
            overlay.raise_()
            animation.start()
            yield FADE_MS / 1000 + 0.05
            overlay.hide()
            overlay.pictures = None
            yield SECONDS_BETWEEN_FADES

    result: dict[str, object] = {}

    def pacing() -> dict[str, object]:
        """The crossfades' frame pacing by UpdateRequests and by the overlay's paints; both cleared."""
        found = {**frame_pacing(fading), "by_overlay_paints": frame_pacing(painted)}
        fading.clear()
        painted.clear()
        return found

    def step(name: str, seconds: int) -> Iterator[float]:
        """Run `seconds`, sampling PSS each second; medians and CPU over the last TAIL_SECONDS."""
        gui_thread = f"self/task/{os.getpid()}"  # the main thread's id is the process's
        series, samples = [], []
        for second in range(seconds):
            if second == seconds - TAIL_SECONDS:
                cpu, gui, x_cpu = cpu_seconds("self"), cpu_seconds(gui_thread), cpu_seconds(x_server)
                started = time.monotonic()
            yield 1.0
            series.append(rollup())
            if second >= seconds - TAIL_SECONDS:
                samples.append(series[-1])
        elapsed = time.monotonic() - started
        result[name] = {
            **{key: round(statistics.median(s[key] for s in samples), 1) for key in samples[0]},
            # a loop that keeps growing would break the soak target even where 60 s fit
            "pss_every_10s_mb": [s["pss_mb"] for s in series[9::10]],
            "cpu_percent": round(100 * (cpu_seconds("self") - cpu) / elapsed, 1),
            # the GUI thread's share: converting and painting frames; the rest is the decoder's threads
            "gui_thread_cpu_percent": round(100 * (cpu_seconds(gui_thread) - gui) / elapsed, 1),
            "x_server_cpu_percent": round(100 * (cpu_seconds(x_server) - x_cpu) / elapsed, 1),
        }

    def script() -> Iterator[float]:
        yield from step("poster", POSTER_SECONDS)
        yield from crossfades()
        result["crossfade_poster"] = pacing()

        # Only now, as a wall that never plays a video never loads QtMultimedia.
        from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

        player = QMediaPlayer()
        sink = QVideoSink()
        player.setVideoSink(sink)  # and no QAudioOutput: muted, no audio device opened
        player.setLoops(QMediaPlayer.Loops.Infinite)
        player.setSource(QUrl.fromLocalFile(str(clip)))
        errors: list[str] = []
        player.errorOccurred.connect(lambda _error, text: errors.append(text))
        delivered: list[float] = []
        loops = [0, 0]  # loops seen, last position (ms)

        def on_frame(frame: QVideoFrame) -> None:
            delivered.append(time.perf_counter())
            card.show_image(frame.toImage())

        def on_position(position: int) -> None:
            if position + 1000 < loops[1]:
                loops[0] += 1
            loops[1] = position

        sink.videoFrameChanged.connect(on_frame)
        player.positionChanged.connect(on_position)
        yield from step("loaded", TAIL_SECONDS + 2)
        started = time.perf_counter()
        player.play()
        yield from step("playing", PLAY_SECONDS)
        played = time.perf_counter() - started
        fades_started = len(delivered)
        fades_began = time.perf_counter()
        yield from crossfades()
        result["crossfade_playing"] = {
            **pacing(),
            "video_fps_during_fades": round(
                (len(delivered) - fades_started) / (time.perf_counter() - fades_began), 1
            ),
        }
        first_frame = delivered[0] - started if delivered else None
        result["playback"] = {
            "plays": bool(delivered) and not errors,
            "video_fps": round(sum(1 for t in delivered if t <= started + played) / played, 1),
            "clip_fps": CLIP_FPS,
            "first_frame_s": round(first_frame, 3) if first_frame is not None else None,
            "loops_seen": loops[0],
            "errors": errors,
            "media_backend": os.environ.get("QT_MEDIA_BACKEND", "(Qt's default)"),
            "gpu_devices": sorted(p.name for p in Path("/dev/dri").glob("*")),  # none: software decoding
        }
        result["after_crossfades"] = rollup()
        player.stop()

    steps = script()

    def advance() -> None:
        try:
            delay = next(steps)
        except StopIteration:
            app.quit()
            return
        QTimer.singleShot(round(delay * 1000), advance)

    QTimer.singleShot(0, advance)
    app.exec()
    return result


def install_size_mb(distribution: str, only: re.Pattern[str] | None = None) -> float:
    """The installed size of `distribution` (its RECORD's files, or those matching `only`), in MB."""
    files = importlib.metadata.distribution(distribution).files or []
    total = sum(
        located.stat().st_size
        for f in files
        if (only is None or only.search(str(f))) and (located := Path(str(f.locate()))).is_file()
    )
    return round(total / 1e6, 1)


def child_main(clip: Path, poster: Path, x_server: int) -> None:
    """Run in the video venv: play `clip` on a card, print one JSON line."""
    result = play_on_card(clip, poster, x_server)
    peak_kb = next(
        line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM")
    )
    result["peak_rss_mb"] = round(int(peak_kb.split()[1]) / 1024, 1)
    result["versions"] = {
        name: importlib.metadata.version(name) for name in ("PySide6-Essentials", "PySide6-Addons")
    }
    result["install_mb"] = {
        "PySide6-Essentials": install_size_mb("PySide6-Essentials"),
        "PySide6-Addons": install_size_mb("PySide6-Addons"),
        "PySide6-Addons_multimedia_part": install_size_mb("PySide6-Addons", MULTIMEDIA_FILES),
    }
    print(json.dumps(result))


# ---------------------------------------------------------------- in the app's venv: the driver


def video_venv() -> Path:
    """The venv with PySide6-Addons of the app's PySide6 version, installed when missing."""
    venv = Path(os.environ.get("WALL_VIDEO_VENV", DEFAULT_VENV))
    version = importlib.metadata.version("PySide6-Essentials")
    subprocess.run(
        ["bash", str(INSTALLER), version], check=True, env={**os.environ, "WALL_VIDEO_VENV": str(venv)}
    )
    return venv


def make_clips(folder: Path) -> dict[str, tuple[Path, Path]]:
    """The clips, H.264 in MP4 with no audio, and a poster of each, made with Debian's ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit(
            "bench.video: ffmpeg is missing (it makes the clips): "
            "run scripts/install-debian-deps.sh bench (or make bench)"
        )
    clips = {}
    for name, (width, height, rate) in CLIPS.items():
        clip, poster = folder / f"{name}.mp4", folder / f"{name}.jpg"
        pattern = f"testsrc2=size={width}x{height}:rate={CLIP_FPS}:duration={CLIP_SECONDS}"
        quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
        subprocess.run(
            [*quiet, "-f", "lavfi", "-i", pattern, "-c:v", "libx264", "-preset", "veryfast", "-profile:v",
             "high", "-pix_fmt", "yuv420p", "-b:v", rate, "-movflags", "+faststart", "-an", str(clip)],
            check=True,
        )  # fmt: skip
        subprocess.run([*quiet, "-ss", "1", "-i", str(clip), "-frames:v", "1", str(poster)], check=True)
        clips[name] = (clip, poster)
    return clips


def main(argv: list[str]) -> None:
    """`python -m bench.video [--clips 720p,480p]`: one JSON line."""
    if argv[:1] == ["--child"]:
        child_main(Path(argv[1]), Path(argv[2]), int(argv[3]))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.video", description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=",".join(CLIPS), help=f"among {', '.join(CLIPS)} (default all)")
    args = parser.parse_args(argv)
    chosen = [c for c in args.clips.split(",") if c]
    if unknown := [c for c in chosen if c not in CLIPS]:
        parser.error(f"unknown clip {', '.join(unknown)}: choose among {', '.join(CLIPS)}")
    from bench.idle import start_xvfb  # the app's venv only: bench.idle imports the wall

    venv = video_venv()
    folder = Path(tempfile.mkdtemp(prefix="wall-bench-video-"))
    clips = make_clips(folder)
    xvfb, display = start_xvfb()
    results: dict[str, object] = {}
    try:
        env = {
            **os.environ,
            "DISPLAY": f":{display}",
            "QT_QPA_PLATFORM": "xcb",
            "QT_MEDIA_BACKEND": "ffmpeg",
        }
        for name in chosen:
            clip, poster = clips[name]
            child = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "bench.video", "--child", str(clip), str(poster),
                 str(xvfb.pid)],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            if child.returncode != 0:
                sys.stderr.write(child.stderr)
                raise SystemExit(child.returncode)
            found = json.loads(child.stdout.strip().splitlines()[-1])
            # What Qt said (the FFmpeg it loaded, warnings), each line once; FFmpeg's stream dumps left out.
            said = {line for line in child.stderr.splitlines() if line.startswith("qt.")}
            found["qt_messages"] = sorted(said)[:10]
            found["clip"] = {"width_height_fps": [*CLIPS[name][:2], CLIP_FPS], "bytes": clip.stat().st_size}
            results[name] = found
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    print(
        json.dumps(
            {
                "platform": "xcb on Xvfb 1920x1080x24 (software rendering), QtMultimedia FFmpeg backend",
                "card": list(CARD),
                "fade_ms": FADE_MS,
                "play_seconds": PLAY_SECONDS,
                "targets": TARGETS,
                **results,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
