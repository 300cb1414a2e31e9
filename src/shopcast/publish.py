"""The one helper both layers share: notebooks publish headline values, loaders record inputs.

Inside a Jupyter kernel each call emits a display output with a shopcast MIME type; the runner
reads these back from the executed notebook (as scrapbook's ``glue`` does) into ``run.json`` and the
report's header. A headline's output also carries a compact card (``text/html``, with the exact
value) so an analyst in JupyterLab sees what was published; the report renderer drops every output
with a shopcast MIME type, so a report shows each value once, in its header. Outside a kernel (a
plain Python session, a test) the calls only validate and remember their values.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from pathlib import Path
from typing import Any

from shopcast.exceptions import PublishError
from shopcast.formatting import usd

HEADLINE_MIME = "application/vnd.shopcast.headline+json"
INPUT_MIME = "application/vnd.shopcast.input+json"
#: Output metadata marking a report's key chart (``shopcast.charts.data.show(fig, key=True)``):
#: the runner makes the gallery's thumbnail of the scenario from that image.
KEY_CHART = "shopcast_key_chart"

#: What this process has published, for callers outside a kernel.
published: dict[str, Any] = {}
inputs: dict[str, str] = {}


def _plain(value: Any, name: str) -> Any:
    """``value`` as plain JSON types; numpy scalars and arrays are unwrapped."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise PublishError(
        f"headline value {name!r} is a {type(value).__name__}, which is not JSON-serialisable; "
        "publish a number, string, bool, list or dict of those (e.g. float(x))."
    )


def _emit(mime: str, payload: dict[str, Any], shown: dict[str, str] | None = None) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        return
    if get_ipython() is not None:
        display({mime: payload, **(shown or {})}, raw=True)


CARD_STYLE = (
    "display:inline-block;margin:2px 0;padding:4px 10px;border:1px solid #d0d7de;"
    "border-radius:6px;background:#f6f8fa;font:13px system-ui,sans-serif"
)


def headline_bundle(payload: dict[str, Any]) -> dict[str, Any]:
    """A headline's display output: its shopcast MIME type, a compact card and plain text.

    The card shows the value as formatted for readers, its label, and its name with the exact
    value (the formatted one is rounded).
    """
    shown = format_value(payload["value"], payload.get("fmt"))
    exact = json.dumps(payload["value"])
    label = payload.get("label") or payload["name"]
    card = (
        f'<div class="shopcast-published" style="{CARD_STYLE}">'
        f"<b>{html.escape(shown)}</b> {html.escape(label)} "
        f'<code style="color:#57606a">{html.escape(payload["name"])} = {html.escape(exact)}</code>'
        "</div>"
    )
    return {
        HEADLINE_MIME: payload,
        "text/html": card,
        "text/plain": f"{label}: {shown} ({payload['name']} = {exact})",
    }


def publish(name: str, value: Any, label: str | None = None, fmt: str | None = None) -> Any:
    """Publish one headline value of a report.

    Args:
        name: a stable key, e.g. ``"probability_of_goal"``.
        value: a JSON-serialisable value (numpy scalars are accepted and unwrapped).
        label: words for a reader, shown in the report header and the gallery.
        fmt: a Python format spec for display, e.g. ``".1%"`` or ``",.0f"``, or ``"usd"`` for a
            short dollar label such as ``$27.8B``.

    Returns:
        The value as published (plain JSON types).

    Raises:
        PublishError: when the value cannot be written as JSON.
    """
    plain = _plain(value, name)
    json.dumps(plain, allow_nan=False)
    published[name] = plain
    payload = {"name": name, "value": plain, "label": label or name, "fmt": fmt}
    bundle = headline_bundle(payload)
    _emit(HEADLINE_MIME, bundle.pop(HEADLINE_MIME), bundle)
    return plain


def sha256(path: str | Path) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_input(path: str | Path) -> str:
    """Record that a data file was read; returns its SHA-256 (shown in the report's provenance)."""
    resolved = str(Path(path).resolve())
    digest = sha256(resolved)
    inputs[resolved] = digest
    _emit(INPUT_MIME, {"path": resolved, "sha256": digest})
    return digest


def format_value(value: Any, fmt: str | None = None) -> str:
    """A headline value as a reader sees it, using its published format spec when it has one."""
    if value is None:
        return "n/a"
    if fmt == "usd" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return usd(value)
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return format(value, fmt)
        except (ValueError, TypeError):
            pass
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list):
        return ", ".join(format_value(v, fmt) for v in value)
    return str(value)
