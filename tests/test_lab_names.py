"""Lab file names (``l_f01_elly_h1_e1_nm30.wav``, ``m01fh1_1.wav``) -> singer, song, style, take, part."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import synth
from singaffect import corpus


@pytest.mark.parametrize("name,expected", [
    ("l_f01_elly_h1_e1_nm30.wav", ("f01", "female", "elly", "enthusiastic", "1", "1")),
    ("l_f01_elly_n1_e4_nm30.wav", ("f01", "female", "elly", "normal", "1", "4")),
    ("sub/dir/L_M02_Fav_H2_E3_NM30.WAV", ("m02", "male", "fav", "enthusiastic", "2", "3")),
    ("m01fh1_1.wav", ("m01", "male", "f", "enthusiastic", "1", "1")),
    ("m11fn2_4.wav", ("m11", "male", "f", "normal", "2", "4")),
    ("f03eh02_10.flac", ("f03", "female", "e", "enthusiastic", "2", "10")),
    ("m01fx1_1.wav", ("m01", "male", "f", "", "1", "1")),          # unknown style letter
    ("l_f01_elly.wav", ("f01", "female", "elly", "", "", "")),      # no take fields
    ("l_f01_elly_nm30_e2.wav", ("f01", "female", "elly", "", "", "2")),
])
def test_lab_names_parse(name, expected):
    got = corpus.parse_lab_name(name)
    assert (got["speaker"], got["gender"], got["statement"], got["style"], got["repetition"], got["part"]) == expected


@pytest.mark.parametrize("name", ["random.wav", "x_q01_elly_h1.wav", "m01fh1.wav", "01-02-03.wav", "m01_1.wav"])
def test_other_names_leave_every_field_empty(name):
    assert set(corpus.parse_lab_name(name).values()) == {""}


def test_lab_corpus_manifest_takes_singer_song_and_take_from_names(tmp_path):
    names = ["l_f01_elly_h1_e1_nm30.wav", "l_f01_elly_n1_e1_nm30.wav", "m11fh2_3.wav", "m11fn1_4.wav"]
    for i, name in enumerate(names):
        sf.write(tmp_path / name, synth.sung_tone(0.2, 16000, seed=i), 16000, subtype="PCM_16")
    (tmp_path / "Evaluation.txt").write_text("".join(f"{n} {s}\n" for n, s in zip(names, (1.5, 0.7, 1.2, 0.4))))
    clips = corpus.list_clips("evaluation_txt", tmp_path, "Evaluation.txt", 2.0)
    got = [(c.speaker, c.gender, c.statement, c.repetition) for c in clips]
    assert got == [("f01", "female", "elly", "1"), ("f01", "female", "elly", "1"),
                   ("m11", "male", "f", "2"), ("m11", "male", "f", "1")]
    np.testing.assert_allclose([c.enthusiasm for c in clips], [0.75, 0.35, 0.6, 0.2])
