"""Tests for shopcast.sellers (families, loaders, model, fitting): closed forms, parameter
recovery, facts fits, ambiguity, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from shopcast.exceptions import DataError, ParameterError
from shopcast.sellers.loaders import load_brackets, load_facts, load_microdata
from shopcast.sellers.model import SizeModel

DATA = "tests/data"
FACTS = "data/seller_size_facts.csv"


def _tail_integral(fun, lo, hi=None):
    """Integral of fun(x) from lo to hi (default: far into the tail), on a log scale of x."""
    y_hi = np.log(hi) if hi is not None else np.log(max(lo, 1.0)) + 80.0
    return integrate.quad(lambda y: fun(np.exp(y)) * np.exp(y), np.log(lo), y_hi, limit=400)[0]


def _model(family, **params):
    m = SizeModel(family)
    m.params_ = params
    return m


LN = {"mu": 11.0, "sigma": 1.5}
PA = {"x_min": 20_000.0, "alpha": 1.6}
LP = {"mu": 10.0, "sigma": 1.2, "tail_from": 1e5, "alpha": 1.5}


@pytest.mark.parametrize("t", [5e3, 5e4, 2e5, 3e6])
def test_lognormal_closed_forms_match_numeric_integration(t):
    m = _model("lognormal", **LN)
    dist = stats.lognorm(s=LN["sigma"], scale=np.exp(LN["mu"]))
    assert m.survival(t)[0] == pytest.approx(dist.sf(t), rel=1e-10)
    pe = _tail_integral(lambda x: x * dist.pdf(x), t)
    assert m.gmv_share_above(t)[0] == pytest.approx(pe / dist.mean(), rel=1e-6)


@pytest.mark.parametrize("t", [1e4, 5e4, 2e5, 3e6])
def test_pareto_closed_forms_match_numeric_integration(t):
    m = _model("pareto", **PA)
    dist = stats.pareto(b=PA["alpha"], scale=PA["x_min"])
    assert m.survival(t)[0] == pytest.approx(dist.sf(t), rel=1e-10)
    lo = max(t, PA["x_min"])
    pe = _tail_integral(lambda x: x * dist.pdf(x), lo)
    assert m.gmv_share_above(t)[0] == pytest.approx(pe / dist.mean(), rel=1e-6)
    assert m.gmv_share_above(t)[0] == pytest.approx((lo / PA["x_min"]) ** (1 - PA["alpha"]))


def test_body_tail_density_is_continuous_normalised_and_consistent():
    m = _model("lognormal_pareto", **LP)
    fam, u = m._fam, LP["tail_from"]
    assert np.exp(fam.logpdf(u * (1 - 1e-9), LP)) == pytest.approx(
        np.exp(fam.logpdf(u * (1 + 1e-9), LP)), rel=1e-6
    )

    def pdf(x):
        return np.exp(fam.logpdf(x, LP))

    def xpdf(x):
        return x * pdf(x)

    assert _tail_integral(pdf, 1e-3, u) + _tail_integral(pdf, u) == pytest.approx(1.0, rel=1e-8)
    mean = _tail_integral(xpdf, 1e-3, u) + _tail_integral(xpdf, u)
    for t in (3e4, 2e5):
        below = _tail_integral(pdf, t, u) if t < u else 0.0
        assert m.survival(t)[0] == pytest.approx(below + _tail_integral(pdf, max(t, u)), rel=1e-6)
        below = _tail_integral(xpdf, t, u) if t < u else 0.0
        pe = below + _tail_integral(xpdf, max(t, u))
        assert m.gmv_share_above(t)[0] == pytest.approx(pe / mean, rel=1e-6)
    q = np.array([0.1, 0.5, 0.9, 0.999])
    assert m.survival(m.quantile(q)) == pytest.approx(1 - q, rel=1e-8)


def test_microdata_recovers_known_parameters():
    # 2,000 sellers from lognormal(11, 1.5): standard errors ~0.034 (mu) and ~0.024 (sigma).
    m = SizeModel("lognormal").fit_microdata(f"{DATA}/sellers_microdata_lognormal.csv")
    assert m.params_["mu"] == pytest.approx(11.0, abs=0.1)
    assert m.params_["sigma"] == pytest.approx(1.5, abs=0.08)
    x = _model("lognormal_pareto", **LP).sample(50_000, seed=1)
    fit = SizeModel("lognormal_pareto").fit_microdata(pd.DataFrame({"annual_gmv_usd": x}))
    assert fit.params_["mu"] == pytest.approx(10.0, abs=0.05)
    assert fit.params_["sigma"] == pytest.approx(1.2, abs=0.05)
    assert fit.params_["alpha"] == pytest.approx(1.5, abs=0.1)
    assert fit.params_["tail_from"] == pytest.approx(1e5, rel=0.3)
    assert fit.aic_ < SizeModel("lognormal").fit_microdata(pd.DataFrame({"annual_gmv_usd": x})).aic_
    xp = _model("pareto", **PA).sample(20_000, seed=2)
    pa = SizeModel("pareto").fit_microdata(pd.DataFrame({"annual_gmv_usd": xp}))
    assert pa.params_["alpha"] == pytest.approx(1.6, abs=0.05)


def test_brackets_recover_known_parameters():
    # 20,000 sellers in 7 brackets cut from lognormal(11, 1.5).
    m = SizeModel("lognormal").fit_brackets(f"{DATA}/sellers_brackets_lognormal.csv")
    assert m.params_["mu"] == pytest.approx(11.0, abs=0.05)
    assert m.params_["sigma"] == pytest.approx(1.5, abs=0.05)
    assert np.isfinite(m.aic_)
    assert m.fit_table_["residual"].abs().max() < 0.01
    shares = load_brackets(f"{DATA}/sellers_brackets_lognormal.csv")
    shares = shares.assign(share=shares["count"] / shares["count"].sum()).drop(columns="count")
    again = SizeModel("lognormal").fit_brackets(shares, n_sellers=20_000)
    assert again.params_["mu"] == pytest.approx(m.params_["mu"], abs=1e-4)


def test_facts_fit_reproduces_consistent_inputs():
    # Facts computed from a known lognormal are reproduced to 1e-4 relative.
    truth = _model("lognormal", **LN)
    n = 500_000
    facts = pd.DataFrame(
        {
            "fact_id": ["n", "mean", "s100k", "s500k", "top1000"],
            "population": "p",
            "kind": ["n_sellers", "mean", "share_above", "share_above", "top_n_gmv_share"],
            "level_usd": [np.nan, np.nan, 1e5, 5e5, np.nan],
            "top_n": [np.nan, np.nan, np.nan, np.nan, 1000],
            "value": [
                n,
                float(truth.mean()),
                truth.survival(1e5)[0],
                truth.survival(5e5)[0],
                truth.top_n_gmv_share(1000, n)[0],
            ],
        }
    )
    m = SizeModel("lognormal").fit_facts(facts, populations=["p"])
    used = m.fit_table_[m.fit_table_["used"]]
    assert (used["fitted"] / used["observed"]).to_numpy() == pytest.approx(1.0, rel=1e-4)
    assert m.params_["mu"] == pytest.approx(11.0, abs=1e-3)


def test_shipped_facts_fit_within_tolerance():
    m = SizeModel("lognormal_pareto").fit_facts(FACTS)
    used = m.fit_table_[m.fit_table_["used"]]
    assert len(used) == 6  # US points only; worldwide points are another population
    assert used["scaled_residual"].abs().max() < 0.25  # within ~25% on log/logit scales
    world = m.fit_table_[m.fit_table_["population"] == "amazon_worldwide"]
    assert world["status"].eq("not used: another population").all()


def test_two_lognormal_solutions_are_detected_and_chosen_on_held_out_evidence():
    facts = f"{DATA}/sellers_facts_mean_share.csv"
    with pytest.warns(UserWarning, match="ambiguous"):
        m = SizeModel("lognormal").fit_facts(
            facts, populations=["pop"], kinds=["mean", "share_above"]
        )
    assert len(m.solutions_) == 2
    sigmas = sorted(m.solutions_["sigma"])
    # Closed form: sigma^2/2 - z sigma + ln(500k/200k) = 0 with z = Phi^-1(1 - 0.054).
    z = stats.norm.ppf(1 - 0.054)
    disc = np.sqrt(z * z - 2 * np.log(2.5))
    assert sigmas == pytest.approx([z - disc, z + disc], rel=1e-4)
    assert m.params_["sigma"] == pytest.approx(z + disc, rel=1e-4)  # matches the top-1,000 share
    assert "held out" in m.choice_reason_


def test_bootstrap_is_seeded():
    m = SizeModel("lognormal").fit_facts(FACTS)
    a, b = m.bootstrap(20, seed=5).copy(), m.bootstrap(20, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert a["sigma"].std() > 0


def test_sample_is_seeded():
    m = _model("lognormal_pareto", **LP)
    assert np.array_equal(m.sample(100, seed=3), m.sample(100, seed=3))


@pytest.mark.parametrize(
    ("fixture", "match"),
    [
        ("sellers_brackets_overlap.csv", r"line 3.*overlaps the previous"),
        ("sellers_brackets_unsorted.csv", r"line 3.*not sorted"),
        ("sellers_brackets_bad_shares.csv", r"shares sum to 0\.9000, not 1"),
        ("sellers_brackets_negative.csv", r"line 3, column 'count'.*negative"),
    ],
)
def test_bad_brackets_are_refused(fixture, match):
    with pytest.raises(DataError, match=match):
        load_brackets(f"{DATA}/{fixture}")


def test_bad_microdata_and_facts_are_refused(tmp_path):
    with pytest.raises(
        DataError, match=r"missing column 'annual_gmv_usd'.*did you mean 'annual_gmv'"
    ):
        load_microdata(f"{DATA}/sellers_microdata_missing_column.csv")
    bad = tmp_path / "neg.csv"
    bad.write_text("annual_gmv_usd\n" + "\n".join(["100"] * 10 + ["-5"]) + "\n")
    with pytest.raises(DataError, match=r"line 12.*not positive"):
        load_microdata(bad)
    facts = pd.read_csv(FACTS).drop(columns="top_n")
    with pytest.raises(DataError, match="missing column 'top_n'"):
        load_facts(facts)
    facts = pd.read_csv(FACTS)
    facts.loc[2, "kind"] = "share_abov"
    with pytest.raises(
        DataError, match=r"line 4.*unknown kind 'share_abov'.*did you mean 'share_above'"
    ):
        load_facts(facts)


def test_bad_arguments_are_refused():
    with pytest.raises(ParameterError, match=r'"family".*one of lognormal, pareto'):
        SizeModel("lognormall")
    with pytest.raises(ParameterError, match="n_sellers"):
        shares = load_brackets(f"{DATA}/sellers_brackets_lognormal.csv")
        shares = shares.assign(share=shares["count"] / shares["count"].sum()).drop(columns="count")
        SizeModel("lognormal").fit_brackets(shares)
    with pytest.raises(ParameterError, match="populations"):
        SizeModel("lognormal").fit_facts(FACTS, populations=["amazon_mars"])
