"""Models on per-clip feature tables (stages functionals_model and handcrafted_model), under the CNN's splits.

One feature vector per original recording (``functionals`` or ``handcrafted`` tables),
assigned to sides by the split stage's own output (``split_files.read_clip_splits``): one
split, or every fold of the cross-validation (cv/dvc.yaml), so these models are trained
and tested on exactly the CNN's clips. For every fold the inputs are imputed (median) and
standardised with statistics of that fold's training clips only.

Models (``functionals_model.model``; handcrafted_model fits ``ridge``):

* ``ridge``: sklearn ``Ridge`` (enthusiasm) or multinomial ``LogisticRegression`` with
  ``C = 1 / alpha`` (emotion), the cheap baseline, fitted on the training clips like every
  model here; the validation clips only choose the decision threshold of binary targets.
* ``logistic``: ``LogisticRegression`` (``C = 1 / alpha``) for emotion and for a 0/1
  enthusiasm target (RAVDESS normal vs strong), scoring a take by its probability of
  "strong"; graded scores need ``ridge``.
* ``svm``: a support-vector machine with an RBF kernel (``gamma="scale"``, ``C = 1 /
  alpha``): ``SVC`` for emotion (one-vs-one) and for a 0/1 enthusiasm target, scoring a
  take by its signed distance to the boundary; ``SVR`` for graded scores. The kernel
  lets it use feature interactions a linear model cannot, at the cost of a few seconds.
* ``lda``: linear discriminant analysis with a shrunk covariance (``solver="lsqr"``), for
  emotion and a 0/1 enthusiasm target (scored by its decision function). One covariance
  shared by the classes suits ~800 training clips of 386 features, where the sample
  covariance is singular; ``alpha`` sets the shrinkage towards the diagonal as
  ``alpha / (1 + alpha)`` (``lda_shrinkage``), so a larger alpha is a stronger penalty like
  the other models' and the default ``alpha_grid`` spans 0.01 to 0.99.
* ``mlp``: seed 2's fully connected net: batch norm, 3 x Dense(256, relu), dropout 0.4.
* ``lstm`` / ``gru``: seed 2's recurrent nets, 3 x 256 units over the feature vector as a
  sequence of ONE step of 386 values (seed 2 reshapes to ``(1, 386)``), so they are gated
  dense nets rather than models of time; a 386-step sequence would cost ~100x more.
* ``conv1d``: seed 2's 1-D CNN over the 386 values as a sequence of 386 x 1, scaled down for
  CPUs: Conv1D(64 filters, kernel 32) instead of (256, 128), max-pool 2, dropout 0.4.

For ``ridge``, ``logistic``, ``svm`` and ``lda``, ``alpha_grid`` (``functionals_model.alpha_grid``) lets each
fold choose ``alpha`` on its validation clips (the task's headline metric; ties go to the
stronger penalty), never on its test clips; the chosen values are recorded per fold.

Keras models train with Adam, early stopping on the validation side (best weights
restored), seeded through ``training.seed_everything``; ``KerasFit`` holds those settings.
``write_outputs`` owns the two files each stage writes (metrics JSON, per-clip predictions CSV);
``evaluate_table`` also returns every fold's val and test scores (emotion: class probabilities,
libsvm's pairwise Platt scaling for the SVM; enthusiasm: the scores) as rows of ``fusion``'s scores CSV.
Keras is imported only when a Keras model is fitted: the ridge path never loads it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

from singaffect import corpus, enrolment, evaluation, feature_table, fusion, metrics, splits, storage
from singaffect.corpus import EMOTIONS
from singaffect.errors import SingaffectError

MODELS = ("ridge", "logistic", "svm", "lda", "mlp", "lstm", "gru", "conv1d")
PENALISED_MODELS = ("ridge", "logistic", "svm", "lda")  # scikit-learn models with one penalty, alpha (C = 1 / alpha,
#                                                        or lda's shrinkage alpha / (1 + alpha))


class FeatureModelError(SingaffectError, ValueError):
    """The model or task params do not fit the features; names the params key."""


@dataclass(frozen=True)
class KerasFit:
    """How a Keras model is fitted (``functionals_model.*``): epochs with early stopping, batch, Adam's rate, seed."""

    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    seed: int


