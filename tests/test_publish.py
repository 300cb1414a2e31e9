"""publish(), format_value() and record_input() outside a kernel."""

from __future__ import annotations

import hashlib
import importlib
import json

import numpy as np
import pandas as pd
import pytest

# shopcast/__init__ re-exports the function publish, which hides the module of the same name
publish_module = importlib.import_module("shopcast.publish")
from shopcast.publish import PublishError, format_value, publish, record_input  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    """Each test publishes into empty registries, not the module's process-wide ones."""
    monkeypatch.setattr(publish_module, "published", {})
    monkeypatch.setattr(publish_module, "inputs", {})


# --------------------------------------------------------------------------------------------
# publish


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (np.float64(0.25), 0.25),
        (np.int64(7), 7),
        (np.bool_(True), True),
        (np.array([1.5, 2.5]), [1.5, 2.5]),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (pd.Series([1.0, 2.0]), [1.0, 2.0]),
        (float("nan"), None),
        (float("inf"), None),
        (np.float64("nan"), None),
        (np.array([1.0, np.nan]), [1.0, None]),
        ((1, np.float32(0.5)), [1, 0.5]),
        ({"a": np.int32(3), 2: [np.nan]}, {"a": 3, "2": [None]}),
        (None, None),
        ("2024-05", "2024-05"),
    ],
)
def test_publish_unwraps_to_plain_json(value, plain):
    out = publish("x", value)
    assert out == plain
    assert publish_module.published["x"] == plain
    # the types are Python's own (JSON-writable without help, NaN refused)
    assert json.loads(json.dumps(out, allow_nan=False)) == plain
    assert type(out) is type(plain)


def test_publish_unwrapped_scalars_are_python_types():
    assert type(publish("f", np.float64(1.5))) is float
    assert type(publish("i", np.int64(2))) is int
    assert type(publish("b", np.bool_(False))) is bool


@pytest.mark.parametrize("value", [object(), pd.Timestamp("2023-01-01"), {"k": object()}])
def test_publish_refuses_what_json_cannot_write(value):
    with pytest.raises(PublishError, match=r"'bad' is a .*not JSON-serialisable"):
        publish("bad", value)
    assert "bad" not in publish_module.published


def test_publish_error_is_a_type_error():
    # notebooks may catch TypeError; the runner reports it as a failed cell either way
    assert issubclass(PublishError, TypeError)


# --------------------------------------------------------------------------------------------
# format_value


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (0.1234, ".1%", "12.3%"),
        (0.5, ".0%", "50%"),
        (1234567.4, ",.0f", "1,234,567"),
        (500000, ",.0f", "500,000"),
        (2.78e10, "usd", "$27.8B"),
        (4.5e6, "usd", "$4.5M"),
        (1500, "usd", "$1.5k"),
        (950, "usd", "$950"),
        (None, ".1%", "n/a"),
        (None, "usd", "n/a"),
        (None, None, "n/a"),
        (0.123456789, None, "0.1235"),
        (1234567.0, None, "1.235e+06"),
        (42, None, "42"),
        ("prophet", ".1%", "prophet"),  # a spec that does not fit the value is not applied
        ([0.1, 0.25], ".0%", "10%, 25%"),
        (True, None, "True"),
    ],
)
def test_format_value(value, fmt, shown):
    assert format_value(value, fmt) == shown


def test_format_value_with_a_bad_spec_falls_back_to_plain():
    assert format_value(3, "not a spec") == "3"
    assert format_value(0.5, "not a spec") == "0.5"


# --------------------------------------------------------------------------------------------
# record_input


def test_record_input_returns_the_files_sha256(tmp_path):
    path = tmp_path / "data.csv"
    content = b"date,gmv\n2023-01-01,100\n" * 1000
    path.write_bytes(content)
    digest = record_input(path)
    assert digest == hashlib.sha256(content).hexdigest()
    assert publish_module.inputs == {str(path.resolve()): digest}


def test_record_input_reads_files_larger_than_one_block(tmp_path):
    # sha256() reads 1 MiB blocks; a file of 2.5 blocks checks the loop
    content = bytes(range(256)) * (10 * 1024 + 3)
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    assert len(content) > 2 * (1 << 20)
    assert record_input(path) == hashlib.sha256(content).hexdigest()


def test_record_input_of_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert record_input(path) == hashlib.sha256(b"").hexdigest()
    assert list(publish_module.inputs.values()) == [hashlib.sha256(b"").hexdigest()]


# --------------------------------------------------------------------------------------------
# the card an analyst sees in JupyterLab, and that a report does not repeat


def test_headline_bundle_shows_a_card_with_the_exact_value():
    payload = {
        "name": "window_total",
        "value": 19712345678.9,
        "label": "GMV <median>",
        "fmt": "usd",
    }
    bundle = publish_module.headline_bundle(payload)
    assert bundle[publish_module.HEADLINE_MIME] == payload
    card = bundle["text/html"]
    assert "<b>$19.7B</b>" in card
    assert "window_total = 19712345678.9" in card  # the exact value, not only the rounded one
    assert "GMV &lt;median&gt;" in card  # labels are escaped
    assert bundle["text/plain"] == "GMV <median>: $19.7B (window_total = 19712345678.9)"


def test_a_report_shows_a_published_value_once():
    import nbformat

    from shopcast.workbench.render import render_html

    payload = {"name": "factor", "value": 0.8765, "label": "Simulated GMV factor", "fmt": ".1%"}
    cell = nbformat.v4.new_code_cell("publish(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=publish_module.headline_bundle(payload))
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    record = {
        "notebook": "nb",
        "scenario": "base",
        "status": "succeeded",
        "headline": {"factor": {k: v for k, v in payload.items() if k != "name"}},
    }
    page = render_html(nb, record)
    assert page.count("87.6%") == 1  # in the header card, not again where publish() ran
    assert 'data-headline="factor"' in page
    assert "shopcast-published" not in page
