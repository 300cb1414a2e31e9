"""The Monte-Carlo error of a goal probability: independent, one-way and multi-way clusters."""

from __future__ import annotations

import numpy as np
import pytest

from shopcast.gmv.monte_carlo import probability_se


def test_independent_rows_give_the_binomial_error():
    hit = np.array([1, 0, 0, 1, 1, 0, 1, 1], float)
    assert probability_se(hit) == pytest.approx(np.sqrt(5 / 8 * 3 / 8 / 8))


def test_multiway_with_identical_partitions_is_the_one_way_error():
    rng = np.random.default_rng(0)
    hit = (rng.random(300) < 0.4).astype(float)
    block = np.repeat(np.arange(30), 10)
    one_way = probability_se(hit, block)
    assert probability_se(hit, [(b, b, b) for b in block]) == pytest.approx(one_way, rel=1e-12)


def test_crossed_clusters_match_the_spread_of_repeated_estimates():
    # rows paired at random across two factors, each with a random effect on every row of its
    # cluster: the error of the mean comes from both factors
    rng = np.random.default_rng(1)
    n, k = 400, 20
    estimates, errors, one_way = [], [], []
    for _ in range(1500):
        a = rng.permutation(np.repeat(np.arange(k), n // k))
        b = rng.permutation(np.repeat(np.arange(k), n // k))
        latent = rng.normal(0, 1, k)[a] + rng.normal(0, 1, k)[b] + rng.normal(0, 1, n)
        hit = (latent > 0.3).astype(float)
        estimates.append(hit.mean())
        errors.append(probability_se(hit, list(zip(a, b, strict=True))))
        one_way.append(probability_se(hit, a))
    truth = np.std(estimates)
    assert np.sqrt(np.mean(np.square(errors))) == pytest.approx(truth, rel=0.12)
    assert np.sqrt(np.mean(np.square(one_way))) < 0.85 * truth  # one factor alone is too sure
