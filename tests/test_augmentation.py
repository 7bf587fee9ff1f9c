"""Augmentation is seeded per (seed, clip, copy): reruns and worker layouts give the same bytes."""
from __future__ import annotations

import copy
import dataclasses
import random
from pathlib import Path

import audiomentations as am
import numpy as np
import pytest
import yaml

import synth
from singaffect import augmentation, compute

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000


@pytest.fixture(scope="module")
def always() -> augmentation.Settings:
    """params.yaml's augment settings with every transform always applied."""
    params = copy.deepcopy(yaml.safe_load((ROOT / "params.yaml").read_text())["augment"])
    for value in params.values():
        if isinstance(value, dict):
            value["p"] = 1.0
    return augmentation.Settings(**params)


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    return {"a": synth.sung_tone(0.5, RATE, seed=1), "b": synth.sung_tone(0.7, RATE, f0=300.0, seed=2)}


def test_derive_seed_is_stable_and_32_bit() -> None:
    # sha256 of "1234:clip:1" -- the same on every machine, Python version and run
    assert compute.derive_seed(1234, "clip", 1) == 3672025694
    assert compute.derive_seed(1234, "clip", 1) == compute.derive_seed("1234", "clip", "1")
    seeds = {compute.derive_seed(1234, clip, c) for clip in ("a", "b", "c") for c in range(5)}
    assert len(seeds) == 15
    assert all(0 <= s < 2 ** 32 for s in seeds)


def test_copy_zero_is_the_original_and_count_is_copies_plus_one(always: augmentation.Settings, clips: dict) -> None:
    out = augmentation.clip_copies(augmentation.build_augmenter(always), clips["a"], RATE, 7, "a", 3)
    assert len(out) == 4
    np.testing.assert_array_equal(out[0], clips["a"])
    assert all(c.dtype == np.float32 and c.ndim == 1 and np.all(np.isfinite(c)) for c in out)
    for i in range(1, 4):
        assert not (out[i].shape == clips["a"].shape and np.allclose(out[i], clips["a"]))
    assert len({c.tobytes() for c in out}) == 4
    only = augmentation.clip_copies(augmentation.build_augmenter(always), clips["a"], RATE, 7, "a", 0)
    assert len(only) == 1 and only[0].tobytes() == clips["a"].tobytes()


def test_same_clip_twice_is_bit_identical(always: augmentation.Settings, clips: dict) -> None:
    augmenter = augmentation.build_augmenter(always)
    first = augmentation.clip_copies(augmenter, clips["a"], RATE, 7, "a", 3)
    again = augmentation.clip_copies(augmenter, clips["a"], RATE, 7, "a", 3)
    fresh = augmentation.clip_copies(augmentation.build_augmenter(always), clips["a"], RATE, 7, "a", 3)
    for x, y, z in zip(first, again, fresh):
        assert x.tobytes() == y.tobytes() == z.tobytes()


@pytest.mark.parametrize("method", ["signalsmith_stretch", "librosa_phase_vocoder"])
def test_copies_do_not_depend_on_other_clips(always: augmentation.Settings, clips: dict, method: str) -> None:
    params = dataclasses.replace(always, stretch_method=method)
    alone = augmentation.clip_copies(augmentation.build_augmenter(params), clips["a"], RATE, 7, "a", 2)
    augmenter = augmentation.build_augmenter(params)
    augmentation.clip_copies(augmenter, clips["b"], RATE, 7, "b", 2)
    random.random(), np.random.random(5)  # whatever ran before must not matter
    after_b = augmentation.clip_copies(augmenter, clips["a"], RATE, 7, "a", 2)
    for x, y in zip(alone, after_b):
        assert x.tobytes() == y.tobytes()


def test_copies_depend_on_seed_and_clip_id(always: augmentation.Settings, clips: dict) -> None:
    augmenter = augmentation.build_augmenter(always)
    base = augmentation.clip_copies(augmenter, clips["a"], RATE, 7, "a", 1)[1]
    other_seed = augmentation.clip_copies(augmenter, clips["a"], RATE, 8, "a", 1)[1]
    other_id = augmentation.clip_copies(augmenter, clips["a"], RATE, 7, "a2", 1)[1]
    assert base.tobytes() != other_seed.tobytes()
    assert base.tobytes() != other_id.tobytes()


class DrawsOnFirstApply(am.core.transforms_interface.BaseWaveformTransform):
    """Stands in for a transform whose first call imports a module that takes random bits."""

    supports_multichannel = True

    def __init__(self) -> None:
        super().__init__(p=1.0)
        self.calls = 0

    def apply(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        if self.calls == 0:
            random.getrandbits(24)
            np.random.random()
        self.calls += 1
        return samples


def test_a_transform_drawing_from_the_global_rng_does_not_shift_the_next(clips: dict) -> None:
    def make() -> am.Compose:
        return am.Compose([DrawsOnFirstApply(), am.Gain(min_gain_db=-12.0, max_gain_db=12.0, p=0.5),
                           am.AddGaussianNoise(min_amplitude=0.001, max_amplitude=0.015, p=1.0)])
    for seed in range(5):
        cold = augmentation.augment_clip(make(), clips["a"], RATE, seed)
        warm_augmenter = make()
        augmentation.augment_clip(warm_augmenter, clips["b"], RATE, 99)
        warm = augmentation.augment_clip(warm_augmenter, clips["a"], RATE, seed)
        assert cold.tobytes() == warm.tobytes()
