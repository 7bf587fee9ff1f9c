"""The enrolment-size curve is generated from recorded results rows, never typed."""
from __future__ import annotations

import json

from singaffect import cli, enrolment_curve, results


def row(path, label, takes, value, mode="other_takes", emotions=None, runs=1, scale=None, matched=False):
    metrics = {"task": "emotion", "model": "ridge", "features": "functionals", "strategy": "actor_folds",
               "leaky": False, "protocol": "cv", "n_test": 10,
               "headline": {"metric": "accuracy", "value": value, "ci95": [value - 0.02, value + 0.03]}}
    if takes != 0:
        metrics["enrolment"] = {"mode": mode, **({"takes": takes} if mode == "other_takes" else {}),
                                **({"emotions": emotions} if emotions else {}),
                                **({"scale": scale} if scale else {}),
                                **({"match_emotion": True} if matched else {})}
    run = {"commit": "0" * 40, "command": "dvc exp run", "source": "metrics/cv/classic.json", "metrics": metrics}
    path.write_text(json.dumps({"label": label, "runs": [run] * runs}))


def test_curve_orders_takes_and_leaves_other_rows_out(tmp_path):
    row(tmp_path / "001_a.json", "none", 0, 0.70, runs=3)
    row(tmp_path / "002_b.json", "eight", 8, 0.80)
    row(tmp_path / "003_c.json", "all", "all", 0.88)
    row(tmp_path / "004_d.json", "two", 2, 0.40)
    row(tmp_path / "005_e.json", "statement", 1, 0.85, mode="other_statement")  # another kind of set
    row(tmp_path / "006_f.json", "neutral", "all", 0.79, emotions=["neutral"])  # an unbalanced set: not on the curve
    assert cli.main(["enrolment-curve", "--results", str(tmp_path)]) == 0
    table = (tmp_path / "enrolment_curve.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("| ") and "enrolment takes" not in line]
    assert [line.split(" | ")[0] for line in lines] == ["| 0", "| 2", "| 8", "| all"]
    assert "| 0 | 0.700 | 0.680–0.730 | 3 | none |" in table and "statement" not in table and "neutral" not in table
    svg = (tmp_path / "enrolment_curve.svg").read_text()
    assert svg.startswith("<?xml") and "enrolment takes" in svg
    first = svg
    enrolment_curve.write(tmp_path)
    assert (tmp_path / "enrolment_curve.svg").read_text() == first  # byte-stable: no date, fixed hash salt


def test_no_drawn_takes_no_curve(tmp_path):
    row(tmp_path / "001_a.json", "none", 0, 0.70)
    enrolment_curve.write(tmp_path)
    assert "No rows with drawn enrolment takes" in (tmp_path / "enrolment_curve.md").read_text()


def test_centred_sets_get_their_own_curve_starting_from_the_same_unenrolled_row(tmp_path):
    row(tmp_path / "001_a.json", "none", 0, 0.70)
    row(tmp_path / "002_b.json", "two standardised", 2, 0.40)
    row(tmp_path / "003_c.json", "two centred", 2, 0.78, scale="centre")
    row(tmp_path / "004_d.json", "all centred", "all", 0.86, scale="centre")
    found = enrolment_curve.curves(results.load(tmp_path))
    key = ("emotion", "ridge", "functionals", "actor_folds")
    assert [p.label for p in found[(*key, "standardise", "")]] == ["none", "two standardised"]
    assert [p.label for p in found[(*key, "centre", "")]] == ["none", "two centred", "all centred"]
    enrolment_curve.write(tmp_path)
    table = (tmp_path / "enrolment_curve.md").read_text()
    assert "enrolment centred" in table and "enrolment standardised" in table
    assert table.count("| 0 | 0.700 |") == 2


def test_of_several_unenrolled_rows_the_one_whose_label_the_enrolled_rows_extend_starts_the_curve(tmp_path):
    row(tmp_path / "001_a.json", "SVM on dB features, emotion, 5 actor folds", 0, 0.75)
    row(tmp_path / "002_b.json", "SVM on power features, emotion, 5 actor folds", 0, 0.73)
    row(tmp_path / "003_c.json", "SVM on dB features + singer enrolment (4 other takes), emotion, 5 actor folds", 4, 0.80)
    (points,) = enrolment_curve.curves(results.load(tmp_path)).values()
    assert [p.value for p in points] == [0.75, 0.80]


def test_sets_matched_by_emotion_get_their_own_curve(tmp_path):
    row(tmp_path / "001_a.json", "none", 0, 0.70)
    row(tmp_path / "002_b.json", "four", 4, 0.75)
    row(tmp_path / "003_c.json", "all", "all", 0.86)
    row(tmp_path / "004_d.json", "four matched", 4, 0.78, matched=True)
    row(tmp_path / "005_e.json", "all matched", "all", 0.90, matched=True)
    found = enrolment_curve.curves(results.load(tmp_path))
    key = ("emotion", "ridge", "functionals", "actor_folds")
    assert [p.label for p in found[(*key, "standardise", "")]] == ["none", "four", "all"]
    assert [p.label for p in found[(*key, "standardise + same emotion", "")]] == ["none", "four matched", "all matched"]
    enrolment_curve.write(tmp_path)
    assert "enrolment standardised, plus centred by the takes of the same predicted emotion" in (
        tmp_path / "enrolment_curve.md").read_text()


def test_rows_of_two_feature_sets_get_a_curve_each_started_by_their_own_unenrolled_row(tmp_path):
    row(tmp_path / "001_a.json", "Model on bands, emotion, 5 folds", 0, 0.70)
    row(tmp_path / "002_b.json", "Model on bands and chroma, emotion, 5 folds", 0, 0.68)
    row(tmp_path / "003_c.json", "Model on bands + singer enrolment (4 other takes), emotion, 5 folds", 4, 0.75)
    row(tmp_path / "004_d.json", "Model on bands + singer enrolment (all other takes), emotion, 5 folds", "all", 0.86)
    row(tmp_path / "005_e.json", "Model on bands and chroma + singer enrolment (all other takes), emotion, 5 folds",
        "all", 0.85)
    found = enrolment_curve.curves(results.load(tmp_path))
    key = ("emotion", "ridge", "functionals", "actor_folds", "standardise")
    assert [p.value for p in found[(*key, "Model on bands")]] == [0.70, 0.75, 0.86]
    assert (*key, "Model on bands and chroma") not in found  # no drawn-takes row: no curve
    row(tmp_path / "006_f.json", "Model on bands and chroma + singer enrolment (4 other takes), emotion, 5 folds", 4,
        0.74)
    found = enrolment_curve.curves(results.load(tmp_path))
    assert [p.value for p in found[(*key, "Model on bands and chroma")]] == [0.68, 0.74, 0.85]
    enrolment_curve.write(tmp_path)
    assert "(rows: Model on bands and chroma)" in (tmp_path / "enrolment_curve.md").read_text()
