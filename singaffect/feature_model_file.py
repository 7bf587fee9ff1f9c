"""The feature model on disk (``models/functionals_model.h5``): what ``singaffect predict`` needs to score a take.

Scikit-learn models are not pickled here: loading a pickle can run code, and a saved model
is untrusted input. The file holds what fitted the model instead: the training clips'
feature rows (after singer enrolment, exactly as the stage fitted them), their targets,
the model and its penalty, the decision threshold of a 0/1 target, and the settings that
turn a take into the same features (decode rate, ``functionals`` params) and the
enrolment it was trained with; with ``enrolment_match_emotion``, also the emotion model's rows,
labels and penalty (``predict`` predicts the emotion of the take and of its enrolment takes).
``SavedFeatureModel.fit`` refits the same scikit-learn model
from them (deterministic; about a second), so ``predict`` scores with the model the stage
evaluated. Only the penalised models (ridge, logistic, svm, lda) can be refitted this way; a file
written for a Keras model (mlp, ...) says so when ``predict`` asks for it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from singaffect import corpus, enrolment, evaluation, feature_models, feature_table, metrics, splits, storage
from singaffect.errors import SingaffectError

KIND = "singaffect feature model"
FORMAT_VERSION = 1
ARRAYS = ("x_train", "y_train", "emotion_x_train", "emotion_y_train")  # datasets; the rest are settings (JSON)


class FeatureModelFileError(SingaffectError, ValueError):
    """The file is not a usable feature model; the message names it."""


@dataclass(frozen=True)
class SavedFeatureModel:
    model: str  # ridge | logistic | svm | lda
    task: str  # emotion | enthusiasm
    alpha: float  # the penalty the stage used (chosen on validation when alpha_grid was set)
    threshold: float | None  # 0/1 enthusiasm: score at or above it is "strong" (chosen on validation)
    x_train: np.ndarray  # training clips' features, after enrolment
    y_train: np.ndarray
    feature_names: tuple[str, ...]
    sample_rate: int  # data.sample_rate: takes are decoded at this rate
    functionals: dict[str, Any]  # the functionals params the features were extracted with
    enrolment: dict[str, Any]  # enrolment.Enrolment fields it was trained with (mode none: no enrolment)
    emotion_alpha: float | None = None  # enrolment_match_emotion: the emotion model's penalty, its training rows
    emotion_x_train: np.ndarray | None = None  # (enrolled features) and their emotion class indices
    emotion_y_train: np.ndarray | None = None

    def fit(self) -> tuple[Any, Any]:
        """The preprocessor and model, refitted on the stored rows as the stage fitted them."""
        self._check_refittable()
        return feature_models.fit_penalised(self.model, self.task, self.alpha, self.x_train, self.y_train)

    def fit_emotion(self) -> tuple[Any, Any]:
        """The emotion model of ``enrolment_match_emotion``, refitted as the stage fitted it."""
        self._check_refittable()
        if self.emotion_x_train is None or self.emotion_alpha is None:
            raise FeatureModelFileError("this feature model was trained without functionals_model.enrolment_match_emotion")
        return feature_models.fit_penalised(self.model, "emotion", self.emotion_alpha, self.emotion_x_train,
                                            self.emotion_y_train)

    def _check_refittable(self) -> None:
        if self.model not in feature_models.PENALISED_MODELS:
            raise FeatureModelFileError(f"this feature model was trained with functionals_model.model={self.model}, "
                                        f"which predict cannot refit (it refits {list(feature_models.PENALISED_MODELS)})")


def build(features_path: str | Path, manifest: list[dict[str, str]], task: str, split: splits.Split, model: str,
          alpha: float, singer: enrolment.Enrolment, sample_rate: int, functionals: dict[str, Any],
          emotion_alpha: float | None = None) -> SavedFeatureModel:
    """The model ``functionals_model`` evaluated on ``split``: its training rows (after enrolment), penalty and,
    for a 0/1 target, the validation threshold its decisions used; with ``singer.match_emotion``, the
    emotion model (penalty ``emotion_alpha``, as the stage chose it) that matched the enrolment takes."""
    x_raw, names = feature_table.read_table(features_path, [r["clip_id"] for r in manifest])
    x = enrolment.normalise(x_raw, manifest, singer)
    y = corpus.targets_for_task(manifest, task)
    train, val = split.rows("train"), split.rows("val")
    emotion: dict[str, Any] = {}
    if singer.match_emotion:
        emotions = feature_models.check_match_emotion(task, singer, manifest)
        if emotion_alpha is None:
            raise FeatureModelFileError("enrolment_match_emotion: the emotion model's penalty is needed to save it")
        emotion = {"emotion_alpha": float(emotion_alpha), "emotion_x_train": x[train], "emotion_y_train": emotions[train]}
        x, _ = feature_models.emotion_matched_inputs(x_raw, x, enrolment.enrolment_sets(manifest, singer), emotions,
                                                     split.sides, model, float(emotion_alpha))
        names = [*names, *(f"{name} (centred by same-emotion takes)" for name in names)]
    threshold = None
    if model in feature_models.PENALISED_MODELS and task == "enthusiasm" and metrics.is_binary(y):
        prep, fitted = feature_models.fit_penalised(model, task, alpha, x[train], y[train])
        threshold = evaluation.val_threshold(y[val], feature_models.penalised_scores(prep, fitted, task, x[val]))
    return SavedFeatureModel(model=model, task=task, alpha=float(alpha), threshold=threshold, x_train=x[train],
                             y_train=y[train], feature_names=tuple(names), sample_rate=int(sample_rate),
                             functionals=dict(functionals),
                             enrolment={"mode": singer.mode, "scale": singer.scale, **singer.describe()}, **emotion)


def save(path: str | Path, saved: SavedFeatureModel) -> None:
    """Write ``saved`` to ``path`` (HDF5), whole or not at all."""
    optional = {f.name for f in fields(saved) if f.default is None}  # left at None: not written, so files
    arrays = [k for k in ARRAYS if getattr(saved, k) is not None]  # without them keep their bytes
    settings = {k: v for k, v in asdict(saved).items() if k not in ARRAYS and not (k in optional and v is None)}
    settings["feature_names"] = list(saved.feature_names)
    with storage.atomic_outputs(path) as (tmp,):
        with storage.create_h5(tmp) as handle:  # byte-stable: same fit, same file
            handle.attrs["kind"] = KIND
            handle.attrs["format_version"] = FORMAT_VERSION
            handle.attrs["settings"] = json.dumps(settings, sort_keys=True)
            for key in arrays:
                handle.create_dataset(key, data=getattr(saved, key), track_times=False)


def load(path: str | Path) -> SavedFeatureModel:
    """The feature model at ``path``; a ``FeatureModelFileError`` naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FeatureModelFileError(f"{path}: model file not found (run `dvc repro functionals_model` or pass --model)")
    try:
        with h5py.File(path, "r") as handle:
            if handle.attrs.get("kind") != KIND:
                raise FeatureModelFileError(f"{path}: not a singaffect feature model file")
            if int(handle.attrs.get("format_version", 0)) != FORMAT_VERSION:
                raise FeatureModelFileError(f"{path}: feature model format {handle.attrs.get('format_version')} "
                                            f"(this singaffect reads {FORMAT_VERSION}); rerun `dvc repro functionals_model`")
            settings = json.loads(handle.attrs["settings"])
            arrays = {key: handle[key][()] for key in ARRAYS if key in handle}
    except OSError as error:
        raise FeatureModelFileError(f"{path}: cannot read the feature model ({error})") from None
    settings["feature_names"] = tuple(settings["feature_names"])
    return SavedFeatureModel(**arrays, **settings)


def is_feature_model(path: str | Path) -> bool:
    """Whether ``path`` is an HDF5 file that says it is a feature model (what ``predict`` dispatches on)."""
    try:
        with h5py.File(path, "r") as handle:
            return handle.attrs.get("kind") == KIND
    except OSError:
        return False
