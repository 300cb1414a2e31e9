"""The GB2 families (Burr XII, Dagum, GB2): closed forms against scipy and numerical integration;
interval-censored fits against scipy.stats.CensoredData; rescaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from shopcast.sellers.families import FAMILY_CLASSES, GB2, Burr12, Dagum, rescale
from shopcast.sellers.model import SizeModel
from shopcast.sellers.vocabulary import FAMILIES, FAMILY_N_PARAMS

X = np.array([50.0, 3e3, 4e4, 2.5e5, 1e6, 3e7])
GB2_P = {"a": 1.3, "scale": 5e4, "p": 0.8, "q": 1.9}
BURR_P = {"a": 1.5, "scale": 3e4, "q": 1.2}
DAGUM_P = {"a": 2.5, "scale": 3e4, "p": 0.6}


def _scipy(family, p):
    """The scipy distribution each family equals (the parametrisations checked here)."""
    if family == "burr12":
        return stats.burr12(p["a"], p["q"], scale=p["scale"])
    if family == "dagum":
        return stats.burr(p["a"], p["p"], scale=p["scale"])
    return None


def _numeric_partial(fam, p, t):
    """E[X; X > t] by integrating x f(x) on the log scale (x = e^s, dx = x ds)."""
    value, _ = integrate.quad(
        lambda s: np.exp(2 * s + fam.logpdf(np.exp(s), p)), np.log(t), 80, limit=400
    )
    return value


def test_vocabulary_declares_every_family_once():
    assert tuple(FAMILY_CLASSES) == FAMILIES
    for name, cls in FAMILY_CLASSES.items():
        assert len(cls.names) == FAMILY_N_PARAMS[name]


@pytest.mark.parametrize("family,p", [("burr12", BURR_P), ("dagum", DAGUM_P)])
def test_burr_and_dagum_match_scipy(family, p):
    fam, ref = FAMILY_CLASSES[family], _scipy(family, p)
    np.testing.assert_allclose(fam.sf(X, p), ref.sf(X), rtol=1e-6)
    np.testing.assert_allclose(np.exp(fam.logpdf(X, p)), ref.pdf(X), rtol=1e-6)
    np.testing.assert_allclose(fam.mean(p), ref.mean(), rtol=1e-8)
    u = np.array([1e-5, 0.2, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(fam.ppf(u, p), ref.ppf(u), rtol=1e-6)


def test_dagum_is_mielke_with_k_ap():
    p = DAGUM_P
    ref = stats.mielke(p["a"] * p["p"], p["a"], scale=p["scale"])
    np.testing.assert_allclose(Dagum.sf(X, p), ref.sf(X), rtol=1e-6)


def test_gb2_is_a_power_of_a_beta_prime():
    # X = scale * Y**(1/a) with Y ~ betaprime(p, q).
    p = GB2_P
    z = (X / p["scale"]) ** p["a"]
    np.testing.assert_allclose(GB2.sf(X, p), stats.betaprime.sf(z, p["p"], p["q"]), rtol=1e-8)
    jac = p["a"] / p["scale"] * (X / p["scale"]) ** (p["a"] - 1)
    np.testing.assert_allclose(
        np.exp(GB2.logpdf(X, p)), stats.betaprime.pdf(z, p["p"], p["q"]) * jac, rtol=1e-8
    )
    np.testing.assert_allclose(GB2.sf(GB2.ppf(1 - 1e-7, p), p), 1e-7, rtol=1e-4)


@pytest.mark.parametrize("family,p", [("burr12", BURR_P), ("dagum", DAGUM_P), ("gb2", GB2_P)])
@pytest.mark.parametrize("t", [1e3, 1e5, 2e6])
def test_mean_and_partial_expectation_match_numerical_integration(family, p, t):
    fam = FAMILY_CLASSES[family]
    assert fam.partial_expectation(t, p) == pytest.approx(_numeric_partial(fam, p, t), rel=1e-6)
    assert fam.mean(p) == pytest.approx(_numeric_partial(fam, p, 1e-12), rel=1e-6)
    total, _ = integrate.quad(lambda s: np.exp(s + fam.logpdf(np.exp(s), p)), -40, 80, limit=400)
    assert total == pytest.approx(1.0, abs=1e-7)


def test_infinite_mean_is_reported_as_such():
    p = {"a": 0.8, "scale": 1e4, "q": 1.1}  # a * q = 0.88 <= 1
    assert np.isinf(Burr12.mean(p))
    assert np.isinf(Burr12.partial_expectation(1e5, p))


@pytest.mark.parametrize("family", FAMILIES)
def test_rescale_multiplies_every_size(family):
    p = {
        "lognormal": {"mu": 10.0, "sigma": 1.2},
        "pareto": {"x_min": 1e4, "alpha": 1.7},
        "lognormal_pareto": {"mu": 9.0, "sigma": 1.5, "tail_from": 2e5, "alpha": 1.6},
        "burr12": BURR_P,
        "dagum": DAGUM_P,
        "gb2": GB2_P,
    }[family]
    fam, c = FAMILY_CLASSES[family], 0.37
    q = rescale(family, p, c)
    assert fam.mean(q) == pytest.approx(c * fam.mean(p), rel=1e-10)
    np.testing.assert_allclose(fam.sf(c * X, q), fam.sf(X, p), rtol=1e-10, atol=1e-300)


def _brackets(dist, n, cuts, seed=0):
    x = dist.rvs(size=n, random_state=np.random.default_rng(seed))
    lo = np.array([0.0, *cuts])
    hi = np.array([*cuts, np.inf])
    counts = np.histogram(x, bins=[*lo, np.inf])[0]
    return pd.DataFrame({"lower_usd": lo, "upper_usd": hi, "count": counts}), x


CUTS = [5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6]


@pytest.mark.parametrize("family,p", [("burr12", BURR_P), ("dagum", DAGUM_P)])
def test_interval_censored_fit_recovers_known_parameters(family, p):
    table, _ = _brackets(_scipy(family, p), 40_000, CUTS)
    m = SizeModel(family).fit_brackets(table)
    for name, value in p.items():
        assert m.params_[name] == pytest.approx(value, rel=0.12), name
    assert m.survival([1e5])[0] == pytest.approx(_scipy(family, p).sf(1e5), rel=0.05)


def test_bracket_likelihood_is_scipys_censored_likelihood():
    # The bracket fit maximises the interval-censored likelihood that scipy.stats.CensoredData
    # defines: the same negative log-likelihood at the fitted parameters, and scipy's own fit on
    # the CensoredData lands on the same parameters.
    table, _ = _brackets(stats.lognorm(1.4, scale=np.exp(10.2)), 3_000, CUTS, seed=4)
    m = SizeModel("lognormal").fit_brackets(table)
    lo = np.repeat(table["lower_usd"].to_numpy(), table["count"].to_numpy())
    hi = np.repeat(table["upper_usd"].to_numpy(), table["count"].to_numpy())
    data = stats.CensoredData.interval_censored(low=lo, high=hi)
    p = m.params_
    # nnlf refuses CensoredData; _penalized_nnlf is the objective scipy's own fit minimises on it.
    scipy_nll = stats.lognorm._penalized_nnlf((p["sigma"], 0.0, np.exp(p["mu"])), data)
    assert m.loglik_ == pytest.approx(-scipy_nll, rel=1e-9)
    shape, _, scale = stats.lognorm.fit(data, floc=0)
    assert p["sigma"] == pytest.approx(shape, rel=2e-3)
    assert p["mu"] == pytest.approx(np.log(scale), abs=2e-3)
    burr = SizeModel("burr12").fit_brackets(table)
    bp = burr.params_
    nll = stats.burr12._penalized_nnlf((bp["a"], bp["q"], 0.0, bp["scale"]), data)
    assert burr.loglik_ == pytest.approx(-nll, rel=1e-9)


def test_microdata_fit_recovers_gb2_special_case():
    x = _scipy("dagum", DAGUM_P).rvs(size=20_000, random_state=np.random.default_rng(1))
    m = SizeModel("dagum").fit_microdata(pd.DataFrame({"annual_gmv_usd": x}))
    assert m.params_["a"] == pytest.approx(DAGUM_P["a"], rel=0.05)
    assert m.params_["p"] == pytest.approx(DAGUM_P["p"], rel=0.1)
