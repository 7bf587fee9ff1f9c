"""Models on per-clip feature vectors, under the same split protocols as the CNN.

One feature vector per original recording (``functionals`` or ``handcrafted`` tables);
``splits.make_folds`` gives one split (group, speaker, statement, random) or one per
fold (actor_folds, leave_one_actor_out). For every fold the inputs are imputed (median)
and standardised with statistics of that fold's training clips only.

Models (``classic.model``):

* ``ridge``: sklearn ``Ridge`` (enthusiasm) or multinomial ``LogisticRegression`` with
  ``C = 1 / alpha`` (emotion), the cheap baseline. No early stopping, so it is fitted on
  train and val together: the same clips the Keras models learn and stop on.
* ``mlp``: seed 2's fully connected net: batch norm, 3 x Dense(256, relu), dropout 0.4.
* ``lstm`` / ``gru``: seed 2's recurrent nets, 3 x 256 units over the feature vector as a
  sequence of ONE step of 386 values (seed 2 reshapes to ``(1, 386)``), so they are gated
  dense nets rather than models of time; a 386-step sequence would cost ~100x more.
* ``conv1d``: seed 2's 1-D CNN over the 386 values as a sequence of 386 x 1, scaled down for
  CPUs: Conv1D(64 filters, kernel 32) instead of (256, 128), max-pool 2, dropout 0.4.

Keras models train with Adam, early stopping on the validation side (best weights
restored), seeded through ``training.seed_everything``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from singaffect import functionals, metrics, splits
from singaffect.corpus import EMOTIONS
from singaffect.errors import SingaffectError

MODELS = ("ridge", "mlp", "lstm", "gru", "conv1d")
KERAS_MODELS = MODELS[1:]


class ClassicError(SingaffectError, ValueError):
    """The model or task params do not fit the features; names the params key."""


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
        raise ClassicError(f"params key classic.model: {name!r} is not a Keras model (choose from {list(shapes)})")
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
    model = keras.Model(inputs, task_head(x, task, len(EMOTIONS)), name=f"classic_{name}")
    compile_for_task(model, task, learning_rate)
    return model


def _as_input(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[:, None, :] if name in ("lstm", "gru") else x[:, :, None] if name == "conv1d" else x


def fit_predict(name: str, task: str, x: np.ndarray, y: np.ndarray, sides: np.ndarray, cfg: dict) -> np.ndarray:
    """Fit ``name`` on the train (and, for Keras, val) rows of ``sides``; predictions for the test rows.

    Emotion predictions are class indices, enthusiasm predictions scores.
    """
    train, val, test = (np.flatnonzero(sides == side) for side in splits.SIDES)
    fit_rows = np.concatenate([train, val]) if name == "ridge" else train
    prep = preprocessor().fit(x[fit_rows])
    z = prep.transform(x)
    if name == "ridge":
        if task == "emotion":
            model = LogisticRegression(C=1.0 / cfg["alpha"], max_iter=5000)
        else:
            model = Ridge(alpha=cfg["alpha"])
        model.fit(z[fit_rows], y[fit_rows])
        return model.predict(z[test])
    import keras

    from singaffect.training import seed_everything

    seed_everything(cfg["seed"])
    model = keras_model(name, x.shape[1], task, cfg["learning_rate"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg["patience"], restore_best_weights=True)
    model.fit(_as_input(name, z[train]), y[train], validation_data=(_as_input(name, z[val]), y[val]),
              epochs=cfg["epochs"], batch_size=cfg["batch_size"], shuffle=True, callbacks=[stop], verbose=0)
    scores = np.asarray(model.predict(_as_input(name, z[test]), batch_size=256, verbose=0))
    return scores.argmax(axis=1) if task == "emotion" else scores.reshape(-1)


def task_metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    if task == "emotion":
        return metrics.classification_metrics(y_true, y_pred)
    return metrics.regression_metrics(y_true, y_pred)


def aggregate_folds(per_fold: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof=1) of every metric across folds."""
    names = list(per_fold[0])
    table = np.array([[fold[name] for name in names] for fold in per_fold], dtype=np.float64)
    std = table.std(axis=0, ddof=1) if len(per_fold) > 1 else np.full(len(names), np.nan)
    return {"mean": dict(zip(names, table.mean(axis=0).tolist())), "std": dict(zip(names, std.tolist()))}


