"""Error messages stay bounded and readable whatever value caused them."""

from __future__ import annotations

import numpy as np

from shopcast.exceptions import (
    MAX_MESSAGE_CHARS,
    MAX_SHOWN_CHARS,
    DataError,
    ParameterError,
    excerpt,
)


def test_a_huge_string_value_is_shown_as_a_bounded_excerpt():
    message = str(ParameterError("data_segment", "a" * 10_000_000, "at most 200 characters"))
    assert len(message) < MAX_SHOWN_CHARS + 200
    shown = MAX_SHOWN_CHARS - 40  # the repr has 10,000,002 characters (quotes included)
    assert f"<{10_000_002 - shown} characters left out>" in message


def test_an_alias_amplified_value_is_never_expanded():
    value: list = ["x" * 10] * 9
    for _ in range(9):  # 9**10 strings if expanded: gigabytes of text
        value = [value] * 9
    message = str(ParameterError("thresholds", value, "a flat list of numbers"))
    assert len(message) <= MAX_MESSAGE_CHARS
    assert "characters left out" in message


def test_numpy_scalars_print_as_plain_numbers():
    assert excerpt(np.float64(-20.0)) == "-20.0"
    assert excerpt([np.float64(1.5), np.int64(3)]) == "[1.5, 3]"
    assert "np.float64" not in str(ParameterError("x", np.float64(-20.0), "positive"))


def test_data_error_messages_are_bounded():
    err = DataError("f.csv", "value " + "9" * 100_000 + " is too large", row=3, column="gmv")
    assert len(str(err)) <= MAX_MESSAGE_CHARS and str(err).startswith("f.csv, line 3")
