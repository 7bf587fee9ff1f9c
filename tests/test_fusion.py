"""Late fusion: the weight is chosen on each fold's validation clips only, and the scores CSV round-trips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from singaffect import evaluation, fusion, metrics
from singaffect.corpus import EMOTIONS

N_PER_SIDE = 60


def manifest_rows(fold: int, side: str, n: int) -> list[dict[str, str]]:
    return [{"clip_id": f"f{fold}-{side}-{i:03d}", "speaker": f"{fold}{side[0]}{i % 3}", "group": f"g{fold}{side}{i}"}
            for i in range(n)]


def one_hot(labels: np.ndarray, confidence: float = 0.9) -> np.ndarray:
    p = np.full((len(labels), len(EMOTIONS)), (1 - confidence) / (len(EMOTIONS) - 1))
    p[np.arange(len(labels)), labels] = confidence
    return p


def confusing(labels: np.ndarray, pairs: dict[int, int]) -> np.ndarray:
    """Probabilities that split evenly between a label and its partner in ``pairs`` (else confident)."""
    p = one_hot(labels)
    for i, label in enumerate(labels):
        if label in pairs:
            p[i] = 0.02
            p[i, label] = p[i, pairs[label]] = 0.45
            p[i, max(label, pairs[label])] += 0.001  # the partner with the larger index wins the tie
    return p


def write_system(path: Path, per_fold: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]) -> Path:
    """A scores CSV of ``{fold: {side: (labels, probabilities)}}``."""
    rows = []
    for fold, sides in per_fold.items():
        for side, (labels, probabilities) in sides.items():
            rows += fusion.score_rows("emotion", fold, side, manifest_rows(fold, side, len(labels)),
                                      [EMOTIONS[k] for k in labels], probabilities)
    fusion.write_scores(path, "emotion", rows)
    return path


def labels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, len(EMOTIONS), N_PER_SIDE)


def accuracy(rows: list[dict], column: str = "predicted") -> float:
    return float(np.mean([row["actual"] == row[column] for row in rows]))


def test_complementary_systems_fuse_to_more_than_either(tmp_path: Path) -> None:
    val, test = labels(1), labels(2)
    # the CNN confuses neutral/calm and happy/sad, the feature model angry/fearful and neutral/calm less
    first = write_system(tmp_path / "cnn.csv", {0: {side: (y, confusing(y, {0: 1, 2: 3}))
                                                    for side, y in (("val", val), ("test", test))}})
    second = write_system(tmp_path / "features.csv", {0: {side: (y, confusing(y, {4: 5}))
                                                          for side, y in (("val", val), ("test", test))}})
    folds, chosen = fusion.fuse("emotion", fusion.read_scores([first], "emotion"),
                                fusion.read_scores([second], "emotion"), fusion.WEIGHT_GRID)
    rows = folds[0]
    assert accuracy(rows) == 1.0 and 0 < chosen[0] < 1
    assert accuracy(rows, "first_alone") < 1.0 and accuracy(rows, "second_alone") < 1.0
    pooled = evaluation.pool_folds("emotion", [[{k: str(v) for k, v in row.items()} for row in rows]])
    assert pooled["headline"]["value"] == 1.0


def test_the_weight_is_chosen_on_validation_clips_never_on_test(tmp_path: Path) -> None:
    val, test = labels(3), labels(4)
    rng = np.random.default_rng(5)
    noise = rng.dirichlet(np.ones(len(EMOTIONS)), N_PER_SIDE)
    good_on_val = {0: {"val": (val, one_hot(val)), "test": (test, noise)}}
    good_on_test = {0: {"val": (val, noise), "test": (test, one_hot(test))}}
    first = fusion.read_scores([write_system(tmp_path / "a.csv", good_on_val)], "emotion")
    second = fusion.read_scores([write_system(tmp_path / "b.csv", good_on_test)], "emotion")
    folds, chosen = fusion.fuse("emotion", first, second, fusion.WEIGHT_GRID)
    # val says the first system is right: it gets the larger weight although the second is perfect on test
    assert chosen[0] > 0.5
    assert accuracy(folds[0], "second_alone") == 1.0 > accuracy(folds[0])
    # changing only test scores changes no weight
    shuffled = {0: {"val": (val, one_hot(val)), "test": (test, rng.permutation(noise))}}
    again = fusion.read_scores([write_system(tmp_path / "c.csv", shuffled)], "emotion")
    assert fusion.fuse("emotion", again, second, fusion.WEIGHT_GRID)[1] == chosen


def test_each_fold_chooses_its_own_weight(tmp_path: Path) -> None:
    y = {fold: (labels(10 + fold), labels(20 + fold)) for fold in (0, 1)}

    def right(labels_: np.ndarray) -> np.ndarray:
        return one_hot(labels_, 0.9)

    def wrong(labels_: np.ndarray) -> np.ndarray:  # confidently the next emotion
        return one_hot((labels_ + 1) % len(EMOTIONS), 0.99)

    # fold 0: the first system is right, the second confidently wrong; fold 1: the other way round
    first = {0: {side: (labels_, right(labels_)) for side, labels_ in zip(fusion.SIDES, y[0])},
             1: {side: (labels_, wrong(labels_)) for side, labels_ in zip(fusion.SIDES, y[1])}}
    second = {0: {side: (labels_, wrong(labels_)) for side, labels_ in zip(fusion.SIDES, y[0])},
              1: {side: (labels_, right(labels_)) for side, labels_ in zip(fusion.SIDES, y[1])}}
    # one file per fold for the first system, as the CNN's evaluate stage writes them
    paths = [write_system(tmp_path / f"cnn{fold}.csv", {fold: first[fold]}) for fold in (0, 1)]
    folds, chosen = fusion.fuse("emotion", fusion.read_scores(paths, "emotion"),
                                fusion.read_scores([write_system(tmp_path / "f.csv", second)], "emotion"),
                                fusion.WEIGHT_GRID)
    assert chosen[0] > 0.5 > chosen[1]
    assert accuracy(folds[0]) == accuracy(folds[1]) == 1.0
    assert accuracy(folds[0], "second_alone") == accuracy(folds[1], "first_alone") == 0.0


def test_enthusiasm_scores_fuse_whatever_their_scale(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    y = {side: rng.integers(0, 2, N_PER_SIDE).astype(float) for side in fusion.SIDES}
    signal = {side: y[side] + rng.normal(0, 0.8, N_PER_SIDE) for side in fusion.SIDES}
    other = {side: y[side] + rng.normal(0, 0.8, N_PER_SIDE) for side in fusion.SIDES}

    def system(name: str, values: dict, scale: float) -> fusion.Scores:
        rows = []
        for side in fusion.SIDES:
            rows += fusion.score_rows("enthusiasm", 0, side, manifest_rows(0, side, N_PER_SIDE), y[side].tolist(),
                                      scale * values[side], np.zeros(N_PER_SIDE) + 0.5 if side == "test" else None)
        fusion.write_scores(tmp_path / name, "enthusiasm", rows)
        return fusion.read_scores([tmp_path / name], "enthusiasm")

    plain, chosen = fusion.fuse("enthusiasm", system("a.csv", signal, 1.0), system("b.csv", other, 1.0),
                                fusion.WEIGHT_GRID)
    scaled, chosen_scaled = fusion.fuse("enthusiasm", system("c.csv", signal, 1000.0), system("d.csv", other, 0.01),
                                        fusion.WEIGHT_GRID)
    assert chosen == chosen_scaled and 0 < chosen[0] < 1
    assert [r["decision"] for r in plain[0]] == [r["decision"] for r in scaled[0]]
    assert all(r["floor"] == 0.5 for r in plain[0])
    pooled = evaluation.pool_folds("enthusiasm", [[{k: str(v) for k, v in r.items()} for r in plain[0]]])
    alone = evaluation.pool_folds("enthusiasm", [[{**{k: str(v) for k, v in r.items()}, "predicted": str(r["first_alone"])}
                                                  for r in plain[0]]])
    assert pooled["roc_auc"] > alone["roc_auc"]  # two independent noisy views of one signal
    # each system alone keeps its own ranking: no clipping ties the extremes
    assert alone["roc_auc"] == pytest.approx(metrics.roc_auc(y["test"], signal["test"]), abs=1e-4)
    assert "floor" in pooled


def test_scores_round_trip_and_bad_files_are_named(tmp_path: Path) -> None:
    y = labels(8)
    p = np.random.default_rng(9).dirichlet(np.ones(len(EMOTIONS)), N_PER_SIDE)
    path = write_system(tmp_path / "s.csv", {0: {"val": (y, p), "test": (y, p)}})
    read = fusion.read_scores([path], "emotion")
    assert np.allclose(read.values[read.side == "val"], p[np.argsort([f"{i:03d}" for i in range(N_PER_SIDE)])],
                       rtol=1e-5)
    other = write_system(tmp_path / "other.csv", {1: {"val": (y, p), "test": (y, p)}})
    with pytest.raises(fusion.FusionError, match="other.csv"):
        fusion.fuse("emotion", read, fusion.read_scores([other], "emotion"), fusion.WEIGHT_GRID)
    with pytest.raises(fusion.FusionError, match="s.csv.*twice"):
        fusion.read_scores([path, path], "emotion")
    with pytest.raises(fusion.FusionError, match="s.csv.*not a enthusiasm scores file"):
        fusion.read_scores([path], "enthusiasm")
    broken = tmp_path / "broken.csv"
    broken.write_text(path.read_text().replace("\n0,val,", "\n0,train,", 1))
    with pytest.raises(fusion.FusionError, match="broken.csv.*unknown sides"):
        fusion.read_scores([broken], "emotion")
    broken.write_text(path.read_text().replace(",0.", ",nan0.", 1))
    with pytest.raises(fusion.FusionError, match="broken.csv"):
        fusion.read_scores([broken], "emotion")
    with pytest.raises(fusion.FusionError, match=r"\[0, 1\]"):
        fusion.check_weight_grid([0.5, 1.5])
    with pytest.raises(fusion.FusionError, match="at least one"):
        fusion.check_weight_grid([])
