"""Exact whole-file moments: the figures of rational arithmetic, scaled near the float limits."""

from __future__ import annotations

import statistics
from fractions import Fraction

import numpy as np
import pytest

from pipeline.core.moments import ExactMoments, moment_sums


def _moments(x: np.ndarray) -> ExactMoments:
    return ExactMoments(x.shape[1], moment_sums(x))


def test_means_sds_and_covariance_equal_numpy_on_ordinary_values() -> None:
    rng = np.random.default_rng(2)
    x = np.column_stack([rng.normal(10, 3, 400), rng.lognormal(5, 2, 400)])
    x[::9, 1] = np.nan
    found = _moments(x)
    full = x[~np.isnan(x).any(axis=1)]
    assert found.complete == full.shape[0] and found.counts().tolist() == [400, 355]
    assert np.allclose(found.mean(), full.mean(axis=0), rtol=1e-14)
    cov, t = found.covariance_scaled()
    assert np.allclose(np.ldexp(cov, t[:, None] + t[None, :]), np.cov(full.T), rtol=1e-12)
    sd, u = found.sd_scaled()
    assert np.allclose(np.ldexp(sd, u), np.nanstd(x, axis=0, ddof=1), rtol=1e-12)
    assert found.column_mean(1) == pytest.approx(np.nanmean(x[:, 1]), rel=1e-14)
    assert np.allclose(found.correlations(), np.corrcoef(full.T), rtol=1e-12)


def test_values_near_the_float_limits_come_scaled() -> None:
    values = [1.7e308, -1.7e308, 1e300, 3.0, 5.0]
    found = _moments(np.array([values, [1.0, 2.0, 3.0, 4.0, 5.0]]).T)
    sd, t = found.sd_scaled()
    exact = statistics.stdev(Fraction(v) for v in values)  # beyond the floats: 2.4e308
    assert float(Fraction(float(sd[0])) * Fraction(2) ** int(t[0]) / exact) == pytest.approx(1)
    cov, t = found.covariance_scaled()
    assert np.isfinite(cov).all() and abs(cov[0, 1]) <= np.sqrt(cov[0, 0] * cov[1, 1])
    assert found.mean()[0] == pytest.approx(float(sum(map(Fraction, values)) / 5))


def test_too_few_values_give_nan() -> None:
    found = _moments(np.array([[1.0, np.nan], [np.nan, 2.0]]))
    assert np.isnan(found.sd_scaled()[0]).all() and np.isnan(found.covariance_scaled()[0]).all()
    assert np.isnan(found.mean()).all() and found.column_mean(0) == 1.0


def test_blocks_sum_cross_products_within_each_block_only() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 4))
    found = ExactMoments(4, moment_sums(x, blocks=2), blocks=2)
    cov, _ = found.covariance_scaled()
    assert np.isnan(cov[:2, 2:]).all() and np.isnan(cov[2:, :2]).all()
    assert np.allclose(found.correlations()[:2, :2], np.corrcoef(x[:, :2].T), rtol=1e-12)
    assert np.allclose(found.correlations()[2:, 2:], np.corrcoef(x[:, 2:].T), rtol=1e-12)


def test_chunks_of_records_give_the_same_sums(monkeypatch) -> None:
    import pipeline.core.moments as module

    rng = np.random.default_rng(4)
    x = rng.lognormal(0, 20, (100, 3))
    x[::7, 1] = np.nan
    whole = moment_sums(x, blocks=1)
    monkeypatch.setattr(module, "_CHUNK", 7)
    assert moment_sums(x, blocks=1) == whole
