"""Models: normalisation baked in from train statistics; heads per task."""
from __future__ import annotations

import numpy as np
import pytest

from singaffect.models import build_cnn, normaliser


def test_standard_normaliser_uses_per_band_statistics() -> None:
    stats = {"mean": np.array([1.0, -2.0], np.float32), "variance": np.array([4.0, 0.25], np.float32)}
    x = np.array([[[3.0, 1.0], [-2.0, -1.5]]], np.float32)[..., None]  # (1, bands=2, frames=2, 1)
    out = np.asarray(normaliser("standard", stats)(x))[..., 0]
    np.testing.assert_allclose(out, [[[1.0, 0.0], [0.0, 1.0]]], atol=1e-3)


def test_minmax_normaliser_maps_train_range_to_unit_interval() -> None:
    stats = {"min": np.float32(-80.0), "max": np.float32(0.0)}
    out = np.asarray(normaliser("minmax", stats)(np.array([-80.0, -40.0, 0.0], np.float32)))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0], atol=1e-6)


def test_unknown_choices_name_the_params_key() -> None:
    with pytest.raises(ValueError, match="train.normalization"):
        normaliser("robust", {})
    with pytest.raises(ValueError, match="train.model"):
        build_cnn("resnet", (16, 32, 1), "emotion", 6, normaliser("minmax", {"min": 0, "max": 1}), 1e-3)


@pytest.mark.parametrize("task, width", [("emotion", 6), ("enthusiasm", 1)])
def test_compact_cnn_heads(task: str, width: int) -> None:
    model = build_cnn("compact_cnn", (16, 32, 1), task, 6, normaliser("minmax", {"min": -80, "max": 0}), 1e-3)
    assert model.output_shape == (None, width)
    assert model.count_params() < 150_000
