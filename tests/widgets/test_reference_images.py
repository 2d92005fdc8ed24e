"""Each panel, rendered with the demo content at a fixed time, compared with its reference picture.

An unintended visual change (a colour, a size, a card that moved) fails here; an intended one is
accepted by rendering the references again and reviewing them:

    UPDATE_REFERENCE_IMAGES=1 .venv/bin/pytest tests/widgets/test_reference_images.py

The comparison is done at half resolution with a tolerance, so antialiasing noise passes and a
real change does not. On a failure, the rendered picture and a difference map are written next to
the test's temporary files and named in the message.
"""

from __future__ import annotations

import asyncio
import io
import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops
from PySide6.QtCore import QBuffer, QIODevice, QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from sources.demo import DemoSettings, DemoSource
from tests.support.clock import NOW
from tests.support.posts import make_post
from wall.core.model import POST_KINDS, Count
from wall.core.paths import asset_path
from wall.engine.config import BrandingSettings, PanelSettings, WallSection
from wall.engine.counts import daily_history
from wall.engine.images import prepare_image
from widgets.fans import FansPanel
from widgets.hub import Hub
from widgets.snapshot import render_panel
from widgets.window import WallWindow

from .conftest import clock

REFERENCES = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
MAX_MEAN_DIFFERENCE = 1.5  # average over all channels of all pixels, out of 255
MAX_CHANGED_SHARE = 0.004  # share of pixels that differ by more than CHANGED
CHANGED = 48

WALLS = {
    "fr": WallSection(branding=BrandingSettings(name="Maison Lumière")),
    "en": WallSection(language="en", branding=BrandingSettings(name="Maison Lumière", theme="light")),
}
PANELS = {
    "fans": PanelSettings(type="fans", milestones=[100_000]),
    "mentions": PanelSettings(type="mentions", milestones=[100_000]),
    "internal": PanelSettings(type="internal", milestones=[100_000]),
    "trends": PanelSettings(type="trends", exclude=["Maison Lumière"]),
    "announcement": PanelSettings(
        type="announcement",
        title="Rejoignez le réseau interne",
        text="Toute l'actualité de Maison Lumière, les offres internes et les projets des équipes : "
        "inscrivez-vous en deux minutes avec votre badge.",
        image="asset:demo/images/equipe.png",
        qr="https://intranet.maisonlumiere.example/rse",
    ),
    "clock": PanelSettings(type="clock"),
}
CASES = [
    (panel, size, language)
    for panel in PANELS
    for size, language in (("1920x1080", "fr"), ("1080x1920", "fr"), ("1920x1080", "en"))
]


def demo_hub() -> Hub:
    """The demo's first poll at the tests' fixed time, pictures loaded from the assets."""
    hub = Hub()
    batch = asyncio.run(DemoSource(DemoSettings(name="demo", type="demo"), clock=clock).poll())
    for kind in POST_KINDS:
        posts = [p for p in batch.posts if p.kind == kind]
        hub.set_posts(kind, sorted(posts, key=lambda p: p.created_at, reverse=True))
    latest = {c.key: c for c in sorted(batch.counts, key=lambda c: c.observed_at)}
    history = {key: [c for c in batch.counts if c.key == key] for key in latest}
    hub.set_counts(latest.values(), daily_history(history, ZoneInfo("Europe/Paris")))
    urls = {p.author.avatar_url for p in batch.posts} | {m.url for p in batch.posts for m in p.media}
    for url in sorted(u for u in urls if u):
        path = asset_path(url)
        assert path is not None, url
        hub.add_image(url, prepare_image(path.read_bytes()))
    hub.flush()
    return hub