def preprocessor() -> Pipeline:
    """Median imputation (undefined pitch features) then z-scores, to be fitted on training clips only."""
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())


def keras_model(name: str, n_features: int, task: str, learning_rate: float) -> Any:
    """A compiled seed-2 style Keras model ``name`` for standardised vectors of ``n_features``."""
    import keras
    from keras import layers

    from singaffect.models import task_head, compile_for_task

    shapes = {"mlp": (n_features,), "lstm": (1, n_features), "gru": (1, n_features), "conv1d": (n_features, 1)}
    if name not in shapes:
        raise FeatureModelError(f"params key functionals_model.model: {name!r} is not a Keras model (choose from {list(shapes)})")
    inputs = keras.Input(shape=shapes[name], name="features")
    x = layers.BatchNormalization()(inputs)
    if name == "mlp":
        for _ in range(3):
            x = layers.Dense(256, activation="relu")(x)
    elif name in ("lstm", "gru"):
        recurrent = layers.LSTM if name == "lstm" else layers.GRU
        for _ in range(3):
            x = recurrent(256, return_sequences=True)(x)
        x = layers.Flatten()(x)
    else:
        x = layers.Conv1D(64, 32, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    model = keras.Model(inputs, task_head(x, task, len(EMOTIONS)), name=f"feature_{name}")
    compile_for_task(model, task, learning_rate)
    return model


def _as_input(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[:, None, :] if name in ("lstm", "gru") else x[:, :, None] if name == "conv1d" else x


def lda_shrinkage(alpha: float) -> float:
    """The covariance shrinkage in (0, 1) that ``lda`` uses for penalty ``alpha`` > 0 (monotone: more alpha, more shrinkage)."""
    return alpha / (1.0 + alpha)


def _penalised_fit(name: str, task: str, alpha: float, z: np.ndarray, y: np.ndarray) -> Any:
    """A ridge / logistic / SVM / LDA model with penalty ``alpha`` fitted on ``z`` -> ``y``."""
    if name == "lda":
        if task == "enthusiasm" and not metrics.is_binary(y):
            raise FeatureModelError("params key functionals_model.model: lda needs a 0/1 enthusiasm target "
                                    "(normal vs strong); graded scores take ridge or svm")
        return LinearDiscriminantAnalysis(solver="lsqr", shrinkage=lda_shrinkage(alpha)).fit(z, y)
    if name == "svm":
        if task == "enthusiasm" and not metrics.is_binary(y):
            return SVR(C=1.0 / alpha).fit(z, y)
        return SVC(C=1.0 / alpha).fit(z, y)
    if task == "emotion" or name == "logistic":
        if task == "enthusiasm" and not metrics.is_binary(y):
            raise FeatureModelError("params key functionals_model.model: logistic needs a 0/1 enthusiasm target "
                                    "(normal vs strong); graded scores take ridge")
        return LogisticRegression(C=1.0 / alpha, max_iter=5000).fit(z, y)
    return Ridge(alpha=alpha).fit(z, y)


def fit_penalised(name: str, task: str, alpha: float, x_train: np.ndarray, y_train: np.ndarray) -> tuple[Pipeline, Any]:
    """The preprocessor and the ridge / logistic / SVM model fitted on training rows, as ``fit_predict`` fits them."""
    prep = preprocessor().fit(x_train)
    return prep, _penalised_fit(name, task, alpha, prep.transform(x_train), y_train)


def penalised_scores(prep: Pipeline, model: Any, task: str, x: np.ndarray) -> np.ndarray:
    """Scores of ``x`` from ``fit_penalised``'s pair (class indices for emotion)."""
    return _penalised_scores(model, task, prep.transform(x))


def _penalised_scores(model: Any, task: str, z: np.ndarray) -> np.ndarray:
    """Class indices (emotion), the probability of the positive class (logistic), the SVM's or LDA's
    signed distance (binary target) or the regression score."""
    if task == "emotion":
        return model.predict(z)
    if isinstance(model, LogisticRegression):
        return model.predict_proba(z)[:, 1]
    return model.decision_function(z) if isinstance(model, (SVC, LinearDiscriminantAnalysis)) else model.predict(z)


def _emotion_probabilities(model: Any, z_train: np.ndarray, y_train: np.ndarray, *zs: np.ndarray) -> list[np.ndarray]:
    """``(n, 6)`` class probabilities in ``EMOTIONS`` order of each of ``zs`` (zero for a class the training rows lacked).

    The logistic regression and LDA give their own. For an SVM, the same SVM is refitted with libsvm's
    probability estimates: Platt scaling of each pair's decision values by an internal 5-fold
    cross-validation on the training rows, coupled over the pairs (``random_state=0`` fixes
    its folds). Its own one-vs-one vote still makes the predictions; these feed fusion.
    scikit-learn 1.9 deprecates ``probability=True`` (removal in 1.11) for
    ``CalibratedClassifierCV``, whose one-vs-rest sigmoids fused worse with the CNN in a probe
    (5 actor folds, seed 0: 0.761 against 0.792); requirements.txt pins 1.9.1.
    """
    if isinstance(model, SVC):
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The `probability` parameter was deprecated",
                                    category=FutureWarning)
            model = SVC(C=model.C, probability=True, random_state=0).fit(z_train, y_train)
    probabilities = []
    for z in zs:
        in_order = np.zeros((len(z), len(EMOTIONS)))
        in_order[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(z)
        probabilities.append(in_order)
    return probabilities


class Fitted(NamedTuple):
    """``fit_predict``'s answer: val and test predictions, the alpha used, and the val and test scores."""

    val: np.ndarray
    test: np.ndarray
    alpha: float | None
    val_scores: np.ndarray   # emotion: (n, 6) class probabilities; enthusiasm: the predictions
    test_scores: np.ndarray


def fit_predict(name: str, task: str, x: np.ndarray, y: np.ndarray, sides: np.ndarray,
                alpha: float | Sequence[float], keras_fit: KerasFit | None = None) -> Fitted:
    """Fit ``name`` on the train rows of ``sides``; predictions and scores for the val and test rows, and the alpha used.

    ``alpha`` is the penalty of ``ridge`` / ``logistic`` / ``svm`` (the latter two: ``C = 1 /
    alpha``); several values are tried and the one with the best validation headline is
    kept (Keras models: ``None``). Keras models need ``keras_fit``. Validation predictions
    are out of sample for every model (Keras models also stop early on them). Emotion
    predictions are class indices, enthusiasm predictions scores.
    """
    train, val, test = (np.flatnonzero(sides == side) for side in splits.SIDES)
    prep = preprocessor().fit(x[train])
    z = prep.transform(x)
    if name in PENALISED_MODELS:
        alphas = sorted({float(a) for a in np.atleast_1d(alpha)}, reverse=True)  # strongest penalty first
        if not alphas or min(alphas) <= 0:
            raise FeatureModelError(f"params key functionals_model.alpha_grid: penalties must be positive, got {alphas}")
        headline = metrics.headline_for(task, y[val])[1]
        best = None
        for value in alphas:
            model = _penalised_fit(name, task, value, z[train], y[train])
            val_pred = _penalised_scores(model, task, z[val])
            score = float(headline(y[val], val_pred)) if len(alphas) > 1 else 0.0
            if best is None or score > best[0]:  # ties keep the stronger penalty
                best = (score, value, model, val_pred)
        _, value, model, val_pred = best
        test_pred = _penalised_scores(model, task, z[test])
        if task == "emotion":
            return Fitted(val_pred, test_pred, value, *_emotion_probabilities(model, z[train], y[train], z[val], z[test]))
        return Fitted(val_pred, test_pred, value, val_pred, test_pred)
    if keras_fit is None:
        raise FeatureModelError(f"params key functionals_model.model: {name!r} is a Keras model and needs its fit settings")
    import keras

    from singaffect.training import seed_everything

    seed_everything(keras_fit.seed)
    model = keras_model(name, x.shape[1], task, keras_fit.learning_rate)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=keras_fit.patience, restore_best_weights=True)
    model.fit(_as_input(name, z[train]), y[train], validation_data=(_as_input(name, z[val]), y[val]),
              epochs=keras_fit.epochs, batch_size=keras_fit.batch_size, shuffle=True, callbacks=[stop], verbose=0)

    def scored(rows: np.ndarray) -> np.ndarray:
        scores = np.asarray(model.predict(_as_input(name, z[rows]), batch_size=256, verbose=0), dtype=np.float64)
        return scores if task == "emotion" else scores.reshape(-1)

    val_scores, test_scores = scored(val), scored(test)
    if task == "emotion":
        return Fitted(val_scores.argmax(axis=1), test_scores.argmax(axis=1), None, val_scores, test_scores)
    return Fitted(val_scores, test_scores, None, val_scores, test_scores)


@dataclass
class Outcome:
    """Out-of-fold predictions: ``rows`` (test rows of every fold, in fold order), their fold and prediction.

    ``decisions`` are binary enthusiasm decisions at each fold's validation threshold
    (``None`` for other targets); ``floor`` the emotion-label floor scores (``None`` without emotions).
    """

    rows: np.ndarray
    folds: np.ndarray
    predictions: np.ndarray
    decisions: np.ndarray | None = None
    floor: np.ndarray | None = None
    alphas: list[float | None] | None = None  # the penalty each fold used (ridge / logistic / svm / lda)
    scores: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None  # per fold: val rows, val scores,
    #                                                                    test rows, test scores (Fitted's)


def emotion_matched_inputs(x_raw: np.ndarray, x_enrolled: np.ndarray, sets: Sequence[np.ndarray],
                           emotions: np.ndarray, sides: np.ndarray, name: str, alpha: float | Sequence[float],
                           keras_fit: KerasFit | None = None) -> tuple[np.ndarray, float | None]:
    """One split's inputs for ``enrolment_match_emotion``: the enrolled features beside the raw features centred by
    the same-emotion takes of each clip's enrolment set (``enrolment.emotion_matched``), and the emotion model's alpha.

    A train-side clip's emotion is its label (``emotions``, class indices); every other clip's
    is predicted by model ``name`` fitted for emotion on the train side of the enrolled
    features (``alpha`` chosen on the val side, as the emotion task does), so no label of a
    test clip, or of its singer's other takes, is read.
    """
    fitted = fit_predict(name, "emotion", x_enrolled, emotions, sides, alpha, keras_fit)
    emotion_of = np.where(sides == "train", np.asarray(emotions, dtype=np.int64), -1)
    emotion_of[sides == "val"] = fitted.val
    emotion_of[sides == "test"] = fitted.test
    return np.hstack([x_enrolled, enrolment.emotion_matched(x_raw, sets, emotion_of)]), fitted.alpha


def check_match_emotion(task: str, singer: enrolment.Enrolment, manifest: Sequence[dict[str, str]]) -> np.ndarray:
    """The emotion class index of every manifest row, once ``enrolment_match_emotion``'s preconditions hold."""
    key = "params key functionals_model.enrolment_match_emotion"
    if task != "enthusiasm":
        raise FeatureModelError(f"{key}: matches enrolment takes by emotion to score enthusiasm; train.task is {task!r}")
    if singer.mode == "none":
        raise FeatureModelError(f"{key}: needs singer enrolment (functionals_model.enrolment is none)")
    try:
        return corpus.targets_for_task(manifest, "emotion")
    except corpus.TargetError as error:
        raise FeatureModelError(f"{key}: needs emotion labels on the training clips ({error})") from None


def run(name: str, task: str, x: np.ndarray, y: np.ndarray, folds: Sequence[splits.Split],
        alpha: float | Sequence[float], keras_fit: KerasFit | None = None,
        emotions: Sequence[str] | None = None,
        fold_inputs: Callable[[np.ndarray], np.ndarray] | None = None) -> Outcome:
    """Fit and predict once per split in ``folds`` (on ``fold_inputs(split.sides)`` instead of ``x`` when given)."""
    if name not in MODELS:
        raise FeatureModelError(f"params key functionals_model.model: unknown model {name!r} (choose from {list(MODELS)})")
    binary = task == "enthusiasm" and metrics.is_binary(y)
    rows, fold_of, predictions, decided, floors, alphas, scores = [], [], [], [], [], [], []
    for number, split in enumerate(folds):
        test = split.rows("test")
        rows.append(test)
        fold_of.append(np.full(len(test), number))
        inputs = x if fold_inputs is None else fold_inputs(split.sides)
        fitted = fit_predict(name, task, inputs, y, split.sides, alpha, keras_fit)
        val_pred, test_pred = fitted.val, fitted.test
        predictions.append(test_pred)
        alphas.append(fitted.alpha)
        scores.append((split.rows("val"), fitted.val_scores, test, fitted.test_scores))
        if binary:
            decided.append(evaluation.decisions(test_pred, evaluation.val_threshold(y[split.rows("val")], val_pred)))
        if emotions is not None and task == "enthusiasm":
            floors.append(evaluation.emotion_floor(emotions, y, split.rows("train"), test))
    floor = np.concatenate(floors) if floors and all(f is not None for f in floors) else None
    return Outcome(np.concatenate(rows), np.concatenate(fold_of), np.concatenate(predictions),
                   np.concatenate(decided) if binary else None, floor, alphas, scores)


def summary(task: str, y: np.ndarray, outcome: Outcome, folds: Sequence[splits.Split],
            manifest: Sequence[dict[str, str]], extra: dict[str, Any]) -> dict[str, Any]:
    """Metrics in ``metrics/eval.json``'s layout (``evaluation.summarise``: headline with a clustered CI).

    For cross-validation (several folds) the headline pools every fold's test clips (each
    clip is tested once); ``folds`` lists each fold's metrics and ``fold_mean`` /
    ``fold_std`` summarise them. One fold alone is reported like any single split.
    """
    y_true, y_pred = y[outcome.rows], outcome.predictions
    first = folds[0]
    pooled = len(folds) > 1
    clusters = evaluation.cluster_labels([manifest[i] for i in outcome.rows], first.cluster_unit)
    result: dict[str, Any] = {
        "task": task, **extra, "strategy": first.strategy, "leaky": first.leaky,
        "protocol": splits.PROTOCOLS[first.strategy] if pooled else first.protocol,
        "n_test": int(len(outcome.rows)),
        **evaluation.summarise(task, y_true, y_pred, clusters, first.cluster_unit, outcome.decisions, outcome.floor),
    }
    if pooled:
        result.update(evaluation.fold_table(task, y_true, y_pred, outcome.folds,
                                            [manifest[i]["speaker"] for i in outcome.rows]))
    return result


def evaluate_table(features_path: str | Path, manifest: Sequence[dict[str, str]], task: str,
                   folds: Sequence[splits.Split], name: str, alpha: float, keras_fit: KerasFit | None = None,
                   singer: enrolment.Enrolment = enrolment.Enrolment(),
                   alpha_grid: Sequence[float] = ()
                   ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Metrics summary, per-clip predictions and scores rows of model ``name`` on a feature table, once per split in ``folds``.

    ``folds[i].sides`` follow ``manifest`` (one original recording per row), as
    ``split_files.read_clip_splits`` gives them. ``singer`` standardises every clip by its
    singer's enrolment set first (``enrolment.normalise``), whatever its side. A non-empty
    ``alpha_grid`` replaces ``alpha`` for ridge / logistic / svm / lda: each fold picks one on validation.
    With ``singer.match_emotion`` each fold's inputs come from ``emotion_matched_inputs`` (twice the
    features); its emotion model's alpha per fold is recorded as ``emotion_alpha_chosen``.
    The scores rows (``fusion.score_rows``) hold every fold's val and test scores.
    """
    x_raw, _ = feature_table.read_table(features_path, [r["clip_id"] for r in manifest])
    x = enrolment.normalise(x_raw, manifest, singer)
    y = corpus.targets_for_task(manifest, task)
    grid = name in PENALISED_MODELS and len(alpha_grid) > 0
    penalty = list(alpha_grid) if grid else alpha
    fold_inputs, emotion_alphas = None, []
    if singer.match_emotion:
        emotions, sets = check_match_emotion(task, singer, manifest), enrolment.enrolment_sets(manifest, singer)

        def fold_inputs(sides: np.ndarray) -> np.ndarray:
            inputs, emotion_alpha = emotion_matched_inputs(x_raw, x, sets, emotions, sides, name, penalty, keras_fit)
            emotion_alphas.append(emotion_alpha)
            return inputs

    outcome = run(name, task, x, y, folds, penalty, keras_fit, [r["emotion"] for r in manifest], fold_inputs)
    result = summary(task, y, outcome, folds, manifest,
                     {"model": name, "features": Path(features_path).parent.name,
                      "n_features": int(x.shape[1]) * (2 if singer.match_emotion else 1),
                      **({"enrolment": singer.describe()} if singer.mode != "none" else {}),
                      **({"alpha_grid": sorted(float(a) for a in alpha_grid), "alpha_chosen": outcome.alphas}
                         if grid else {}),
                      **({"emotion_alpha_chosen": emotion_alphas} if singer.match_emotion else {})})

    def shown(value: Any) -> Any:
        return EMOTIONS[int(value)] if task == "emotion" else round(float(value), 5)

    def fold_number(index: int) -> int | str:
        return "" if folds[index].fold is None else int(folds[index].fold)

    predictions = [{"clip_id": manifest[i]["clip_id"], "speaker": manifest[i]["speaker"], "group": manifest[i]["group"],
                    "fold": fold_number(int(f)), "actual": shown(y[i]), "predicted": shown(p)}
                   for i, f, p in zip(outcome.rows, outcome.folds, outcome.predictions)]
    floor = dict(zip(outcome.rows.tolist(), outcome.floor)) if outcome.floor is not None else None
    scores = []
    for number, (val_rows, val_scores, test_rows, test_scores) in enumerate(outcome.scores):
        for side, rows, values in (("val", val_rows, val_scores), ("test", test_rows, test_scores)):
            scores += fusion.score_rows(task, fold_number(number), side, [manifest[i] for i in rows],
                                        [shown(y[i]) for i in rows], values,
                                        None if floor is None or side == "val" else np.array([floor[i] for i in rows]))
    return result, predictions, scores


PREDICTION_COLUMNS = ("clip_id", "speaker", "group", "fold", "actual", "predicted")


def write_outputs(metrics_path: str | Path, predictions_path: str | Path, result: dict[str, Any],
                  predictions: list[dict[str, Any]], scores_path: str | Path | None = None,
                  scores: list[dict[str, Any]] | None = None) -> None:
    """The metrics JSON, the per-clip predictions CSV and, with ``scores_path``, the scores CSV:
    all written, or none (``atomic_outputs``)."""
    extra = [] if scores_path is None else [scores_path]
    with storage.atomic_outputs(metrics_path, predictions_path, *extra) as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
        corpus.write_manifest(tmp[1], predictions, columns=PREDICTION_COLUMNS)
        if extra:
            fusion.write_scores(tmp[2], result["task"], scores or [])
