"""Seed-2 functionals, handcrafted enthusiasm features and the feature tables, on synthetic audio."""
from __future__ import annotations

import dataclasses
import functools
import hashlib

import librosa
import numpy as np
import pytest
import yaml

import synth
from conftest import ROOT
from singaffect import feature_table
from singaffect import handcrafted as hc
from singaffect import functionals as fn
from singaffect import storage

SR = 22050
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
F_SETTINGS, H_SETTINGS = fn.Settings(**PARAMS["functionals"]), hc.Settings(**PARAMS["handcrafted"])


def values(vector: np.ndarray) -> dict[str, float]:
    return dict(zip(hc.HANDCRAFTED_NAMES, vector.tolist()))


def test_functionals_have_the_seed_shape_and_are_finite():
    names = fn.functional_names(F_SETTINGS)
    vector = fn.functionals(synth.sung_tone(1.0, SR), SR, F_SETTINGS)
    assert vector.shape == (386,) == (len(names),) and vector.dtype == np.float32
    assert np.all(np.isfinite(vector))
    assert len(set(names)) == 386 and names[0] == "mfcc_mean_00" and names[193] == "mfcc_std_00"
    assert names[192] == "tonnetz_mean_05" and names[-1] == "tonnetz_std_05"


def test_functionals_follow_params_and_the_mel_scale():
    small = dataclasses.replace(F_SETTINGS, n_mfcc=13, n_mels=64)
    assert fn.functionals(synth.sung_tone(0.5, SR), SR, small).shape == (2 * (13 + 12 + 64 + 7 + 6),)
    tone = synth.sung_tone(0.5, SR)
    power = fn.functionals(tone, SR, dataclasses.replace(F_SETTINGS, mel_scale="power"))
    db = fn.functionals(tone, SR, dataclasses.replace(F_SETTINGS, mel_scale="db"))
    mel = slice(40 + 12, 40 + 12 + 128)
    assert np.all(power[mel] >= 0) and np.any(db[mel] < 0)
    np.testing.assert_array_equal(power[:mel.start], db[:mel.start])