def half(image: QImage) -> Image.Image:
    """The rendered picture at half size, as a Pillow image."""
    small = image.scaled(
        image.size() / 2, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    small.save(buffer, "PNG")  # type: ignore[call-overload]
    return Image.open(io.BytesIO(bytes(buffer.data().data()))).convert("RGB")


def difference(actual: Image.Image, expected: Image.Image) -> tuple[float, float, Image.Image]:
    """(mean difference, share of changed pixels, a map of the changed pixels)."""
    channels = ImageChops.difference(actual, expected).split()
    strongest = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    histogram = strongest.histogram()
    pixels = actual.width * actual.height
    mean = sum(value * count for value, count in enumerate(histogram)) / pixels
    changed = sum(histogram[CHANGED + 1 :]) / pixels
    return mean, changed, strongest.point(lambda v: 255 if v > CHANGED else 0)


def changed_from_reference(actual: Image.Image, reference: Path, tmp_path: Path) -> str | None:
    """Compare `actual` with its reference picture (written instead with UPDATE_REFERENCE_IMAGES);
    a changed picture and its marked differences are saved under `tmp_path` and described."""
    if os.environ.get("UPDATE_REFERENCE_IMAGES"):
        reference.parent.mkdir(parents=True, exist_ok=True)
        actual.save(reference, optimize=True)
    assert reference.is_file(), f"no reference picture {reference}: render them (see this module's docstring)"
    with Image.open(reference) as stored:
        expected = stored.convert("RGB")
    assert expected.size == actual.size, f"{reference.name}: size {actual.size} != {expected.size}"
    mean, share, marks = difference(actual, expected)
    if mean <= MAX_MEAN_DIFFERENCE and share <= MAX_CHANGED_SHARE:
        return None
    actual.save(tmp_path / reference.name)
    marks.save(tmp_path / f"diff-{reference.name}")
    return (
        f"{reference.name} changed: mean difference {mean:.2f}, {share:.2%} of pixels changed; "
        f"see {tmp_path / reference.name} and {tmp_path / f'diff-{reference.name}'}"
    )


@pytest.mark.parametrize(("panel", "size", "language"), CASES)
def test_panel_looks_like_its_reference(
    qapp: QApplication, tmp_path: Path, panel: str, size: str, language: str
) -> None:
    width, height = (int(n) for n in size.split("x"))
    image = render_panel(
        demo_hub(),
        WALLS[language],
        PANELS[panel],
        QSize(width, height),
        clock=clock,
    )
    failure = changed_from_reference(half(image), REFERENCES / f"{panel}-{size}-{language}.png", tmp_path)
    if failure:
        pytest.fail(failure)


def test_the_comparison_catches_a_small_visual_change(qapp: QApplication) -> None:
    """A card's worth of change fails; the same picture passes."""
    image = half(
        render_panel(demo_hub(), WALLS["fr"], PanelSettings(type="mentions"), QSize(1920, 1080), clock=clock)
    )
    mean, share, _ = difference(image, image)
    assert (mean, share) == (0.0, 0.0)
    changed = image.copy()
    changed.paste((255, 255, 255), (500, 100, 620, 160))  # a patch the size of a small avatar
    mean, share, _ = difference(changed, image)
    assert mean > MAX_MEAN_DIFFERENCE or share > MAX_CHANGED_SHARE


def test_the_fixed_time_is_the_one_the_references_were_drawn_at() -> None:
    assert NOW.isoformat() == "2025-06-03T12:30:00+00:00"


NOTICE_SIZES = ("1920x1080", "3840x2160", "1080x1920")


@pytest.mark.parametrize("size", NOTICE_SIZES)
def test_new_posts_card_looks_like_its_reference(qtbot: QtBot, tmp_path: Path, size: str) -> None:
    """The "Nouveau" card of issue 14 at rest over the fans panel, grouping two new posts."""
    width, height = (int(n) for n in size.split("x"))
    hub = demo_hub()
    window = WallWindow(hub, WALLS["fr"], [PANELS["fans"], PANELS["mentions"]], clock=clock, fade_ms=0)
    qtbot.addWidget(window)
    window.rotator.stop()
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(width, height)
    window.show()
    window.wait_for_pictures()
    ticks = [0.0]
    window.notice.set_ticker(lambda: ticks[0])
    news = [
        make_post(
            "n2", text="Inauguration du magasin de Nantes ce matin : merci à tous pour votre accueil !"
        ),
        make_post("n1", text="Très belle vitrine à Bordeaux"),
    ]
    hub.set_posts("mention", [*news, *hub.posts("mention")])
    hub.flush()
    qtbot.waitUntil(window.notice.isVisible, timeout=3000)
    ticks[0] = 10.0
    window.notice.step_slide()  # at rest
    QApplication.processEvents()
    failure = changed_from_reference(
        half(window.grab().toImage()), REFERENCES / f"notice-{size}-fr.png", tmp_path
    )
    if failure:
        pytest.fail(failure)


# (network, account, metric, today's value): the demo's three, then the networks a brand adds
FAN_ACCOUNTS = [
    ("facebook", "Maison Lumière", "fans", 182_340),
    ("instagram", "@maisonlumiere", "followers", 100_312),
    ("mastodon", "Mastodon", "followers", 4_821),
    ("youtube", "Maison Lumière TV", "subscribers", 38_407),
    ("linkedin", "Maison Lumière SA", "followers", 61_950),
    ("bluesky", "@maisonlumiere.fr", "followers", 12_684),
    ("x", "@MaisonLumiere", "followers", 27_313),
]


def fans_hub(counters: int) -> Hub:
    """A hub with the first `counters` of FAN_ACCOUNTS, each with a week of daily values."""
    hub = Hub()
    now = clock()
    counts, history = [], {}
    for i, (network, label, metric, value) in enumerate(FAN_ACCOUNTS[:counters]):
        count = Count(f"s{i}", network, label, value, now, label=label, metric=metric)
        days = [value - (value // 40) * (7 - day) // 7 - (day % 2) * (value // 300) for day in range(7)]
        history[count.key] = [
            Count(f"s{i}", network, label, v, now - timedelta(days=7 - day), label=label, metric=metric)
            for day, v in enumerate(days)
        ]
        counts.append(count)
    hub.set_counts(counts, history)
    hub.flush()
    return hub


FANS_CASES = [(counters, size) for counters in (1, 2, 3, 5, 7) for size in NOTICE_SIZES]


@pytest.mark.parametrize(("counters", "size"), FANS_CASES)
def test_fans_pages_look_like_their_references(
    qtbot: QtBot, tmp_path: Path, counters: int, size: str
) -> None:
    """Issue 15: the fans panel with 1, 2, 3, 5 and 7 counters, each of its pages."""
    width, height = (int(n) for n in size.split("x"))
    hub = fans_hub(counters)
    window = WallWindow(hub, WALLS["fr"], [PANELS["fans"]], clock=clock, fade_ms=0)
    qtbot.addWidget(window)
    window.rotator.stop()
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(width, height)
    window.show()
    QApplication.processEvents()
    panel = window.current_panel()
    assert isinstance(panel, FansPanel)
    failures = []
    for page in range(panel.page_count()):
        QApplication.processEvents()
        reference = REFERENCES / f"fans-{counters}-counters-p{page + 1}-{size}-fr.png"
        if failure := changed_from_reference(half(window.grab().toImage()), reference, tmp_path):
            failures.append(failure)
        panel.next_page()
        panel.turn().finish()
    assert not failures, f"changed (see {tmp_path}): {failures}"
