"""The gallery's thumbnail of a report: its key chart, scaled down to a few kilobytes.

When a report is rendered, the runner takes its key chart (the image a notebook showed with
``show(fig, key=True)``, whose output carries :data:`shopcast.publish.KEY_CHART`; without one,
the report's first image), scales it to fit :data:`MAX_SIZE` pixels, reduces it to
:data:`COLORS` colours and writes it into the run folder as ``thumbnail.png``
(:data:`shopcast.config.THUMBNAIL_NAME`). The gallery embeds it as a ``data:`` image beside the
scenario's headline values, so the gallery stays one self-contained page; a file that is not a
small PNG (:data:`MAX_BYTES`) is not shown.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
import stat
import struct
from pathlib import Path
from typing import Any

import nbformat

from shopcast.config import THUMBNAIL_NAME
from shopcast.exceptions import RunInterrupted
from shopcast.publish import KEY_CHART
from shopcast.workbench.render import HIDDEN_TAGS

#: A thumbnail fits in this box (width, height) in pixels, keeping the chart's proportions.
MAX_SIZE = (320, 200)
#: Colours of the thumbnail's palette (charts are flat colours: 64 keep them and halve the bytes).
COLORS = 64
#: The largest thumbnail the gallery embeds (a few kilobytes are expected).
MAX_BYTES = 64_000
#: The largest chart image (base64 characters) made into a thumbnail.
MAX_SOURCE_CHARS = 40_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

log = logging.getLogger("shopcast")


def key_chart(nb: nbformat.NotebookNode) -> bytes | None:
    """The PNG of the report's key chart: the image marked as key, else the first; None if none."""
    images = []
    for cell in nb.cells:
        if cell.cell_type != "code" or HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                images.append((bool(out.get("metadata", {}).get(KEY_CHART)), data["image/png"]))
    chosen = next((png for key, png in images if key), images[0][1] if images else None)
    if not isinstance(chosen, str) or len(chosen) > MAX_SOURCE_CHARS:
        return None
    try:
        return base64.b64decode(chosen, validate=False)
    except (binascii.Error, ValueError):
        return None


def make_thumbnail(png: bytes) -> bytes:
    """``png`` scaled to fit :data:`MAX_SIZE` on white, in a :data:`COLORS`-colour palette."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.load()
        flat = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        flat.paste(rgba, mask=rgba.getchannel("A"))
    flat.thumbnail(MAX_SIZE, Image.Resampling.LANCZOS)
    small = flat.quantize(colors=COLORS, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    return out.getvalue()


def thumbnail_for(nb: nbformat.NotebookNode) -> bytes | None:
    """The thumbnail of an executed notebook's key chart.

    None without a chart, or (logged) when the chart cannot be read: a report never fails for
    want of its picture in the gallery.
    """
    png = key_chart(nb)
    if not png:
        return None
    try:
        return make_thumbnail(png)
    except (KeyboardInterrupt, RunInterrupted):
        raise
    except Exception:  # a picture the gallery can do without
        log.warning("no thumbnail: the key chart could not be scaled down", exc_info=True)
        return None


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG from its header; None if ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def read_thumbnail(run_dir: Path) -> dict[str, Any] | None:
    """A run's thumbnail for the gallery: ``uri`` (a ``data:`` PNG), ``width``, ``height``.

    None when the run has none, or its file is a link, not a PNG, or over :data:`MAX_BYTES`.
    """
    try:
        fd = os.open(run_dir / THUMBNAIL_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # a FIFO or device
            return None
        data = handle.read(MAX_BYTES + 1)
    size = png_size(data)
    if size is None or len(data) > MAX_BYTES:
        return None
    return {
        "uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
        "width": size[0],
        "height": size[1],
        "bytes": len(data),
    }
