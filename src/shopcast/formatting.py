"""How numbers read: one dollar formatter and one P10-P90 formatter for every report and chart."""

from __future__ import annotations

from typing import Any

_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def usd(x: float, spec: str = ",.1f", tex: bool = False) -> str:
    """A short dollar label such as ``$27.8B``, ``-$2.5M`` or ``$950``.

    The unit is chosen after rounding, so 999,950 reads ``$1.0M``, not ``$1,000.0k``.

    Args:
        x: an amount in US dollars.
        spec: the format spec of the number in its unit: ``",.1f"`` (reports, the default),
            ``".3g"`` (seller sizes: ``$2.5M``, ``$10k``) or ``"g"`` (axis ticks: ``$5B``).
        tex: escape the dollar sign for matplotlib's mathtext (axis labels and ticks).
    """
    x = float(x)
    sign, x = ("-" if x < 0 else ""), abs(x)
    dollar = "\\$" if tex else "$"
    for size, suffix in _UNITS:
        if float(format(x / size, spec.replace(",", ""))) >= 1:
            return f"{sign}{dollar}{format(x / size, spec)}{suffix}"
    small = spec if "g" in spec else ",.0f"
    return f"{sign}{dollar}{format(x, small)}"


def p10_p90(low: Any, high: Any, fmt: Any) -> str:
    """``"P10-P90 $5.0B to $73.5B"``: a band with each end formatted by ``fmt`` (a callable)."""
    return f"P10-P90 {fmt(low)} to {fmt(high)}"


def usd_short(x: float) -> str:
    """A dollar label to three significant figures (``$10k``, ``$2.5M``): sizes, thresholds."""
    return usd(x, ".3g")