def test_tonnetz_from_the_stft_chroma_changes_only_the_tonnetz_values():
    tone = synth.sung_tone(1.0, SR, f0=262.0)
    seed = fn.functionals(tone, SR, dataclasses.replace(F_SETTINGS, tonnetz="harmonic_cqt"))
    cheap = fn.functionals(tone, SR, dataclasses.replace(F_SETTINGS, tonnetz="chroma_stft"))
    names = fn.functional_names(F_SETTINGS)
    tonnetz = np.array([n.startswith("tonnetz_") for n in names])
    np.testing.assert_array_equal(seed[~tonnetz], cheap[~tonnetz])
    assert not np.allclose(seed[tonnetz], cheap[tonnetz])
    magnitude = np.abs(librosa.stft(tone, n_fft=F_SETTINGS.n_fft, hop_length=F_SETTINGS.hop_length))
    expected = librosa.feature.tonnetz(chroma=librosa.feature.chroma_stft(S=magnitude, sr=SR))
    np.testing.assert_allclose(cheap[tonnetz], np.concatenate([expected.mean(axis=1), expected.std(axis=1)]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seconds", [0.004, 0.3, 1.7])
def test_harmonic_part_is_librosas_to_the_bit(seconds):
    # a sung tone with a click and noise, so both median filters (across time and across bins) matter
    rng = np.random.default_rng(int(seconds * 1000))
    y = synth.sung_tone(seconds, SR, f0=330.0, vibrato_hz=5.0, vibrato_cents=40.0)
    y = (y + 0.05 * rng.standard_normal(y.size)).astype(np.float32)
    y[y.size // 2] += 0.8
    ours, theirs = fn.harmonic(y), librosa.effects.harmonic(y)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_row_median_is_scipys_two_dimensional_filter_even_for_rows_shorter_than_the_window():
    from scipy.ndimage import median_filter

    rng = np.random.default_rng(3)
    for shape in [(4, 1), (3, 7), (6, 15), (5, 16), (2, 90)]:
        x = rng.random(shape).astype(np.float32)
        x[:, ::3] = x[:, :1]  # ties
        np.testing.assert_array_equal(fn._median_along_rows(x, fn.HPSS_KERNEL),
                                      median_filter(x, size=(1, fn.HPSS_KERNEL), mode="reflect"))


def test_functionals_of_a_very_short_clip_still_have_every_value():
    vector = fn.functionals(synth.sung_tone(0.05, SR), SR, F_SETTINGS)
    assert vector.shape == (386,)


@pytest.fixture(scope="module")
def vibrato_tone() -> np.ndarray:
    return synth.sung_tone(2.0, SR, f0=220.0, vibrato_hz=5.5, vibrato_cents=50.0, amplitude=0.3)


def test_pyin_finds_the_pitch_and_the_vibrato(vibrato_tone):
    got = values(hc.handcrafted(vibrato_tone, SR, H_SETTINGS))
    f0 = 440 * 2 ** ((got["f0_mean_semitones"] - 69) / 12)
    assert abs(f0 - 220.0) / 220.0 < 0.03
    assert got["voiced_fraction"] > 0.8
    assert got["vibrato_rate"] == pytest.approx(5.5, abs=0.3)
    # +-50 cents is 1 semitone peak to peak; pYIN's 46 ms frame shaves ~10 % off
    assert got["vibrato_extent"] == pytest.approx(1.0, rel=0.25)
    assert abs(got["end_slope"]) < 1.5  # a held note does not fall


def test_wider_faster_vibrato_reads_wider_and_faster(vibrato_tone):
    narrow = values(hc.handcrafted(vibrato_tone, SR, H_SETTINGS))
    wide = values(hc.handcrafted(synth.sung_tone(2.0, SR, f0=220.0, vibrato_hz=7.0, vibrato_cents=120.0),
                                 SR, H_SETTINGS))
    assert wide["vibrato_extent"] > 1.8 * narrow["vibrato_extent"]
    assert wide["vibrato_rate"] == pytest.approx(7.0, abs=0.3)


def test_vibrato_rate_stays_in_its_band_when_the_strongest_modulation_is_slower():
    """A 2.8 Hz swing just below the 3-9 Hz band: the in-band peak sits on the band's lower edge, and the
    parabolic refinement must not walk the rate out of [min_hz, max_hz] (it gave 2.85 Hz here)."""
    frame_rate, seconds = 43.07, 4.0
    t = np.arange(int(frame_rate * seconds)) / frame_rate
    _, rate = hc.vibrato(1.5 * np.sin(2 * np.pi * 2.8 * t), [(0, t.size)], frame_rate, 3.0, 9.0)
    assert 3.0 <= rate <= 9.0
    _, clean = hc.vibrato(0.5 * np.sin(2 * np.pi * 5.5 * t), [(0, t.size)], frame_rate, 3.0, 9.0)
    assert clean == pytest.approx(5.5, abs=0.1)  # a true peak inside the band is still refined


def test_fall_down_measures_a_falling_phrase_end():
    seconds, fall = 1.5, 0.4
    t = np.arange(int(seconds * SR)) / SR
    semitones = np.where(t < seconds - fall, 0.0, -4.0 * (t - (seconds - fall)) / fall)  # -10 st/s at the end
    phase = 2 * np.pi * np.cumsum(220.0 * 2 ** (semitones / 12)) / SR
    falling = (0.3 * np.sin(phase) + 0.15 * np.sin(2 * phase)).astype(np.float32)
    held = (0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.15 * np.sin(4 * np.pi * 220.0 * t)).astype(np.float32)
    got_fall, got_held = values(hc.handcrafted(falling, SR, H_SETTINGS)), values(hc.handcrafted(held, SR, H_SETTINGS))
    assert got_fall["fall_down"] == pytest.approx(10.0, rel=0.35)
    assert got_fall["end_slope"] == pytest.approx(-got_fall["fall_down"])
    assert got_held["fall_down"] < 1.0


def test_a_weighted_loudness_tracks_level_and_weighting():
    t = np.arange(SR) / SR
    loud, quiet = (np.sin(2 * np.pi * 1000 * t) * a for a in (1.0, 0.1))
    low = np.sin(2 * np.pi * 100 * t)  # A-weighting takes ~19 dB off 100 Hz
    mean_loud = hc.loudness_stats(hc.a_weighted_db(loud, SR, 1024, 512), 60.0)[0]
    mean_quiet = hc.loudness_stats(hc.a_weighted_db(quiet, SR, 1024, 512), 60.0)[0]
    mean_low = hc.loudness_stats(hc.a_weighted_db(low, SR, 1024, 512), 60.0)[0]
    assert mean_loud == pytest.approx(-3.0, abs=0.5)  # full-scale sine at 1 kHz
    assert mean_loud - mean_quiet == pytest.approx(20.0, abs=0.5)
    assert mean_loud - mean_low == pytest.approx(19.1, abs=1.5)


def test_silence_has_no_pitch_features_but_keeps_its_shape():
    got = values(hc.handcrafted(np.zeros(SR, dtype=np.float32), SR, H_SETTINGS))
    assert got["voiced_fraction"] == 0.0
    assert all(np.isnan(got[k]) for k in ("f0_mean_semitones", "fall_down", "vibrato_extent", "vibrato_rate"))


def test_voiced_segments_keep_long_runs_only():
    track = np.array([np.nan, 1, 1, 1, np.nan, 2, 2, 2, 2, 2, np.nan, 3, 3])
    assert hc.voiced_segments(track, 3) == [(1, 4), (5, 10)]
    assert hc.voiced_segments(track, 2) == [(1, 4), (5, 10), (11, 13)]


def write_raw(path, clips: list[np.ndarray]) -> None:
    with storage.create_h5(path) as handle:
        writer = storage.ClipAudioWriter(handle, SR)
        writer.append(clips)
        writer.close()


def double_mean(samples: np.ndarray, sample_rate: int, shortest: int) -> np.ndarray:
    return np.array([samples.mean(), np.nan if samples.size < shortest else 2.0 * samples.mean()])


def test_tables_are_ordered_byte_stable_and_checked(tmp_path):
    clips = [np.full(100 + 10 * i, i, dtype=np.float32) for i in range(7)]
    write_raw(tmp_path / "audio.h5", clips)
    ids = [f"c{i}" for i in range(7)]
    digests = []
    for run, n_jobs in enumerate((1, 2)):  # same bytes whatever the number of workers
        out = tmp_path / f"table{run}.h5"
        with storage.create_h5(out) as handle:
            bad = feature_table.compute_table(handle, functools.partial(double_mean, shortest=120), ["m", "m2"],
                                              tmp_path / "audio.h5", ids, workers=n_jobs, chunk_size=3)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1] and bad == 2
    features, names = feature_table.read_table(tmp_path / "table0.h5", ids)
    assert names == ["m", "m2"]
    np.testing.assert_allclose(features[:, 0], np.arange(7))
    assert np.isnan(features[:2, 1]).all() and np.allclose(features[2:, 1], 2 * np.arange(2, 7))
    with pytest.raises(feature_table.FeatureTableError, match="table0.h5"):
        feature_table.read_table(tmp_path / "table0.h5", ids[::-1])
    with storage.create_h5(tmp_path / "short.h5") as handle, pytest.raises(feature_table.FeatureTableError, match="audio.h5"):
        feature_table.compute_table(handle, functools.partial(double_mean, shortest=0), ["m", "m2"],
                                    tmp_path / "audio.h5", ids[:3], 1, 3)


def test_a_refused_rate_leaves_no_table_and_analyses_no_clip(tmp_path):
    with storage.create_h5(tmp_path / "audio.h5") as handle:  # 8 kHz: too low for spectral contrast
        writer = storage.ClipAudioWriter(handle, 8000)
        writer.append([np.zeros(100, np.float32)] * 2)
        writer.close()
    analysed = []

    def extractor(samples, sample_rate):
        analysed.append(sample_rate)
        return np.zeros(1)

    out = tmp_path / "features" / "table.h5"
    out.parent.mkdir()
    with pytest.raises(feature_table.FeatureTableError, match="data.sample_rate"):
        feature_table.write_table_file(out, extractor, ["x"], tmp_path / "audio.h5", ["a", "b"],
                                           1, 2, "test", check_rate=fn.check_sample_rate)
    assert analysed == [] and list(out.parent.iterdir()) == []


@pytest.mark.parametrize("overrides,keys", [
    ({"fmax": 12000.0}, "handcrafted.fmax"),
    ({"fmin": 500.0, "fmax": 500.0}, "handcrafted.fmin"),
    ({"fmin": 20.0}, "handcrafted.frame_length"),
    ({"vibrato_max_hz": 30.0}, "handcrafted.vibrato_max_hz"),
])
def test_unusable_pitch_params_name_their_keys(overrides, keys):
    with pytest.raises(hc.HandcraftedParamsError, match=keys):
        hc.handcrafted(synth.sung_tone(0.2, SR), SR, dataclasses.replace(H_SETTINGS, **overrides))


@pytest.mark.parametrize("sample_rate", [8000, 12000, 12800])
def test_a_rate_too_low_for_spectral_contrast_names_the_key(sample_rate):
    with pytest.raises(feature_table.FeatureTableError, match="data.sample_rate"):
        fn.check_sample_rate(sample_rate)


def test_the_lowest_accepted_rate_really_works():
    fn.check_sample_rate(12801)
    y = np.random.default_rng(0).standard_normal(12801).astype(np.float32) * 0.1
    assert np.isfinite(fn.functionals(y, 12801, fn.Settings(n_mfcc=13, n_fft=1024, hop_length=256, n_mels=64,
                                                         mel_scale="db"))).all()
