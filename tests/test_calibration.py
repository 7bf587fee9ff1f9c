"""Validation-fitted calibration of regression scores: fitted maps, refusals, and CCC/MAE gains."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from singaffect import calibration, metrics


def squeezed(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Targets on 0..1 and predictions that track them but sit near the mean (r fair, CCC poor)."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(0, 1, n)
    return y, 0.5 + 0.15 * (y - 0.5) + rng.normal(0, 0.03, n)


def test_linear_map_recovers_the_scale_and_lifts_ccc_and_mae() -> None:
    y_val, p_val = squeezed(seed=1)
    y_test, p_test = squeezed(seed=2)
    mapping = calibration.fit("linear", y_val, p_val)
    assert mapping["method"] == "linear" and 3 < mapping["slope"] < 1 / 0.15  # noise attenuates it
    after = calibration.apply(mapping, p_test)
    before_m, after_m = metrics.regression_metrics(y_test, p_test), metrics.regression_metrics(y_test, after)
    assert after_m["pearson_r"] == pytest.approx(before_m["pearson_r"], abs=0.02)  # clipping aside, r is unchanged
    assert before_m["ccc"] < 0.5 < 0.8 < after_m["ccc"]
    assert after_m["mae"] < 0.75 * before_m["mae"]
    assert after.min() >= 0 and after.max() <= 1  # clipped to the validation targets' range


def test_isotonic_map_matches_scikit_learn() -> None:
    y_val, p_val = squeezed(seed=3)
    mapping = calibration.fit("isotonic", y_val, p_val)
    probe = np.linspace(0.3, 0.7, 101)
    reference = IsotonicRegression(out_of_bounds="clip").fit(p_val, y_val).predict(probe)
    np.testing.assert_allclose(calibration.apply(mapping, probe), reference, atol=1e-12)


@pytest.mark.parametrize("y_val, p_val, reason", [
    ([0.0, 1.0, 0.0, 1.0], [0.6, 0.4, 0.61, 0.39], "would reverse the scores"),
    ([0.0, 1.0, 1.0], [0.5, 0.5, 0.5], "do not vary"),
])
def test_a_map_that_cannot_be_fitted_is_the_identity_and_says_why(y_val, p_val, reason) -> None:
    mapping = calibration.fit("linear", np.array(y_val), np.array(p_val))
    assert mapping["method"] == "none" and reason in mapping["reason"]
    scores = np.array([0.2, 0.9])
    np.testing.assert_array_equal(calibration.apply(mapping, scores), scores)


def test_none_is_the_identity_and_describe_keeps_scalars() -> None:
    assert calibration.fit("none", np.arange(3.0), np.arange(3.0)) == {"method": "none"}
    np.testing.assert_array_equal(calibration.apply(None, np.array([3.0])), [3.0])
    y_val, p_val = squeezed()
    assert set(calibration.describe(calibration.fit("isotonic", y_val, p_val))) == {"method", "n_val"}
    with pytest.raises(ValueError, match="unknown calibration method 'magic'"):
        calibration.fit("magic", y_val, p_val)
