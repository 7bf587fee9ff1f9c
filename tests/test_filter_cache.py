"""filter_cache: librosa's CQT banks and pYIN transitions reused across clips, to the bit."""
from __future__ import annotations

import contextlib

import librosa
import numpy as np
import yaml

import synth
from conftest import ROOT
from singaffect import filter_cache
from singaffect import functionals as fn
from singaffect import handcrafted as hc

SR = 22050
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
F_SETTINGS, H_SETTINGS = fn.Settings(**PARAMS["functionals"]), hc.Settings(**PARAMS["handcrafted"])


def clips() -> list[np.ndarray]:
    # two takes of one line (a little detuned) and a second line: three tunings
    rng = np.random.default_rng(11)
    out = []
    for f0, cents in [(262.0, 0.0), (262.0, 7.0), (330.0, -20.0)]:
        y = synth.sung_tone(1.2, SR, f0=f0 * 2 ** (cents / 1200), vibrato_hz=5.5, vibrato_cents=30.0)
        out.append((y + 0.01 * rng.standard_normal(y.size)).astype(np.float32))
    return out + [out[0].copy()]  # one clip met twice: its tuning, so its CQT banks, repeat


def features(tones):
    return [(fn.functionals(y, SR, F_SETTINGS), hc.handcrafted(y, SR, H_SETTINGS)) for y in tones]


def test_cached_features_are_librosas_to_the_bit_and_the_caches_are_hit(monkeypatch):
    tones = clips()
    cqt_before = filter_cache.cache_info(filter_cache.CQT_FILTERS).hits
    pitch_before = filter_cache.cache_info(filter_cache.PITCH_TRANSITION).hits
    cached = features(tones)
    # a take met a second time reads banks that vqt rescaled in place the first time: copies keep them clean
    assert filter_cache.cache_info(filter_cache.CQT_FILTERS).hits > cqt_before
    assert filter_cache.cache_info(filter_cache.PITCH_TRANSITION).hits > pitch_before
    monkeypatch.setattr(filter_cache, "reused", lambda *targets: contextlib.nullcontext())
    plain = features(tones)
    for (f_cached, h_cached), (f_plain, h_plain) in zip(cached, plain):
        np.testing.assert_array_equal(f_cached, f_plain)
        np.testing.assert_array_equal(h_cached, h_plain)


def test_a_result_handed_out_is_a_copy_and_the_originals_come_back():
    original = librosa.sequence.transition_local
    with filter_cache.reused(filter_cache.PITCH_TRANSITION):
        assert librosa.sequence.transition_local is not original
        first = librosa.sequence.transition_local(9, 3, window="triangle", wrap=False)
        first *= 0.0
        again = librosa.sequence.transition_local(9, 3, window="triangle", wrap=False)
    assert librosa.sequence.transition_local is original
    np.testing.assert_array_equal(again, original(9, 3, window="triangle", wrap=False))


def test_a_function_this_librosa_lacks_is_left_alone():
    missing = filter_cache.Target("librosa.sequence", "no_such_function")
    moved = filter_cache.Target("librosa.no_such_module", "transition_local")
    with filter_cache.reused(missing, moved, filter_cache.PITCH_TRANSITION):
        assert not hasattr(librosa.sequence, "no_such_function")
        assert librosa.sequence.transition_local is not filter_cache._cached(filter_cache.PITCH_TRANSITION)[0]
    assert librosa.sequence.transition_local is filter_cache._cached(filter_cache.PITCH_TRANSITION)[0]
