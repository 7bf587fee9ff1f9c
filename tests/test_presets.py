"""Presets reproduce the seed systems' settings, and the seed-size CNN really is that model."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from singaffect.models import build_cnn, normaliser
from singaffect.params import ParamsError, apply_overrides, load

ROOT = Path(__file__).resolve().parents[1]


def _stats(n_mels: int) -> dict:
    return {"mean": np.zeros(n_mels, "float32"), "variance": np.ones(n_mels, "float32"),
            "min": np.float32(-100), "max": np.float32(0)}


@pytest.mark.parametrize("preset", sorted(p.stem for p in (ROOT / "presets").glob("*.yaml")))
def test_every_preset_is_valid_params(preset: str) -> None:
    out = subprocess.run([sys.executable, "-m", "singaffect", "preset", preset],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    assert out[0] == "-S" and len(out) % 2 == 0
    assert all("=" in arg for arg in out[1::2])


def test_seed_preset_is_the_published_protocol() -> None:
    out = subprocess.run([sys.executable, "-m", "singaffect", "preset", "seed_enthusiasm"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    settings = dict(arg.split("=", 1) for arg in out[1::2])
    assert settings["train.model"] == "seed_cnn"
    assert settings["split.strategy"] == "random"  # the leaky row-level split
    assert settings["train.task"] == "enthusiasm"


def test_unknown_preset_and_override_key_fail_clearly() -> None:
    result = subprocess.run([sys.executable, "-m", "singaffect", "preset", "no_such"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "unknown preset 'no_such'" in result.stderr
    with pytest.raises(ParamsError, match="did you mean 'train.epochs'"):
        apply_overrides(load(ROOT / "params.yaml"), {"train.epoch": 3})


def test_seed_cnn_has_the_published_size_at_128x216() -> None:
    model = build_cnn("seed_cnn", (128, 216, 1), "enthusiasm", 6, normaliser("minmax", _stats(128)), 1e-3)
    assert 100e6 < model.count_params() < 120e6  # "about 112 M parameters"
    assert [l.filters for l in model.layers if l.__class__.__name__ == "Conv2D"] == [64, 128, 256, 512]
    assert [l.units for l in model.layers if l.__class__.__name__ == "Dense"] == [2048, 512, 128, 1]


def test_seed_cnn_trains_a_step_on_small_input() -> None:
    model = build_cnn("seed_cnn", (32, 48, 1), "enthusiasm", 6, normaliser("minmax", _stats(32)), 1e-3)
    x = np.random.default_rng(0).normal(-40, 10, (4, 32, 48, 1)).astype("float32")
    loss = model.train_on_batch(x, np.array([0, 1, 0, 1], "float32"))
    assert np.isfinite(np.ravel(loss)[0])
