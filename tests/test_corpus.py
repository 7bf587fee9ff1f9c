"""Corpus adapters: RAVDESS names, lab Evaluation.txt and CSV manifests."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import synth
from singaffect import corpus
from singaffect.corpus import CorpusError


# --- RAVDESS names -----------------------------------------------------------------

def test_parse_ravdess_name_reads_every_field() -> None:
    labels = corpus.parse_ravdess_name("Actor_12/03-02-05-02-01-02-12.flac")
    assert labels == {"speaker": "12", "gender": "female", "statement": "01", "repetition": "02",
                      "emotion": "angry", "intensity": "strong", "enthusiasm": 1.0,
                      "group": "12|01|angry|strong"}
    twin = corpus.parse_ravdess_name("Actor_12/03-02-05-02-01-01-12.flac")  # the other take of the line
    assert twin["group"] == labels["group"]
    for other in ("03-02-05-01-01-02-12", "03-02-04-02-01-02-12", "03-02-05-02-02-02-12", "03-02-05-02-01-02-14"):
        assert corpus.parse_ravdess_name(other + ".wav")["group"] != labels["group"], other


@pytest.mark.parametrize("emotion, name", list(zip(corpus.EMOTIONS, synth.EMOTION_CODES)))
def test_parse_ravdess_name_maps_each_song_emotion(emotion: str, name: str) -> None:
    labels = corpus.parse_ravdess_name(synth.ravdess_name(name, "01", "02", "01", 1))
    assert labels["emotion"] == emotion
    assert labels["intensity"] == "normal" and labels["enthusiasm"] == 0.0
    assert labels["gender"] == "male" and labels["speaker"] == "01" and labels["statement"] == "02"


BAD_NAMES = {
    "too few fields": "03-02-05-02-01-01.wav",
    "too many fields": "03-02-05-02-01-01-12-01.wav",
    "not two digits": "03-02-5-02-01-01-12.wav",
    "letters": "03-02-xx-02-01-01-12.wav",
    "unknown modality": "07-02-05-02-01-01-12.wav",
    "audio-visual modality": "01-02-05-02-01-01-12.wav",
    "speech channel": "03-01-05-02-01-01-12.wav",
    "emotion outside song (surprised)": "03-02-08-02-01-01-12.wav",
    "emotion 00": "03-02-00-01-01-01-12.wav",
    "intensity": "03-02-05-03-01-01-12.wav",
    "neutral strong": "03-02-01-02-01-01-12.wav",
    "statement": "03-02-05-02-03-01-12.wav",
    "repetition": "03-02-05-02-01-03-12.wav",
    "actor 00": "03-02-05-02-01-01-00.wav",
    "actor 25": "03-02-05-02-01-01-25.wav",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_parse_ravdess_name_rejects_bad_field_naming_the_file(name: str) -> None:
    with pytest.raises(CorpusError, match=name.replace(".", r"\.")):
        corpus.parse_ravdess_name(f"Actor_12/{name}")


def test_list_ravdess_on_synthetic_corpus(ravdess_corpus: Path) -> None:
    clips = corpus.list_clips("ravdess", ravdess_corpus)
    assert len(clips) == 4 * 11 * 2 * 2  # actors x emotion-intensities x statements x takes
    assert len({c.group for c in clips}) == 4 * 11 * 2  # both takes of a line share its group
    assert [c.path for c in clips] == sorted(c.path for c in clips)
    assert len({c.clip_id for c in clips}) == len(clips)
    first = clips[0]
    assert first.path == "Actor_01/03-02-01-01-01-01-01.wav"
    assert first.clip_id == "03-02-01-01-01-01-01"
    assert (first.speaker, first.emotion, first.intensity, first.enthusiasm) == ("01", "neutral", "normal", 0.0)
    assert {c.speaker for c in clips} == {"01", "02", "03", "04"}
    assert sum(c.intensity == "strong" for c in clips) == 4 * 5 * 2 * 2


def test_list_ravdess_ignores_non_audio_files(tmp_path: Path) -> None:
    synth.write_ravdess_corpus(tmp_path, actors=(1,), emotions=("03",), statements=("01",))
    (tmp_path / "README.txt").write_text("not audio")
    (tmp_path / "Actor_01" / "notes.md").write_text("not audio")
    assert [c.clip_id for c in corpus.list_clips("ravdess", tmp_path)] == [
        "03-02-03-01-01-01-01", "03-02-03-01-01-02-01", "03-02-03-02-01-01-01", "03-02-03-02-01-02-01"]


def test_list_ravdess_bad_name_names_the_file(tmp_path: Path) -> None:
    synth.write_ravdess_corpus(tmp_path, actors=(1,), emotions=("03",), statements=("01",))
    shutil.copy(next(tmp_path.rglob("*.wav")), tmp_path / "Actor_01" / "03-02-07-01-01-01-01.wav")
    with pytest.raises(CorpusError, match=r"Actor_01/03-02-07-01-01-01-01\.wav: unknown emotion code 07"):
        corpus.list_clips("ravdess", tmp_path)


def test_list_ravdess_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    paths = synth.write_ravdess_corpus(tmp_path, actors=(1,), emotions=("03",), statements=("01",))
    (tmp_path / "copy").mkdir()
    shutil.copy(paths[0], tmp_path / "copy" / paths[0].name)
    with pytest.raises(CorpusError, match=f"duplicate clip id '{paths[0].stem}'"):
        corpus.list_clips("ravdess", tmp_path)


def test_list_ravdess_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no audio files"):
        corpus.list_clips("ravdess", tmp_path)
    with pytest.raises(CorpusError, match="data.root"):
        corpus.list_clips("ravdess", tmp_path / "missing")


def test_list_ravdess_refuses_symlink_out_of_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside.wav"
    synth_paths = synth.write_ravdess_corpus(tmp_path / "root", actors=(1,), emotions=("03",), statements=("01",))
    shutil.copy(synth_paths[0], outside)
    (tmp_path / "root" / "03-02-04-01-01-01-01.wav").symlink_to(outside)
    with pytest.raises(CorpusError, match="escapes the corpus root"):
        corpus.list_clips("ravdess", tmp_path / "root")


# --- lab names -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("l_f01_elly_h1_e1_nm30.wav", {"speaker": "f01", "gender": "female", "statement": "elly"}),
    ("sub/M02fh3_1.wav", {"speaker": "m02", "gender": "male", "statement": "f", "repetition": "3"}),
    ("whatever.wav", {"speaker": "", "gender": "", "statement": ""}),
])
def test_parse_lab_name(name: str, expected: dict) -> None:
    parsed = corpus.parse_lab_name(name)
    assert {key: parsed[key] for key in expected} == expected


# --- Evaluation.txt --------------------------------------------------------------------

def lab_corpus(tmp_path: Path, lines: list[str], files: tuple[str, ...] = ("a.wav", "b.wav")) -> Path:
    root = tmp_path / "lab"
    root.mkdir()
    audio = synth.sung_tone(0.1, 8000)
    import soundfile as sf
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, audio, 8000)
    (root / "Evaluation.txt").write_text("\n".join(lines) + "\n")
    return root


def test_evaluation_txt_scores_scaled_by_score_max(evaluation_corpus: Path) -> None:
    clips = corpus.list_clips("evaluation_txt", evaluation_corpus, "Evaluation.txt", score_max=2.0)
    assert len(clips) == 4 * 2 * 2 * 2 * 2  # singers x songs x styles x takes x parts
    first = clips[0]
    assert first.path == "l_f01_elly_h1_e1_nm30.wav" and first.clip_id == "l_f01_elly_h1_e1_nm30"
    assert (first.speaker, first.gender, first.statement) == ("f01", "female", "elly")
    assert first.enthusiasm == pytest.approx(1.6 / 2.0)
    assert first.emotion == "" and first.intensity == ""
    halved = corpus.list_clips("evaluation_txt", evaluation_corpus, "Evaluation.txt", score_max=4.0)
    assert [c.enthusiasm for c in halved] == pytest.approx([c.enthusiasm / 2 for c in clips])
    assert all(0.0 <= c.enthusiasm <= 1.0 for c in clips)


def test_lab_takes_and_parts_of_one_condition_share_a_recording_group(evaluation_corpus: Path) -> None:
    """h1/h2 and their parts e1/e2 by one singer of one song: one group; the n takes another."""
    clips = corpus.list_clips("evaluation_txt", evaluation_corpus, "Evaluation.txt")
    groups: dict[tuple, set[str]] = {}
    for clip in clips:
        style = clip.path.split("_")[3][0]
        groups.setdefault((clip.speaker, clip.statement, style), set()).add(clip.group)
    assert len(groups) == 4 * 2 * 2 and all(len(g) == 1 for g in groups.values())
    assert len({c.group for c in clips}) == len(groups)
    assert corpus.list_clips("evaluation_txt", evaluation_corpus, "Evaluation.txt")[0].group == "f01|elly|enthusiastic"


def test_evaluation_txt_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    root = lab_corpus(tmp_path, ["# file score", "", "a.wav 2", "   ", "b.wav 0.5"])
    clips = corpus.list_clips("evaluation_txt", root, "Evaluation.txt", 2.0)
    assert [(c.clip_id, c.enthusiasm) for c in clips] == [("a", 1.0), ("b", 0.25)]


def assert_names(error: pytest.ExceptionInfo, *patterns: str) -> None:
    """The message holds every pattern (regexes), wherever the wording puts them."""
    for pattern in patterns:
        assert re.search(pattern, str(error.value)), f"{pattern!r} not in {str(error.value)!r}"


def line(manifest: str, number: int) -> str:
    """``Evaluation.txt:3`` or ``Evaluation.txt line 3``: either way the line is named."""
    return rf"{re.escape(manifest)}(:| line ){number}\b"


@pytest.mark.parametrize("lines, patterns", [
    (["a.wav 1", "missing.wav 1"], [line("Evaluation.txt", 2), r"missing\.wav", "does not exist"]),
    (["../outside.wav 1"], [line("Evaluation.txt", 1), r"\.\./outside\.wav", "escapes the corpus root"]),
    (["a.wav 2.5"], [line("Evaluation.txt", 1), r"a\.wav", r"score 2\.5", r"outside 0\.\.2\.0"]),
    (["a.wav -0.1"], [line("Evaluation.txt", 1), r"a\.wav", r"score -0\.1"]),
    (["a.wav nan"], [line("Evaluation.txt", 1), r"a\.wav", "score nan"]),
    (["a.wav high"], [line("Evaluation.txt", 1), "score 'high' is not a number"]),
    (["a.wav 1 extra"], [line("Evaluation.txt", 1), "expected 'filename score'"]),
    (["a.wav 1", "a.wav 2"], [r"a\.wav", "duplicate clip id 'a'"]),
    (["# only a comment"], [r"Evaluation\.txt: no clips listed"]),
    (["sub 1"], [line("Evaluation.txt", 1), "sub", "not a file"]),
])
def test_evaluation_txt_errors_name_file_and_line(tmp_path: Path, lines: list[str], patterns: list[str]) -> None:
    root = lab_corpus(tmp_path, lines, files=("a.wav", "b.wav", "sub/c.wav"))
    (tmp_path / "outside.wav").write_bytes((root / "a.wav").read_bytes())
    with pytest.raises(CorpusError) as error:
        corpus.list_clips("evaluation_txt", root, "Evaluation.txt", 2.0)
    assert_names(error, *patterns)


def test_evaluation_txt_refuses_absolute_path_outside_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside.wav"
    root = lab_corpus(tmp_path, [f"{outside} 1"])
    outside.write_bytes((root / "a.wav").read_bytes())
    with pytest.raises(CorpusError, match="escapes the corpus root"):
        corpus.list_clips("evaluation_txt", root, "Evaluation.txt", 2.0)


def test_same_stem_in_two_formats_is_a_duplicate(tmp_path: Path) -> None:
    root = lab_corpus(tmp_path, ["a.wav 1", "a.flac 1"], files=("a.wav", "a.flac"))
    with pytest.raises(CorpusError) as error:
        corpus.list_clips("evaluation_txt", root, "Evaluation.txt", 2.0)
    assert_names(error, "duplicate clip id 'a'", r"a\.wav", r"a\.flac")


def test_nested_paths_get_distinct_ids(tmp_path: Path) -> None:
    root = lab_corpus(tmp_path, ["x/a.wav 1", "y/a.wav 1"], files=("x/a.wav", "y/a.wav"))
    clips = corpus.list_clips("evaluation_txt", root, "Evaluation.txt", 2.0)
    assert [c.clip_id for c in clips] == ["x__a", "y__a"]


# --- CSV ---------------------------------------------------------------------------------

def csv_corpus(tmp_path: Path, text: str) -> Path:
    root = lab_corpus(tmp_path, [], files=("a.wav", "b.wav"))
    (root / "manifest.csv").write_text(text)
    return root


def test_csv_manifest(tmp_path: Path) -> None:
    root = csv_corpus(tmp_path, "path,speaker,song,target\na.wav,s1,song1,3\nb.wav,s2,song2,0\n")
    clips = corpus.list_clips("csv", root, "manifest.csv", score_max=4.0)
    assert [(c.clip_id, c.speaker, c.statement, c.enthusiasm) for c in clips] == [
        ("a", "s1", "song1", 0.75), ("b", "s2", "song2", 0.0)]
    assert [c.group for c in clips] == ["s1|song1|", "s2|song2|"]  # no condition known: singer and song


def test_csv_manifest_group_column(tmp_path: Path) -> None:
    root = csv_corpus(tmp_path, "path,speaker,song,target,group\na.wav,s1,song1,3,take-set-1\nb.wav,s1,song1,0,\n")
    assert [c.group for c in corpus.list_clips("csv", root, "manifest.csv", score_max=4.0)] == ["take-set-1",
                                                                                              "s1|song1|"]


@pytest.mark.parametrize("text, patterns", [
    ("path,speaker,target\na.wav,s1,1\n", [r"manifest\.csv", r"missing columns \['song'\]"]),
    ("path,speaker,song,target\na.wav,s1,x,lots\n", [line("manifest.csv", 2), "target 'lots' is not a number"]),
    ("path,speaker,song,target\na.wav,s1,x,1\nnope.wav,s1,x,1\n",
     [line("manifest.csv", 3), r"nope\.wav", "does not exist"]),
    ("path,speaker,song,target\n../outside.wav,s1,x,1\n",
     [line("manifest.csv", 2), r"\.\./outside\.wav", "escapes the corpus root"]),
    ("path,speaker,song,target\na.wav,s1,x,9\n", [line("manifest.csv", 2), r"a\.wav", r"score 9\.0", "outside"]),
    ("path,speaker,song,target\na.wav,s1,x,1\na.wav,s2,y,1\n", ["duplicate clip id 'a'"]),
    ("path,speaker,song,target\n", [r"manifest\.csv: no clips listed"]),
])
def test_csv_manifest_errors(tmp_path: Path, text: str, patterns: list[str]) -> None:
    root = csv_corpus(tmp_path, text)
    (tmp_path / "outside.wav").write_bytes((root / "a.wav").read_bytes())
    with pytest.raises(CorpusError) as error:
        corpus.list_clips("csv", root, "manifest.csv", 2.0)
    assert_names(error, *patterns)


def test_manifest_params_errors(evaluation_corpus: Path) -> None:
    with pytest.raises(CorpusError, match="data.manifest must name"):
        corpus.list_clips("evaluation_txt", evaluation_corpus, "")
    with pytest.raises(CorpusError) as error:
        corpus.list_clips("evaluation_txt", evaluation_corpus, "Nope.txt")
    assert_names(error, r"Nope\.txt", "data.manifest", "does not exist")
    with pytest.raises(CorpusError, match="unknown corpus 'tsv'"):
        corpus.list_clips("tsv", evaluation_corpus, "Evaluation.txt")


# --- manifest CSV files ------------------------------------------------------------

def test_write_and_read_manifest_round_trip(tmp_path: Path, ravdess_corpus: Path) -> None:
    rows = [corpus.clip_row(c) for c in corpus.list_clips("ravdess", ravdess_corpus)[:3]]
    corpus.write_manifest(tmp_path / "m.csv", rows)
    text = (tmp_path / "m.csv").read_text()
    assert text.splitlines()[0] == ",".join(corpus.MANIFEST_COLUMNS)
    assert "\r" not in text
    back = corpus.read_manifest(tmp_path / "m.csv")
    assert back == [{k: str(v) for k, v in row.items()} for row in rows]
    corpus.write_manifest(tmp_path / "again.csv", back)
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "m.csv").read_bytes()


def test_write_empty_manifest_keeps_header(tmp_path: Path) -> None:
    corpus.write_manifest(tmp_path / "r.csv", [], columns=("path", "reason"))
    assert (tmp_path / "r.csv").read_text() == "path,reason\n"
    assert corpus.read_manifest(tmp_path / "r.csv") == []