@dataclass
class Outcome:
    """Out-of-fold predictions: ``rows`` (test rows of every fold, in fold order), their fold and prediction."""

    rows: np.ndarray
    folds: np.ndarray
    predictions: np.ndarray


def run(name: str, task: str, x: np.ndarray, y: np.ndarray, folds: Sequence[splits.Split], cfg: dict) -> Outcome:
    """Fit and predict once per split in ``folds``."""
    if name not in MODELS:
        raise ClassicError(f"params key classic.model: unknown model {name!r} (choose from {list(MODELS)})")
    rows, fold_of, predictions = [], [], []
    for number, split in enumerate(folds):
        rows.append(split.rows("test"))
        fold_of.append(np.full(len(rows[-1]), number))
        predictions.append(fit_predict(name, task, x, y, split.sides, cfg))
    return Outcome(np.concatenate(rows), np.concatenate(fold_of), np.concatenate(predictions))


def summary(task: str, y: np.ndarray, outcome: Outcome, folds: Sequence[splits.Split], speakers: Sequence[str],
            extra: dict[str, Any]) -> dict[str, Any]:
    """Metrics in ``metrics/eval.json``'s layout (headline with 95 % bootstrap CI over test clips).

    For cross-validation the headline pools every fold's test clips (each clip is tested
    once); ``folds`` lists each fold's metrics and ``fold_mean`` / ``fold_std`` summarise them.
    """
    y_true, y_pred = y[outcome.rows], outcome.predictions
    values = task_metrics(task, y_true, y_pred)
    headline, headline_fn = metrics.HEADLINE[task]
    low, high = metrics.bootstrap_ci(headline_fn, y_true, y_pred)
    first = folds[0]
    result: dict[str, Any] = {
        "task": task, **extra, "strategy": first.strategy, "leaky": first.leaky,
        "protocol": splits.PROTOCOLS[first.strategy] if first.fold is not None else first.protocol,
        "n_test": int(len(outcome.rows)),
        "headline": {"metric": headline, "value": values[headline], "ci95": [low, high]},
        **values,
    }
    if first.fold is not None:
        per_fold = []
        for number in range(len(folds)):
            picked = outcome.folds == number
            fold_rows = outcome.rows[picked]
            per_fold.append({"fold": number,
                             "test_speakers": sorted({speakers[i] for i in fold_rows}),
                             "n_test": int(picked.sum()),
                             **task_metrics(task, y[fold_rows], y_pred[picked])})
        stats = aggregate_folds([{k: v for k, v in f.items() if k not in ("fold", "test_speakers", "n_test")}
                                 for f in per_fold])
        result.update({"n_folds": len(folds), "fold_mean": stats["mean"], "fold_std": stats["std"],
                       "folds": per_fold})
    return result


def evaluate_table(features_path: str | Path, manifest: Sequence[dict[str, str]], task: str, split_params: dict,
                   name: str, cfg: dict) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Metrics summary and per-clip predictions of model ``name`` on a feature table under ``split_params``."""
    from singaffect.training import targets_for_task

    x, _ = functionals.read_table(features_path, [r["clip_id"] for r in manifest])
    y = targets_for_task(manifest, task)
    folds = splits.make_folds(splits.rows_from_manifest(manifest), split_params)
    outcome = run(name, task, x, y, folds, cfg)
    speakers = [r["speaker"] for r in manifest]
    result = summary(task, y, outcome, folds, speakers,
                     {"model": name, "features": Path(features_path).parent.name, "n_features": int(x.shape[1])})

    def shown(value: Any) -> Any:
        return EMOTIONS[int(value)] if task == "emotion" else round(float(value), 5)

    predictions = [{"clip_id": manifest[i]["clip_id"], "speaker": manifest[i]["speaker"],
                    "fold": int(f) if folds[0].fold is not None else "", "actual": shown(y[i]), "predicted": shown(p)}
                   for i, f, p in zip(outcome.rows, outcome.folds, outcome.predictions)]
    return result, predictions
