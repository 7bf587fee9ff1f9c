"""Regression scores mapped onto the target's scale by a monotone map fitted on validation data.

A regressor trained with squared error predicts close to the mean when it is unsure: Pearson
r can be fair while CCC and MAE are poor, and as a 0..2 karaoke score it says little. The
map is fitted on the validation side only (never test), stored in ``preprocessing.json``
beside the model as plain JSON and applied identically by ``evaluate`` and ``predict``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("none", "linear", "isotonic")
IDENTITY: dict[str, Any] = {"method": "none"}


def fit(method: str, val_true: np.ndarray, val_pred: np.ndarray) -> dict[str, Any]:
    """The ``method`` map from validation predictions to validation targets, as JSON-ready values.

    Falls back to the identity (saying why) where a map cannot be fitted or would reverse
    the order of the scores (a non-positive linear slope).
    """
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}")
    val_true, val_pred = np.asarray(val_true, np.float64).ravel(), np.asarray(val_pred, np.float64).ravel()
    if method == "none":
        return dict(IDENTITY)
    if len(val_true) < 2 or np.ptp(val_pred) == 0 or np.ptp(val_true) == 0:
        return {**IDENTITY, "reason": f"{method}: validation scores or targets do not vary"}
    low, high = float(val_true.min()), float(val_true.max())
    if method == "linear":
        slope, intercept = np.polyfit(val_pred, val_true, 1)
        if not slope > 0:
            return {**IDENTITY, "reason": f"linear: validation slope {slope:.4g} would reverse the scores"}
        return {"method": "linear", "slope": float(slope), "intercept": float(intercept), "clip": [low, high],
                "n_val": int(len(val_true))}
    from sklearn.isotonic import IsotonicRegression

    isotonic = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(val_pred, val_true)
    return {"method": "isotonic", "x": [float(v) for v in isotonic.X_thresholds_],
            "y": [float(v) for v in isotonic.y_thresholds_], "clip": [low, high], "n_val": int(len(val_true))}


def apply(calibration: dict[str, Any] | None, scores: np.ndarray) -> np.ndarray:
    """``scores`` through a map from ``fit`` (``None`` or ``none``: unchanged)."""
    scores = np.asarray(scores, np.float64)
    method = (calibration or IDENTITY).get("method", "none")
    if method == "none":
        return scores
    if method == "linear":
        mapped = calibration["intercept"] + calibration["slope"] * scores
    elif method == "isotonic":
        mapped = np.interp(scores, calibration["x"], calibration["y"])  # IsotonicRegression.predict, clipped
    else:
        raise ValueError(f"unknown calibration method {method!r}")
    return np.clip(mapped, *calibration["clip"])


def describe(calibration: dict[str, Any] | None) -> dict[str, Any]:
    """The map in a few scalars, for metrics files (an isotonic map's breakpoints stay in the model folder)."""
    calibration = calibration or IDENTITY
    return {key: value for key, value in calibration.items() if key in ("method", "slope", "intercept", "n_val", "reason")}
