"""Thumbnails: the key chart chosen, scaled to a few kilobytes, and read back only when safe."""

from __future__ import annotations

import base64
import io
import os

import matplotlib

matplotlib.use("Agg")

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import png_bytes
from PIL import Image

from shopcast.charts.goal import fan_chart
from shopcast.config import THUMBNAIL_NAME
from shopcast.publish import KEY_CHART
from shopcast.workbench import thumbnails
from shopcast.workbench.thumbnails import (
    MAX_SIZE,
    key_chart,
    make_thumbnail,
    png_size,
    read_thumbnail,
    thumbnail_for,
)


def solid_png(color: str, size=(200, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def notebook(*images: tuple[bytes, bool], tags=()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for png, key in images:
        cell = nbformat.v4.new_code_cell("show(chart)", metadata={"tags": list(tags)})
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data",
                data={"image/png": base64.b64encode(png).decode()},
                metadata={KEY_CHART: True} if key else {},
            )
        ]
        nb.cells.append(cell)
    return nb


@pytest.fixture(scope="module")
def chart_png() -> bytes:
    """A real fan chart as a notebook shows it (110 dpi, tight box): the size we thumbnail."""
    rng = np.random.default_rng(0)
    months = pd.date_range("2021-01-01", periods=48, freq="MS")
    paths = pd.DataFrame(
        1e8 * np.exp(np.cumsum(0.05 + 0.1 * rng.standard_normal((300, 48)), axis=1)),
        columns=months,
    )
    fig = fan_chart(paths, last_actual="2022-12-01", goal=20e9, goal_window=("2023-01", "2023-12"))
    fig.set_dpi(110)
    return png_bytes(fig)


def test_the_marked_chart_is_the_key_else_the_first():
    red, blue = solid_png("red"), solid_png("blue")
    assert key_chart(notebook((red, False), (blue, True))) == blue
    assert key_chart(notebook((red, False), (blue, False))) == red
    assert key_chart(notebook()) is None
    assert key_chart(notebook((red, True), tags=["remove-cell"])) is None  # hidden from readers
    assert thumbnail_for(notebook()) is None


def test_a_chart_becomes_a_small_png_of_its_proportions(chart_png):
    width, height = Image.open(io.BytesIO(chart_png)).size
    thumb = make_thumbnail(chart_png)
    small = Image.open(io.BytesIO(thumb))
    assert small.format == "PNG" and small.mode == "P"
    assert small.size[0] <= MAX_SIZE[0] and small.size[1] <= MAX_SIZE[1]
    assert max(small.size[0] / MAX_SIZE[0], small.size[1] / MAX_SIZE[1]) > 0.99  # fills the box
    assert small.size[0] / small.size[1] == pytest.approx(width / height, rel=0.02)
    assert len(thumb) < 12_000, len(thumb)  # a few kilobytes (the chart: about 70 kB)
    assert png_size(thumb) == small.size
    print(f"chart {len(chart_png):,} bytes {width}x{height} -> thumbnail {len(thumb):,} bytes")


def test_a_transparent_chart_is_put_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (400, 200), (0, 0, 0, 0)).save(out, "PNG")
    small = Image.open(io.BytesIO(make_thumbnail(out.getvalue()))).convert("RGB")
    assert small.getpixel((10, 10)) == (255, 255, 255)


def test_reading_back_refuses_what_is_not_a_small_png(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert read_thumbnail(run) is None  # no thumbnail
    good = make_thumbnail(solid_png("green", (640, 200)))
    (run / THUMBNAIL_NAME).write_bytes(good)
    shown = read_thumbnail(run)
    assert shown["uri"] == "data:image/png;base64," + base64.b64encode(good).decode()
    assert (shown["width"], shown["height"]) == (320, 100)
    (run / THUMBNAIL_NAME).write_bytes(b"<script>alert(1)</script>")
    assert read_thumbnail(run) is None  # not a PNG
    (run / THUMBNAIL_NAME).write_bytes(good + b"\0" * thumbnails.MAX_BYTES)
    assert read_thumbnail(run) is None  # too large
    (run / THUMBNAIL_NAME).unlink()
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(good)
    (run / THUMBNAIL_NAME).symlink_to(outside)
    assert read_thumbnail(run) is None  # a link is never followed
    (run / THUMBNAIL_NAME).unlink()
    os.mkfifo(run / THUMBNAIL_NAME)
    assert read_thumbnail(run) is None  # a FIFO does not hang the gallery


def test_a_chart_that_is_not_an_image_gives_no_thumbnail_not_a_failure(caplog):
    broken = notebook((b"\x89PNG\r\n\x1a\n not really a png", True))
    with caplog.at_level("WARNING", logger="shopcast"):
        assert thumbnail_for(broken) is None
    assert "no thumbnail" in caplog.text
