"""The Monte-Carlo standard error of a goal probability, with rows that share history draws.

A forecast from reconstructed histories draws several future paths from each history draw, so
rows are not independent: those that share a draw are clustered. A sum of segments is clustered
in several ways at once, once per segment (each row holds one draw of every segment), which is
the multi-way clustering of Cameron, Gelbach and Miller (2011, "Robust inference with multiway
clustering", JBES 29(2)).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _clustered_variance(centred: np.ndarray, labels: object) -> float:
    """Sandwich variance of a mean whose rows are correlated within each cluster."""
    codes = pd.factorize(pd.Series(list(labels)))[0]
    k = int(codes.max()) + 1
    n = len(centred)
    if k < 2:
        return float(np.sum(centred**2)) / n**2
    sums = np.bincount(codes, weights=centred, minlength=k)
    return k / (k - 1) * float(np.sum(sums**2)) / n**2


def probability_se(hit: np.ndarray, clusters: object = None) -> float:
    """Monte-Carlo standard error of ``hit.mean()``.

    Args:
        hit: one 0/1 value per row (the goal reached on that path).
        clusters: None (independent rows: ``sqrt(p(1-p)/n)``); one label per row (one-way
            clusters: the history draw of each row); or one tuple of labels per row (multi-way:
            the draw of each segment under an aggregate). Multi-way, the variance is
            ``sum_j V_j - (d - 1) V_all``, ``V_j`` clustered by dimension ``j`` and ``V_all`` by
            the whole tuple: Cameron, Gelbach and Miller's estimator, exact when rows sharing
            a draw in two dimensions share it in all (blocks of rows) and when no two rows share
            draws in two dimensions (rows re-paired across segments); it is floored at the
            independent rows' variance.
    """
    n = len(hit)
    p = float(np.mean(hit))
    independent = p * (1.0 - p) / n
    if clusters is None or len(clusters) != n:
        return math.sqrt(independent)
    labels = list(clusters)
    centred = np.asarray(hit, float) - p
    if not isinstance(labels[0], tuple):
        return math.sqrt(_clustered_variance(centred, labels))
    d = len(labels[0])
    variance = sum(_clustered_variance(centred, [row[j] for row in labels]) for j in range(d))
    variance -= (d - 1) * _clustered_variance(centred, labels)
    return math.sqrt(max(variance, independent))
